"""Every Keras private name, and every undocumented Keras behaviour, that kerasboost relies on.

Keras may change any of these in a release without notice. Nothing else in kerasboost touches a
Keras private name: it calls the functions below. `tests/test_keras_internals.py` checks each
reliance against the installed Keras (one test per reliance, named after it), and CI runs those
tests on the oldest Keras kerasboost supports (3.10.0) as well as on the newest.

Relied on (present in Keras 3.10.0 and 3.15.1; used by):

Optimizers (`keras.optimizers.Optimizer`):
- `_learning_rate`: what the optimizer holds as its rate (a float variable or a schedule), read
  and replaced (`learning_rate_value`, `set_learning_rate_value`: ReduceLROnPlateau,
  LearningRateFinder, SnapshotEnsemble, GradualUnfreezing, the learning-rate control).
- `_get_current_learning_rate()`: the rate of the current step; the update and the
  `learning_rate` property call it through the instance, so an instance attribute overrides it
  (`current_learning_rate`, `override_current_learning_rate`: the learning-rate control of
  LearningRateWarmup and ReduceLROnPlateau).
- `_variables`: the list behind `optimizer.variables`; Keras's tracker holds it, so it is edited
  in place (`variables_list`: hidden callback variables, GradualUnfreezing, OptimizerWrapper).
- `_trainable_variables`: the variables the optimizer was built for (`built_for`:
  OptimizerWrapper, GradientStatistics).
- `_get_variable_index(variable)` and the `_trainable_variables_indices` map it reads
  (`variable_index`, `unbuild`: optimizers with slots, GradualUnfreezing).
- `_track_variable(variable)`: make an existing variable one of the optimizer's
  (`track_variable`: GradientNoise's seed state).
- `_backend_update_step(grads, trainable_variables, learning_rate)`: called once per step with
  every gradient (after loss-scale, clipping and accumulation); the base class loops
  `update_step` over the variables (`WholeStepOptimizer`: Prodigy, D-Adaptation and DoG, whose
  step size is a sum over all the variables; `wrap_update_step`: MomentumScheduler).

Models and layers:
- `Layer._flatten_layers()`: every nested layer, depth first (`flatten_layers`:
  StochasticWeightAveraging's batch-norm update).
- `KerasTensor._keras_history`: `(operation, node index, tensor index)`, the layer that made a
  symbolic tensor (`output_layers`: the doctor's check of the output activation against the loss).
- The JAX trainer's `_jax_state` / `_jax_state_synced`: the state `fit` carries outside the
  variables between steps (`jax_optimizer_state`: GradientStatistics reads its buffer mid-epoch).
- The trainer's `_loss_tracker` and, on JAX, `_update_metrics_variables` (`track_loss`,
  `update_metrics_variables`: SAM's train steps).

Metrics:
- `Metric._direction` (`"up"` or `"down"`, set by Keras's own metrics: accuracies, AUC,
  precision/recall, R2 up; errors down), and the compiled metrics that `model.metrics` holds
  inside containers with a `metrics` list (`metric_direction`: EarlyStopping and
  ReduceLROnPlateau with `mode="auto"`, as Keras's own monitors decide).

Behaviour (public names, undocumented use):
- An instance attribute overrides an optimizer's `apply`, `stateless_apply`, `save_own_variables`,
  `load_own_variables`, `update_step` and `_backend_update_step`: the trainers, saving and the
  update loop call them through the instance
  (`override`, `restore`: GradientStatistics, hidden callback variables).
- `fit` builds a train function only when `model.train_function` is None; one that is set is
  reused (`_compiled_steps` keeps compiled steps between `fit` calls this way).
- `make_train_function(force=True)` compiles `model.train_step` as read through the instance.
  On JAX, `jax.jit` keeps one trace per function, and two bound `train_step` methods of one model
  are equal: a second train function of the same model replays the first one's trace, patches
  and all. `new_train_function` compiles a function of its own (`_compiled_steps`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

# ------------------------------------------------------------------ optimizers


def learning_rate_value(optimizer: keras.optimizers.Optimizer) -> Any:
    """What the optimizer holds as its learning rate: a float `keras.Variable` or a schedule."""
    return optimizer._learning_rate


def set_learning_rate_value(optimizer: keras.optimizers.Optimizer, value: Any) -> None:
    """Replace what the optimizer holds as its learning rate (e.g. by another schedule)."""
    optimizer._learning_rate = value


def holds_float_rate(optimizer: keras.optimizers.Optimizer) -> bool:
    """Whether the optimizer holds a plain (variable) learning rate, not a schedule."""
    return isinstance(optimizer._learning_rate, keras.Variable)


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> Callable[[], Any]:
    """The optimizer's own function giving the learning rate of the current step."""
    return optimizer._get_current_learning_rate


def override_current_learning_rate(optimizer: keras.optimizers.Optimizer, function: Callable[[], Any]) -> None:
    """Make `function` the learning rate of every step (until `restore_current_learning_rate`)."""
    override(optimizer, "_get_current_learning_rate", function)


def restore_current_learning_rate(optimizer: keras.optimizers.Optimizer) -> None:
    restore(optimizer, "_get_current_learning_rate")


def variables_list(optimizer: keras.optimizers.Optimizer) -> list:
    """The list behind `optimizer.variables`, to edit in place (Keras's tracker holds it)."""
    return optimizer._variables


