"""In-graph statistics of the gradients each training step applies."""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any

import keras
import numpy as np
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks._optimizer_state import add_hidden_variables, remove_hidden_variables
from kerasboost.utils.distribute import cross_replica_sum
from kerasboost.utils.reductions import totals
from kerasboost.utils.validation import check_number, fail

# per variable, per recorded step
FIELDS = ("grad_norm", "grad_max", "zeros", "nonfinite", "update_norm", "weight_norm")
_G_NORM, _G_MAX, _ZEROS, _NONFINITE, _DW_NORM, _W_NORM = range(len(FIELDS))

REMEDIES = {
    "vanishing": (
        "initialize for the activation (kerasboost.initializers.VarianceFor / OrthogonalFor / lsuv), "
        "use a non-saturating activation, add residual connections or normalization"
    ),
    "exploding": (
        "lower the learning rate or add warmup (kerasboost.schedules.Warmup), clip the global norm "
        "(global_clipnorm=1.0 or kerasboost.optimizers.AdaptiveGradientClipping)"
    ),
    "nonfinite": (
        "check the inputs and the loss for NaN/Inf, lower the learning rate, skip bad steps with "
        "kerasboost.optimizers.SkipNonFinite, or use a LossScaleOptimizer under float16"
    ),
}


def _square(g, *_):
    return ops.square(g)


def _is_zero(g, *_):
    return ops.cast(ops.equal(g, 0), "float32")


def _abs(g, *_):
    return ops.abs(g)


def _float32(g, shape):
    return ops.zeros(shape, "float32") if g is None else ops.cast(g, "float32")


def _gradient_statistics(g, shape, guard: bool):
    """grad_norm, grad_max, zeros, nonfinite of one gradient (`None`: zeros of `shape`).

    `guard=False` assumes a finite gradient (nonfinite = 0); `True` masks and counts NaN/Inf.
    """
    g = _float32(g, shape)
    if not guard:
        norm2, zeros, top = ops.unstack(totals([g], sums=(_square, _is_zero), maxima=(_abs,)))
        return ops.stack([ops.sqrt(norm2), top, zeros, ops.zeros((), "float32")])
    finite = lambda x: ops.where(ops.isfinite(x), x, 0.0)  # noqa: E731
    norm2, zeros, nonfinite, top = ops.unstack(
        totals(
            [g],
            sums=(lambda x: ops.square(finite(x)), _is_zero, lambda x: ops.cast(ops.logical_not(ops.isfinite(x)), "float32")),
            maxima=(lambda x: ops.abs(finite(x)),),
        )
    )
    return ops.stack([ops.sqrt(norm2), top, zeros, nonfinite])


def _update_statistics(w_old, w_new):
    """update_norm ||w_new - w_old|| and weight_norm ||w_old|| of one variable."""
    w_old, w_new = ops.cast(w_old, "float32"), ops.cast(w_new, "float32")
    return ops.sqrt(totals([w_old, w_new], sums=(lambda a, b: ops.square(b - a), lambda a, b: ops.square(a))))


def _statistics(g, w_old, w_new):
    """All six statistics of one variable (the gradient assumed finite: nonfinite = 0), reading
    the gradient and both weights once."""
    g = _float32(g, ops.shape(w_old))
    w_old, w_new = ops.cast(w_old, "float32"), ops.cast(w_new, "float32")
    norm2, zeros, update2, weight2, top = ops.unstack(
        totals(
            [g, w_old, w_new],
            sums=(_square, _is_zero, lambda g, a, b: ops.square(b - a), lambda g, a, b: ops.square(a)),
            maxima=(_abs,),
        )
    )
    return ops.stack([ops.sqrt(norm2), top, zeros, ops.zeros((), "float32"), ops.sqrt(update2), ops.sqrt(weight2)])


def _layer_of(variable) -> str:
    """The layer a variable belongs to: its path without the last component."""
    path = getattr(variable, "path", variable.name)
    return path.rsplit("/", 1)[0] if "/" in path else path


