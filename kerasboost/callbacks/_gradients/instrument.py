"""GradientStatistics' optimizer instrumentation: the ring buffer and the patched `apply`.

One `Instrumentation` exists per optimizer, recording configuration and set of trainable
variables; it creates its buffer variables once and keeps them (and its patch) between `fit`
calls, so that the train function compiled with it in the first `fit` serves the next ones
(`kerasboost.callbacks._compiled_steps`). Between `fit` calls the buffers are not optimizer
variables: saved optimizer state never depends on the callback.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasboost import _keras
from kerasboost.callbacks import _compiled_steps
from kerasboost.callbacks._gradients.graph import (
    FIELDS,
    Layout,
    layer_owners,
    record_histograms,
    record_step,
    step_statistics,
)
from kerasboost.optimizers.hidden_variables import (
    add_hidden_variables,
    remove_hidden_variables,
    restore_hidden_variables,
)
from kerasboost.utils.distribute import cross_replica_sum

_KEY = "_kerasboost_gradient_statistics"


class Instrumentation:
    """Records `statistics` (`graph.step_statistics` or a function with its signature) of every
    `every_n_steps`-th step into a buffer of `slots` rows; with `histograms`
    (`(every_n_steps, bins, kinds, slots)`), per-layer histograms too, into buffers of their own."""

    def __init__(self, model, every_n_steps: int, slots: int, statistics=step_statistics, histograms=None) -> None:
        optimizer = model.optimizer
        variables = list(model.trainable_variables)
        if not optimizer.built:
            optimizer.build(variables)
        self.optimizer = optimizer
        self.every_n_steps = every_n_steps
        self.statistics = statistics
        self.layout = Layout(variables, layer_owners(model))
        self.buffer, self.steps, self.count = self.variables = add_hidden_variables(
            model,
            optimizer,
            [
                dict(shape=(slots, len(self.layout.layers), len(FIELDS)), initializer="zeros", name="kb_grad_stats"),
                dict(shape=(slots,), initializer="zeros", name="kb_grad_stats_step"),
                dict(shape=(), initializer="zeros", name="kb_grad_stats_count", dtype="int32"),
            ],
        )
        self.histograms = histograms
        self.histogram_variables: tuple = ()
        if histograms is not None:
            _, bins, kinds, hslots = histograms
            layers = len(self.layout.layers)
            self.histogram_variables = tuple(
                add_hidden_variables(
                    model,
                    optimizer,
                    [
                        dict(shape=(hslots, len(kinds), layers, bins), initializer="zeros", name="kb_grad_hist"),
                        dict(shape=(hslots, len(kinds), layers, 2), initializer="zeros", name="kb_grad_hist_edges"),
                        dict(shape=(hslots,), initializer="zeros", name="kb_grad_hist_step"),
                        dict(shape=(), initializer="zeros", name="kb_grad_hist_count", dtype="int32"),
                    ],
                )
            )
            self.variables = [*self.variables, *self.histogram_variables]
        self.patches = self._patches()
        self.installed = True

    @classmethod
    def install(
        cls, model, every_n_steps: int, slots: int, statistics=step_statistics, histograms=None
    ) -> Instrumentation:
        """The instrumentation of `model`'s optimizer for this configuration, installed, with
        its record count at zero and the model's train function selected to match."""
        optimizer = model.optimizer
        if optimizer is None:
            raise ValueError("GradientStatistics needs a compiled model (model.optimizer is None).")
        kept = optimizer.__dict__.setdefault(_KEY, {})
        key = (every_n_steps, slots, statistics, histograms, tuple(id(v) for v in model.trainable_variables))
        instrumentation = kept.get(key)
        if instrumentation is None:
            instrumentation = kept[key] = cls(model, every_n_steps, slots, statistics, histograms)
        else:
            restore_hidden_variables(model, optimizer, instrumentation.variables)
            instrumentation.installed = True
        instrumentation.count.assign(0)
        if instrumentation.histogram_variables:
            instrumentation.histogram_variables[-1].assign(0)
        for name, patch in instrumentation.patches.items():
            _keras.override(optimizer, name, patch)
        _compiled_steps.enter(model, instrumentation)
        return instrumentation

    def uninstall(self, model) -> None:
        if not self.installed:
            return
        for name in self.patches:
            _keras.restore(self.optimizer, name)
        remove_hidden_variables(model, self.optimizer, self.variables)
        self.installed = False
        _compiled_steps.leave(model, self)

    def _patches(self) -> dict:
        optimizer, layout, every, statistics = self.optimizer, self.layout, self.every_n_steps, self.statistics
        added = self.variables[:3]
        histogram_variables, histograms = self.histogram_variables, self.histograms

        def histogram_state(step, grads, before, after, current):
            if histograms is None:
                return ()
            hist_every, bins, kinds, _ = histograms
            return record_histograms(layout, hist_every, bins, kinds, step, grads, before, after, current)

        if keras.backend.backend() == "jax":
            # JAX's trainer calls `stateless_apply` (LossScaleOptimizer overrides it without
            # going through `apply`): wrap it, reading and returning the buffers by position
            original = optimizer.stateless_apply

            def stateless_apply(optimizer_variables, grads, trainable_variables):
                refs = optimizer.variables
                value = {id(ref): val for ref, val in zip(refs, optimizer_variables)}
                new_trainable, new_optimizer = original(optimizer_variables, grads, trainable_variables)
                scale = value.get(id(getattr(optimizer, "dynamic_scale", None)))
                step, unscaled = value[id(optimizer.iterations)], _unscaled(grads, scale)
                updated = record_step(
                    layout,
                    every,
                    step,
                    unscaled,
                    trainable_variables,
                    new_trainable,
                    *(value[id(v)] for v in added),
                    statistics=statistics,
                )
                updated = (
                    *updated,
                    *histogram_state(
                        step,
                        unscaled,
                        trainable_variables,
                        new_trainable,
                        tuple(value[id(v)] for v in histogram_variables),
                    ),
                )
                new_optimizer = list(new_optimizer)
                for v, new in zip((*added, *histogram_variables), updated):
                    new_optimizer[next(i for i, ref in enumerate(refs) if ref is v)] = new
                return new_trainable, new_optimizer

            return {"stateless_apply": stateless_apply}

        original_apply = optimizer.apply

        def apply(grads, trainable_variables=None):
            tvs = trainable_variables if trainable_variables is not None else _keras.built_for(optimizer)
            # snapshots (a copy forces the read before `apply` writes)
            step = ops.copy(optimizer.iterations.value)
            before = [ops.copy(v.value) for v in tvs]
            scale = getattr(optimizer, "dynamic_scale", None)
            unscaled = _unscaled(grads, None if scale is None else ops.copy(scale.value))
            unscaled, _ = cross_replica_sum(unscaled)  # tf.distribute: the whole batch's gradient
            result = original_apply(grads, trainable_variables)
            after = [ops.convert_to_tensor(v) for v in tvs]
            current = [ops.convert_to_tensor(v) for v in added]
            for v, new in zip(
                added, record_step(layout, every, step, unscaled, before, after, *current, statistics=statistics)
            ):
                v.assign(new)
            current_histograms = tuple(ops.convert_to_tensor(v) for v in histogram_variables)
            for v, new in zip(histogram_variables, histogram_state(step, unscaled, before, after, current_histograms)):
                v.assign(new)
            return result

        return {"apply": apply}


def _unscaled(grads, scale):
    if scale is None:
        return list(grads)
    return [None if g is None else g / ops.cast(scale, g.dtype) for g in grads]
