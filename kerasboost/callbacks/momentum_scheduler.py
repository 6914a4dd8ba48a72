"""Drive an optimizer's momentum (SGD's `momentum`, Adam's `beta_1`) by a schedule, inside the compiled step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops
from keras.optimizers.schedules import LearningRateSchedule

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks import _compiled_steps
from kerasboost.optimizers.wrapper import optimizer_chain
from kerasboost.utils.validation import fail

# the optimizers whose `beta_1` is read as a number in their step (a tensor in its place works)
_BETA_1_OPTIMIZERS = ("Adam", "AdamW", "Adamax", "Nadam", "Lion", "Lamb", "AdaBelief", "Prodigy", "DAdaptAdam")
_KEY = "_kerasboost_momentum_scheduler"


def _held_attribute(optimizer) -> str:
    """`"momentum"` for Keras's SGD, `"beta_1"` for the Adam family; a ValueError otherwise."""
    if type(optimizer) is keras.optimizers.SGD:
        if optimizer.momentum == 0:
            raise ValueError(
                "MomentumScheduler needs SGD built with momentum > 0 (its momentum buffers); "
                "received an SGD optimizer with momentum=0.0."
            )
        return "momentum"
    if type(optimizer).__name__ in _BETA_1_OPTIMIZERS and isinstance(getattr(optimizer, "beta_1", None), float):
        return "beta_1"
    raise ValueError(
        "MomentumScheduler drives the momentum of keras.optimizers.SGD (momentum > 0) and the beta_1 of "
        f"{', '.join(_BETA_1_OPTIMIZERS)}; received a model compiled with {type(optimizer).__name__}."
    )


class _Patch:
    """The step patches of one optimizer, made once, so that a compiled step traced with them
    stays valid for the next `fit` (`_compiled_steps`); `schedule` is read while tracing."""

    def __init__(self, optimizer) -> None:
        self.optimizer = optimizer
        self.attribute = _held_attribute(optimizer)
        self.schedule: Callable[[Any], Any] | None = None

    def value(self, dtype: Any) -> Any:
        return ops.cast(self.schedule(self.optimizer.iterations), dtype)  # type: ignore[misc]

    def sgd_update_step(self, gradient, variable, learning_rate):
        # Keras's SGD update (`m = momentum * m - lr * g`, then `w += m`, or the Nesterov form),
        # with the momentum of the current step in place of the constant
        optimizer = self.optimizer
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        momentum = self.value(variable.dtype)
        m = optimizer.momentums[_keras.variable_index(optimizer, variable)]
        optimizer.assign(m, m * momentum - gradient * learning_rate)
        if optimizer.nesterov:
            optimizer.assign_add(variable, m * momentum - gradient * learning_rate)
        else:
            optimizer.assign_add(variable, m)

    def beta_1_update(self, update, grads, variables, learning_rate):
        # the step reads `self.beta_1` as a number: a tensor of the current step's value in its place
        optimizer = self.optimizer
        held = optimizer.beta_1
        optimizer.beta_1 = self.value("float32")
        try:
            update(grads, variables, learning_rate)
        finally:
            optimizer.beta_1 = held

    def install(self) -> None:
        if self.attribute == "momentum":
            _keras.override(self.optimizer, "update_step", self.sgd_update_step)
        else:
            _keras.wrap_update_step(self.optimizer, self.beta_1_update)

    def remove(self) -> None:
        if self.attribute == "momentum":
            _keras.restore(self.optimizer, "update_step")
        else:
            _keras.unwrap_update_step(self.optimizer)


@kerasboost_export("kerasboost.callbacks.MomentumScheduler", register=False)
class MomentumScheduler(keras.callbacks.Callback):
    """Move the optimizer's momentum by a schedule of the step, inside the compiled step.

    Keras's optimizers hold their momentum (SGD's `momentum`, Adam's `beta_1`)
    as a constant of the compiled step, so no callback can change it between
    steps. This one makes the optimizer use `schedule(iterations)` at every step
    instead, traced into the step (XLA included; correct at every step with
    `steps_per_execution > 1`; no recompile from one step to the next). The
    constructor's value returns when `fit` ends, and it is what the saved
    optimizer holds: save the schedule's config with the run if you resume it.

    Driven: `keras.optimizers.SGD` built with `momentum > 0` (`m = mu_t * m - lr *
    g; w += m`, or the Nesterov form, as Keras computes them), and `beta_1` of
    `Adam`, `AdamW`, `Adamax`, `Nadam`, `Lion`, `Lamb` and kerasboost's
    `AdaBelief`, `Prodigy`, `DAdaptAdam` (their bias corrections use the current
    `beta_1`, as PyTorch's do under `OneCycleLR`), inside `LossScaleOptimizer`
    and kerasboost's wrappers. Other optimizers raise a `ValueError` when `fit`
    starts.

    The one-cycle policy's momentum is `kerasboost.schedules.OneCycleMomentum`
    (`OneCycle(...).momentum_schedule()`); with it, `OneCycle` and this callback
    reproduce PyTorch's `OneCycleLR` with `cycle_momentum=True`. The value
    for the next step is logged as `momentum` at the end of every epoch.

    Args:
        schedule: a `LearningRateSchedule` (kerasboost's, Keras's) giving the
            momentum at an optimizer step, each value in [0, 1).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> lr = kerasboost.schedules.OneCycle(0.1, total_steps=8)
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(lr, momentum=0.9), loss="mse")
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=2, epochs=2, verbose=0,
    ...                     callbacks=[kerasboost.callbacks.MomentumScheduler(lr.momentum_schedule())])
    >>> [round(v, 4) for v in history.history["momentum"]]   # for steps 4 and 8 (after the cycle)
    [0.8944, 0.95]

    ```

    References:
        - Smith, 2018, "A disciplined approach to neural network
          hyper-parameters: Part 1", https://arxiv.org/abs/1803.09820
    """

    def __init__(self, schedule: LearningRateSchedule) -> None:
        super().__init__()
        if not isinstance(schedule, LearningRateSchedule):
            raise fail("schedule", "a keras.optimizers.schedules.LearningRateSchedule of the step", schedule)
        self.schedule = schedule
        self._patch: _Patch | None = None

    def _key(self) -> Any:
        config: Any
        try:
            config = repr(keras.saving.serialize_keras_object(self.schedule))
        except Exception:  # a schedule without a config: this object
            config = id(self.schedule)
        return ("momentum_scheduler", config)

    def on_train_begin(self, logs=None):
        model = self.model
        if model.optimizer is None:
            raise ValueError("MomentumScheduler needs a compiled model (model.optimizer is None).")
        optimizer = optimizer_chain(model.optimizer)[-1]
        patch = optimizer.__dict__.get(_KEY)
        if patch is None:
            patch = optimizer.__dict__[_KEY] = _Patch(optimizer)
        patch.schedule = self.schedule
        patch.install()
        self._patch = patch
        _compiled_steps.enter(model, self._key())

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._patch is not None:
            logs["momentum"] = float(ops.convert_to_numpy(self._patch.value("float32")))

    def on_train_end(self, logs=None):
        if self._patch is not None:
            self._patch.remove()
            self._patch = None
            _compiled_steps.leave(self.model, self._key())