@kerasboost_export("kerasboost.callbacks.GradientStatistics", register=False)
class GradientStatistics(keras.callbacks.Callback):
    """Record statistics of the gradients each training step applies, inside the compiled step.

    The callback instruments the model's optimizer for the duration of `fit`:
    its `apply` also computes, for every trainable variable, the gradient's L2
    norm (of its finite entries), max `|g|`, number of zeros and of non-finite
    entries, and the norms of the update `||w_new - w_old||` and of the
    weights. No extra forward or backward pass: these are the gradients the
    optimizer receives (unscaled, under a `LossScaleOptimizer`). The values are
    written into a device buffer every `every_n_steps` steps and read to the
    host every `read_every_n_steps` steps (and at each epoch end), so the
    compiled step never waits for the host. Works with `jit_compile=True` on
    TensorFlow and JAX and with `steps_per_execution > 1`; the buffer
    variables are removed from the optimizer after `fit` and never saved.

    Cost: recording every step reads each variable's gradient and its old and
    new weights once more (one pass per variable). That shows most where a
    step does little work per parameter: 1.02-1.08x step time for a
    216,586-parameter MLP trained with Adam on 2-core CPUs under XLA, no
    measurable cost for a small CNN (`benchmarks/overhead.py`,
    `benchmarks/ablations.py`). With `every_n_steps > 1` the
    gradient statistics run only on recorded steps.

    Per layer (variables grouped by their layer's path) it derives the
    gradient norm, max, zero fraction, non-finite count and update-to-weight
    ratio `||dw|| / ||w||`. At each epoch end these keys join `logs` (and so
    `History`), as means over the epoch's records:

    - `grad_norm`: the global gradient norm; `grad_norm/<layer>` per layer;
    - `update_ratio`: the global `||dw|| / ||w||`;
    - `grad_nonfinite`: non-finite gradient entries in the epoch;
    - `grad_alert`: 1.0 when an alert fired this epoch, else 0.0.

    Alerts (a `RuntimeWarning` naming the layers and the remedy, and
    `grad_alert`): **non-finite** gradients; **vanishing** gradients (the
    first layer's norm below `vanishing_ratio` times the last layer's, or a
    layer's norm below `vanishing_floor`); **exploding** gradients (global
    norm above `exploding_threshold`). Every record is kept in
    `records` (a list of dicts; `to_dataframe()`), written to `path` (`.csv`
    or `.jsonl`) if given, and drawn by `plot_gradient_flow()`.

    Args:
        every_n_steps: int >= 1, record every N-th step. Defaults to `1`.
        read_every_n_steps: int >= `every_n_steps`, read the device buffer
            every N steps. Defaults to `100`.
        path: optional `.csv` or `.jsonl` file for the per-layer records.
        log_dir: optional TensorBoard directory for per-layer scalars and
            histograms of the per-layer norms (needs TensorFlow).
        vanishing_ratio: float in (0, 1). Defaults to `1e-3`.
        vanishing_floor: float >= 0. Defaults to `1e-8`.
        exploding_threshold: float > 0. Defaults to `1e3`.
        layer_logs: bool, put `grad_norm/<layer>` keys in `logs`.
            Defaults to `True`.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    >>> stats = kerasboost.callbacks.GradientStatistics(read_every_n_steps=4)
    >>> history = model.fit(np.ones((32, 4)), np.ones((32, 1)), batch_size=8, epochs=2, callbacks=[stats], verbose=0)
    >>> len(history.history["grad_norm"]), len(stats.records)
    (2, 8)

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS (gradient flow across layers)
        - Pascanu, Mikolov & Bengio, 2013, "On the difficulty of training
          recurrent neural networks", https://arxiv.org/abs/1211.5063
    """

    def __init__(
        self,
        every_n_steps: int = 1,
        read_every_n_steps: int = 100,
        path: str | None = None,
        log_dir: str | None = None,
        vanishing_ratio: float = 1e-3,
        vanishing_floor: float = 1e-8,
        exploding_threshold: float = 1e3,
        layer_logs: bool = True,
    ):
        super().__init__()
        self.every_n_steps = check_number("every_n_steps", every_n_steps, low=1, integer=True)
        self.read_every_n_steps = check_number(
            "read_every_n_steps", read_every_n_steps, low=self.every_n_steps, integer=True
        )
        if path is not None and not (isinstance(path, (str, os.PathLike)) and str(path).endswith((".csv", ".jsonl"))):
            raise fail("path", "None or a file name ending in .csv or .jsonl", path)
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            raise fail("log_dir", "None or a directory name", log_dir)
        self.path = path
        self.log_dir = log_dir
        self.vanishing_ratio = check_number("vanishing_ratio", vanishing_ratio, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        self.vanishing_floor = check_number("vanishing_floor", vanishing_floor, low=0.0)
        self.exploding_threshold = check_number("exploding_threshold", exploding_threshold, low=0.0, low_inclusive=False)
        if not isinstance(layer_logs, bool):
            raise fail("layer_logs", "a bool", layer_logs)
        self.layer_logs = layer_logs
        self.records: list[dict] = []
        self._installed = None

    # ------------------------------------------------------------------ instrumenting the optimizer

    def _install(self):
        model = self.model
        optimizer = model.optimizer
        if optimizer is None:
            raise ValueError("GradientStatistics needs a compiled model (model.optimizer is None).")
        variables = list(model.trainable_variables)
        if not optimizer.built:
            optimizer.build(variables)
        self._variables = variables
        names = [_layer_of(v) for v in variables]
        self._layers = list(dict.fromkeys(names))  # first-appearance order: input side first
        layer_index = np.array([self._layers.index(n) for n in names])
        # variables grouped by layer (stable), and where each group starts: per-layer reductions
        self._order = np.argsort(layer_index, kind="stable")
        grouped = layer_index[self._order]
        self._starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        self._sizes = np.array([max(1, int(np.prod(v.shape))) for v in variables], "float64")
        slots = self.read_every_n_steps // self.every_n_steps + 1
        self._buffer, self._steps, self._count = added = add_hidden_variables(
            model,
            optimizer,
            [
                dict(shape=(slots, len(variables), len(FIELDS)), initializer="zeros", name="kb_grad_stats"),
                dict(shape=(slots,), initializer="zeros", name="kb_grad_stats_step"),
                dict(shape=(), initializer="zeros", name="kb_grad_stats_count", dtype="int32"),
            ],
        )
        callback = self
        if keras.backend.backend() == "jax":
            # JAX's trainer calls `stateless_apply` (LossScaleOptimizer overrides it without
            # going through `apply`): wrap it, reading and returning the buffers by position
            original = optimizer.stateless_apply

            def stateless_apply(optimizer_variables, grads, trainable_variables):
                refs = optimizer.variables
                value = {id(ref): val for ref, val in zip(refs, optimizer_variables)}
                new_trainable, new_optimizer = original(optimizer_variables, grads, trainable_variables)
                updated = callback._updated(
                    value[id(optimizer.iterations)],
                    callback._unscaled(grads, value.get(id(getattr(optimizer, "dynamic_scale", None)))),
                    trainable_variables,
                    new_trainable,
                    *(value[id(v)] for v in added),
                )
                new_optimizer = list(new_optimizer)
                for v, new in zip(added, updated):
                    new_optimizer[[i for i, ref in enumerate(refs) if ref is v][0]] = new
                return new_trainable, new_optimizer

            optimizer.stateless_apply = stateless_apply
            patched = ("stateless_apply",)
        else:
            original_apply = optimizer.apply

            def apply(grads, trainable_variables=None):
                tvs = trainable_variables if trainable_variables is not None else optimizer._trainable_variables
                # snapshots (a copy forces the read before `apply` writes)
                step = ops.copy(optimizer.iterations.value)
                before = [ops.copy(v.value) for v in tvs]
                scale = getattr(optimizer, "dynamic_scale", None)
                unscaled = callback._unscaled(grads, None if scale is None else ops.copy(scale.value))
                unscaled, _ = cross_replica_sum(unscaled)  # tf.distribute: the whole batch's gradient
                result = original_apply(grads, trainable_variables)
                after = [ops.convert_to_tensor(v) for v in tvs]
                current = [ops.convert_to_tensor(v) for v in added]
                for v, new in zip(added, callback._updated(step, unscaled, before, after, *current)):
                    v.assign(new)
                return result

            optimizer.apply = apply
            patched = ("apply",)

        self._installed = (optimizer, added, patched)
        model.make_train_function(force=True)

    @staticmethod
    def _unscaled(grads, scale):
        if scale is None:
            return list(grads)
        return [None if g is None else g / ops.cast(scale, g.dtype) for g in grads]

    def _rows(self, grads, before, after, record):
        """`(variables, 6)`: this step's statistics, `FIELDS` in order (zeros in the gradient
        columns on a step that is not recorded)."""
        if self.every_n_steps > 1:
            shapes = [ops.shape(w) for w in before]
            return ops.concatenate([self._gradient_rows(grads, shapes, record), self._update_rows(before, after)], axis=1)
        # one pass over each variable's gradient and weights; a non-finite gradient norm (NaN/Inf
        # in some gradient) recomputes the gradient columns with NaN/Inf masked and counted
        fast = ops.stack([_statistics(g, a, b) for g, a, b in zip(grads, before, after)])
        return ops.cond(
            ops.all(ops.isfinite(fast[:, _G_NORM])),
            lambda: fast,
            lambda: ops.concatenate([self._guarded_rows(grads, [ops.shape(w) for w in before]), fast[:, _DW_NORM:]], axis=1),
        )

    def _guarded_rows(self, grads, shapes):
        return ops.stack([_gradient_statistics(g, s, guard=True) for g, s in zip(grads, shapes)])

    def _gradient_rows(self, grads, shapes, record):
        """`(variables, 4)`: grad_norm, grad_max, zeros, nonfinite of each gradient (zeros on a
        step that is not recorded)."""

        def gradient_statistics():
            fast = ops.stack([_gradient_statistics(g, s, guard=False) for g, s in zip(grads, shapes)])
            return ops.cond(ops.all(ops.isfinite(fast[:, _G_NORM])), lambda: fast, lambda: self._guarded_rows(grads, shapes))

        if self.every_n_steps == 1:
            return gradient_statistics()
        # computed only on the recorded steps
        return ops.cond(record, gradient_statistics, lambda: ops.zeros((len(shapes), _DW_NORM), "float32"))

    def _update_rows(self, before, after):
        """`(variables, 2)`: update_norm, weight_norm of each variable.

        Never inside a `cond`: a branch that reads the pre-update weights makes XLA keep a full
        copy of them every step (measured on CPU with both under the `cond`: every_n_steps=10 cost
        1.14x step time, more than recording every step).
        """
        return ops.stack([_update_statistics(a, b) for a, b in zip(before, after)])

    def _updated(self, step, grads, before, after, buffer, steps, count):
        """The new (buffer, steps, count): this step's statistics written if it is recorded."""
        record = ops.equal(ops.mod(step, self.every_n_steps), 0)
        stats = self._rows(grads, before, after, record)
        slot = ops.cast(ops.mod(count, buffer.shape[0]), "int32")
        new_buffer = ops.slice_update(buffer, (slot, 0, 0), ops.expand_dims(ops.cast(stats, buffer.dtype), 0))
        new_steps = ops.slice_update(steps, (slot,), ops.reshape(ops.cast(step, steps.dtype), (1,)))
        return (
            ops.where(record, new_buffer, buffer),
            ops.where(record, new_steps, steps),
            count + ops.cast(record, count.dtype),
        )

    def _uninstall(self):
        if self._installed is None:
            return
        optimizer, added, patched = self._installed
        for name in patched:
            optimizer.__dict__.pop(name, None)
        remove_hidden_variables(self.model, optimizer, added)
        self._installed = None
        self.model.make_train_function(force=True)

    # ------------------------------------------------------------------ reading

    def _value(self, variable) -> np.ndarray:
        """A buffer's current value. The one backend branch: mid-epoch, JAX's `fit` carries the
        optimizer state outside the variables (`model._jax_state`); read it from there rather
        than forcing a sync of the whole model."""
        state = getattr(self.model, "_jax_state", None)
        if keras.backend.backend() == "jax" and state and not getattr(self.model, "_jax_state_synced", True):
            for ref, value in zip(self.model.optimizer.variables, state["optimizer_variables"]):
                if ref is variable:
                    return np.asarray(value)
        return keras.ops.convert_to_numpy(variable)

    def _read(self):
        """Move the records written since the last read from the device buffer to `records`."""
        count = int(self._value(self._count))
        new = count - self._read_count
        if new <= 0:
            return
        slots = self._buffer.shape[0]
        if new > slots:
            warnings.warn(
                f"GradientStatistics: {new - slots} records were overwritten before being read; "
                f"lower read_every_n_steps or raise every_n_steps.",
                RuntimeWarning,
                stacklevel=2,
            )
        buffer = self._value(self._buffer).astype("float64")
        steps = self._value(self._steps)
        for i in range(max(self._read_count, count - slots), count):
            self._add_record(int(steps[i % slots]), buffer[i % slots])
        self._read_count = count

    def _add_record(self, step: int, stats: np.ndarray):
        n_layers = len(self._layers)
        by_layer = lambda values, op=np.add: op.reduceat(values[self._order], self._starts)  # noqa: E731
        g2 = by_layer(stats[:, _G_NORM] ** 2)
        dw2 = by_layer(stats[:, _DW_NORM] ** 2)
        w2 = by_layer(stats[:, _W_NORM] ** 2)
        record = {"step": step, "epoch": self._epoch, "grad_norm": math.sqrt(stats[:, _G_NORM] @ stats[:, _G_NORM])}
        record["update_ratio"] = math.sqrt(dw2.sum()) / max(math.sqrt(w2.sum()), 1e-30)
        record["grad_nonfinite"] = float(stats[:, _NONFINITE].sum())
        zeros, maxima, nonfinite = by_layer(stats[:, _ZEROS]), by_layer(stats[:, _G_MAX], np.maximum), by_layer(stats[:, _NONFINITE])
        sizes = by_layer(self._sizes)
        for j in range(n_layers):
            name = self._layers[j]
            record[f"grad_norm/{name}"] = math.sqrt(g2[j])
            record[f"grad_max/{name}"] = maxima[j]
            record[f"zero_fraction/{name}"] = zeros[j] / sizes[j]
            record[f"nonfinite/{name}"] = nonfinite[j]
            record[f"update_ratio/{name}"] = math.sqrt(dw2[j]) / max(math.sqrt(w2[j]), 1e-30)
        self.records.append(record)
        self._epoch_records.append(record)
        self._write(record)

    def _write(self, record: dict):
        if self.path is not None:
            path = str(self.path)
            if path.endswith(".jsonl"):
                with open(path, "a") as f:
                    f.write(json.dumps(record) + "\n")
            else:
                import csv

                new = not os.path.exists(path) or os.path.getsize(path) == 0
                with open(path, "a", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=list(record))
                    if new:
                        writer.writeheader()
                    writer.writerow(record)
        if self._writer is not None:
            import tensorflow as tf

            with self._writer.as_default(step=record["step"]):
                for key, value in record.items():
                    if key not in ("step", "epoch"):
                        tf.summary.scalar(key, value)
                norms = [record[f"grad_norm/{n}"] for n in self._layers]
                tf.summary.histogram("grad_norm_per_layer", np.asarray(norms))

    # ------------------------------------------------------------------ callback hooks

    def on_train_begin(self, logs=None):
        self.records = []
        self._read_count = 0
        self._epoch = 0
        self._epoch_records: list[dict] = []
        self.alerts: list[dict] = []
        self._writer = None
        if self.log_dir is not None:
            try:
                import tensorflow as tf
            except ImportError as e:  # pragma: no cover - JAX-only installs
                raise ValueError(f"`log_dir` needs TensorFlow for TensorBoard summaries. Received: log_dir={self.log_dir!r}") from e
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        self._install()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_records = []
        self._read_at_batch = 0

    def on_train_batch_begin(self, batch, logs=None):
        # `batch` steps of this epoch are done (with steps_per_execution > 1, `batch` is the first
        # step of the next execution). Reading here, not in `on_train_batch_end`, leaves Keras free
        # to dispatch the batch-end callbacks asynchronously on JAX: a callback that overrides
        # `on_train_batch_end` makes every step wait for its loss on the host.
        if batch - self._read_at_batch >= self.read_every_n_steps:
            self._read()
            self._read_at_batch = batch

    def on_epoch_end(self, epoch, logs=None):
        self._read()
        if logs is None or not self._epoch_records:
            return
        mean = lambda key: float(np.mean([r[key] for r in self._epoch_records]))  # noqa: E731
        logs["grad_norm"] = mean("grad_norm")
        logs["update_ratio"] = mean("update_ratio")
        logs["grad_nonfinite"] = float(sum(r["grad_nonfinite"] for r in self._epoch_records))
        if self.layer_logs:
            for name in self._layers:
                logs[f"grad_norm/{name}"] = mean(f"grad_norm/{name}")
        alerts = self._check_alerts(epoch)
        logs["grad_alert"] = 1.0 if alerts else 0.0

    def _check_alerts(self, epoch) -> list[dict]:
        records = self._epoch_records
        found = []
        bad = [n for n in self._layers if any(r[f"nonfinite/{n}"] > 0 for r in records)]
        if bad:
            found.append({"kind": "nonfinite", "layers": bad, "steps": [r["step"] for r in records if r["grad_nonfinite"] > 0]})
        norms = {n: float(np.mean([r[f"grad_norm/{n}"] for r in records])) for n in self._layers}
        tiny = [n for n, v in norms.items() if v < self.vanishing_floor]
        first, last = norms[self._layers[0]], norms[self._layers[-1]]
        if len(self._layers) > 1 and last > 0 and first / last < self.vanishing_ratio:
            tiny = sorted(set(tiny) | {self._layers[0]}, key=self._layers.index)
        if tiny:
            found.append({"kind": "vanishing", "layers": tiny, "first_to_last": first / last if last > 0 else float("nan")})
        if max(r["grad_norm"] for r in records) > self.exploding_threshold:
            top = sorted(norms, key=norms.get, reverse=True)[:3]
            found.append({"kind": "exploding", "layers": top, "max_grad_norm": max(r["grad_norm"] for r in records)})
        for alert in found:
            alert["epoch"] = epoch
            alert["remedy"] = REMEDIES[alert["kind"]]
            self.alerts.append(alert)
            details = {k: v for k, v in alert.items() if k not in ("kind", "layers", "remedy", "epoch")}
            warnings.warn(
                f"GradientStatistics: {alert['kind']} gradients in epoch {epoch + 1} in layers "
                f"{', '.join(alert['layers'])} ({details}). Remedy: {alert['remedy']}.",
                RuntimeWarning,
                stacklevel=2,
            )
        return found

    def on_train_end(self, logs=None):
        try:
            self._read()
        finally:
            self._uninstall()
            if self._writer is not None:
                self._writer.flush()

    # ------------------------------------------------------------------ views

    @property
    def layers(self) -> list[str]:
        """The layer names (variable-path prefixes), input side first."""
        return list(getattr(self, "_layers", []))

    def to_dataframe(self):
        """`records` as a pandas DataFrame (one row per recorded step)."""
        import pandas as pd

        return pd.DataFrame(self.records)

    def plot_gradient_flow(self, path: str | None = None, ax=None):
        """Per-layer gradient norms over the recorded steps (log scale); saved to `path` if given."""
        from kerasboost.diagnostics.gradient_flow import plot_gradient_flow

        return plot_gradient_flow(self.records, self.layers, path=path, ax=ax)

