"""An in-graph multiplier on an optimizer's learning rate, shared by the callbacks that need one.

`LearningRateWarmup` and `ReduceLROnPlateau` change the learning rate of any
optimizer (a float rate, a schedule, a kerasboost wrapper, a
`LossScaleOptimizer`) without retracing every step (nor every `fit`: the step
compiled with the multiplier is kept, see `_compiled_steps`): the optimizer that holds
the learning rate gets an instance-level `_get_current_learning_rate` that
multiplies its own value by `scale * warmup(iterations)`. `scale` is an
optimizer variable hidden from saving (see `kerasboost.optimizers.hidden_variables`), so JAX's
trainer carries it and TensorFlow reads it live; `warmup` is traced.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from keras import ops

from kerasboost import _keras
from kerasboost.callbacks import _compiled_steps
from kerasboost.optimizers.hidden_variables import (
    add_hidden_variables,
    remove_hidden_variables,
    restore_hidden_variables,
)
from kerasboost.optimizers.wrapper import optimizer_chain

_KEY = "_kerasboost_learning_rate_control"


class LearningRateControl:
    """The multiplier of one optimizer; get it with `acquire`, give it back with `release`.

    One control exists per optimizer and is kept between `fit` calls (its `scale` variable
    and its patch are the same objects every time), so that the train function compiled with
    it is reused (`_compiled_steps`): the compiled step depends only on whether a warmup is
    set, and on the warmup's configuration (`warmup_key`).
    """

    def __init__(self, model) -> None:
        self.model = model
        self.optimizer = optimizer_chain(model.optimizer)[-1]
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        (self.scale,) = add_hidden_variables(
            model, self.optimizer, [dict(shape=(), initializer="ones", name="kb_learning_rate_scale")]
        )
        remove_hidden_variables(model, self.optimizer, [self.scale])
        self.warmup: Callable[[Any], Any] | None = None
        self.warmup_key: Hashable = None
        self.users: list = []
        self._entered: Hashable = None
        self._original = _keras.current_learning_rate(self.optimizer)

    def _current(self):
        base = ops.convert_to_tensor(self._original())
        factor = ops.cast(self.scale, base.dtype)
        if self.warmup is not None:
            factor = factor * ops.cast(self.warmup(self.optimizer.iterations), base.dtype)
        return base * factor

    def base_learning_rate(self) -> float:
        """The learning rate the optimizer itself holds at its current step (no multiplier)."""
        return float(ops.convert_to_numpy(self._original()))

    def _select(self) -> None:
        """Select the compiled step for what the multiplier computes now."""
        key = None if not self.users else ("learning_rate_control", id(self), self.warmup is not None, self.warmup_key)
        if key == self._entered:
            return
        if self._entered is not None:
            _compiled_steps.leave(self.model, self._entered)
        if key is not None:
            _compiled_steps.enter(self.model, key)
        self._entered = key

    @classmethod
    def acquire(
        cls, model, user, warmup: Callable[[Any], Any] | None = None, warmup_key: Hashable = None
    ) -> LearningRateControl:
        """The optimizer's control, installed, with `user` among its users (and `warmup`, a
        function of the step whose configuration `warmup_key` names, as its warmup)."""
        if model.optimizer is None:
            raise ValueError(f"{type(user).__name__} needs a compiled model (model.optimizer is None).")
        optimizer = optimizer_chain(model.optimizer)[-1]
        control = optimizer.__dict__.get(_KEY)
        if control is None or control.model is not model:
            control = optimizer.__dict__[_KEY] = cls(model)
        if warmup is not None and control.warmup is not None:
            raise ValueError(f"{type(user).__name__}: this optimizer already has a warmup callback attached; pass one.")
        if not control.users:
            restore_hidden_variables(model, optimizer, [control.scale])
            _keras.override_current_learning_rate(optimizer, control._current)
        control.users.append(user)
        if warmup is not None:
            control.warmup, control.warmup_key = warmup, warmup_key
        control._select()
        return control

    def release(self, user) -> None:
        if (
            any(u is user for u in self.users)
            and self.warmup is not None
            and getattr(user, "factor", None) == self.warmup
        ):
            self.warmup, self.warmup_key = None, None
        self.users = [u for u in self.users if u is not user]
        if not self.users:
            _keras.restore_current_learning_rate(self.optimizer)
            remove_hidden_variables(self.model, self.optimizer, [self.scale])
        self._select()


def is_float_rate(optimizer) -> bool:
    """Whether the optimizer holding the learning rate holds a plain (variable) float rate."""
    return _keras.holds_float_rate(optimizer_chain(optimizer)[-1])