def built_for(optimizer: keras.optimizers.Optimizer) -> list:
    """The trainable variables the optimizer was built for."""
    return optimizer._trainable_variables


def variable_index(optimizer: keras.optimizers.Optimizer, variable: Any) -> int:
    """The index of `variable` among those the optimizer was built for (its slots' index)."""
    return optimizer._get_variable_index(variable)


def track_variable(optimizer: keras.optimizers.Optimizer, variable: keras.Variable) -> None:
    """Make an existing variable one of the optimizer's variables (saved with its state)."""
    optimizer._track_variable(variable)


def unbuild(optimizer: keras.optimizers.Optimizer) -> None:
    """Forget which variables the optimizer was built for, so that `build` can run again (its
    variables, trimmed by the caller, stay)."""
    optimizer._trainable_variables_indices = {}
    optimizer.built = False


def new_train_function(model: keras.Model) -> Any:
    """Make `model.train_function` anew, traced afresh on every backend (on JAX a new function
    for `jax.jit`, which would otherwise replay the trace of the model's earlier train function)."""
    if keras.backend.backend() != "jax":
        model.make_train_function(force=True)
        return model.train_function
    step, own = model.train_step, model.__dict__.get("train_step")
    override(model, "train_step", lambda state, data: step(state, data))
    try:
        model.make_train_function(force=True)
    finally:
        restore(model, "train_step")
        if own is not None:  # the model's own instance-level step (a test's counter, a wrapper)
            override(model, "train_step", own)
    return model.train_function


def wrap_update_step(optimizer: keras.optimizers.Optimizer, wrapper: Callable[..., None]) -> None:
    """Run `wrapper(update, grads, variables, learning_rate)` for the optimizer's step over all its
    variables, `update` being the step it replaces (until `unwrap_update_step`)."""
    update = optimizer._backend_update_step
    override(optimizer, "_backend_update_step", lambda grads, variables, rate: wrapper(update, grads, variables, rate))


def unwrap_update_step(optimizer: keras.optimizers.Optimizer) -> None:
    restore(optimizer, "_backend_update_step")


class WholeStepOptimizer(keras.optimizers.Optimizer):
    """An optimizer whose step needs every gradient at once: Keras calls
    `update_all(grads, variables, learning_rate)` once per step, with the gradients Keras has
    clipped, unscaled and accumulated, instead of `update_step` once per variable."""

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        self.update_all(list(grads), list(trainable_variables), learning_rate)

    def update_all(self, grads: list, variables: list, learning_rate: Any) -> None:
        raise NotImplementedError

    def update_step(self, gradient, variable, learning_rate):
        self.update_all([gradient], [variable], learning_rate)


# ------------------------------------------------------------------ models and layers


def flatten_layers(layer: keras.layers.Layer) -> list:
    """`layer` and every layer nested in it, depth first."""
    return list(layer._flatten_layers())


def output_layers(model: keras.Model) -> list | None:
    """The layers that produce a functional or Sequential model's outputs, in order; None for a
    model without symbolic outputs (a subclassed model)."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    if not outputs:
        return None
    histories = [getattr(tensor, "_keras_history", None) for tensor in outputs]
    layers = [h[0] for h in histories if h is not None]
    return layers if len(layers) == len(histories) else None


def jax_optimizer_state(model: keras.Model) -> list | None:
    """On JAX, while `fit` runs and before the trainer syncs the variables: the optimizer
    variables' current values (in the order of `model.optimizer.variables`); else None."""
    state = getattr(model, "_jax_state", None)
    if keras.backend.backend() != "jax" or not state or getattr(model, "_jax_state_synced", True):
        return None
    return state["optimizer_variables"]


def track_loss(model: keras.Model, loss: Any, batch_size: Any) -> None:
    """Add a step's loss to the mean loss `fit` reports (what Keras's `train_step` does)."""
    model._loss_tracker.update_state(loss, sample_weight=batch_size)


def update_metrics_variables(model: keras.Model, metrics_variables, loss, x, y, y_pred, sample_weight):
    """JAX: the logs and new metric variables of a stateless train step, as Keras's own step."""
    return model._update_metrics_variables(metrics_variables, loss, x, y, y_pred, sample_weight)


# ------------------------------------------------------------------ metrics


def metric_direction(model: keras.Model | None, name: str) -> str | None:
    """`"up"` or `"down"`: the direction that `model`'s metric called `name` declares; None when
    the model has no metric of that name, or it declares none (a custom metric, a function).

    Compiled metrics sit in containers (`model.metrics` holds one for `compile(metrics=...)`) whose
    `metrics` list is filled once the model has run a step; they are looked through.
    """
    pending = list(getattr(model, "metrics", None) or [])
    while pending:
        metric = pending.pop(0)
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            pending[:0] = list(inner)
            continue
        if getattr(metric, "name", None) == name:
            direction = getattr(metric, "_direction", None)
            if direction in ("up", "down"):
                return direction
    return None


# ------------------------------------------------------------------ instance overrides


def override(obj: Any, name: str, function: Callable) -> None:
    """Give `obj` its own `name` (a method Keras calls through the instance)."""
    obj.__dict__[name] = function


def restore(obj: Any, name: str) -> None:
    """Undo `override`: `obj`'s class method serves again."""
    obj.__dict__.pop(name, None)


def overridden(obj: Any, name: str) -> bool:
    return name in obj.__dict__
