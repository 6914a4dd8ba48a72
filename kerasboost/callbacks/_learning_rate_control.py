"""An in-graph multiplier on an optimizer's learning rate, shared by the callbacks that need one.

`LearningRateWarmup` and `ReduceLROnPlateau` change the learning rate of any
optimizer (a float rate, a schedule, a kerasboost wrapper, a
`LossScaleOptimizer`) without retracing every step: the optimizer that holds
the learning rate gets an instance-level `_get_current_learning_rate` that
multiplies its own value by `scale * warmup(iterations)`. `scale` is an
optimizer variable hidden from saving (see `_optimizer_state`), so JAX's
trainer carries it and TensorFlow reads it live; `warmup` is traced.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import ops

from kerasboost.callbacks._optimizer_state import add_hidden_variables, remove_hidden_variables
from kerasboost.optimizers.wrapper import optimizer_chain

_KEY = "_kerasboost_learning_rate_control"


class LearningRateControl:
    """The multiplier of one optimizer; get it with `acquire`, give it back with `release`."""

    def __init__(self, model):
        self.model = model
        self.optimizer = optimizer_chain(model.optimizer)[-1]
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        (self.scale,) = add_hidden_variables(
            model, self.optimizer, [dict(shape=(), initializer="ones", name="kb_learning_rate_scale")]
        )
        self.warmup: Callable[[Any], Any] | None = None
        self.users: list = []
        self._original = self.optimizer._get_current_learning_rate
        self.optimizer._get_current_learning_rate = self._current

    def _current(self):
        base = ops.convert_to_tensor(self._original())
        factor = ops.cast(self.scale, base.dtype)
        if self.warmup is not None:
            factor = factor * ops.cast(self.warmup(self.optimizer.iterations), base.dtype)
        return base * factor

    def base_learning_rate(self) -> float:
        """The learning rate the optimizer itself holds at its current step (no multiplier)."""
        return float(ops.convert_to_numpy(self._original()))

    @classmethod
    def acquire(cls, model, user) -> "LearningRateControl":
        if model.optimizer is None:
            raise ValueError(f"{type(user).__name__} needs a compiled model (model.optimizer is None).")
        optimizer = optimizer_chain(model.optimizer)[-1]
        control = optimizer.__dict__.get(_KEY)
        if control is None:
            control = optimizer.__dict__[_KEY] = cls(model)
        control.users.append(user)
        model.make_train_function(force=True)  # trace the step with the multiplier in it
        return control

    def release(self, user) -> None:
        self.users = [u for u in self.users if u is not user]
        if not self.users:
            self.optimizer.__dict__.pop("_get_current_learning_rate", None)
            self.optimizer.__dict__.pop(_KEY, None)
            remove_hidden_variables(self.model, self.optimizer, [self.scale])
        # the compiled step holds the multiplier: trace again with what is left
        self.model.make_train_function(force=True)


def is_float_rate(optimizer) -> bool:
    """Whether the optimizer holding the learning rate holds a plain (variable) float rate."""
    return isinstance(optimizer_chain(optimizer)[-1]._learning_rate, keras.Variable)
