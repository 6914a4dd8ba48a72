"""What the learning-rate-free optimizers (Prodigy, D-Adaptation, DoG) share: a step computed
from every gradient at once, scalar state kept in variables, their own weight decay."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from kerasboost import _keras
from kerasboost.optimizers._base import check_learning_rate
from kerasboost.utils.distribute import replica_count
from kerasboost.utils.validation import check_number


class StepSizeFreeOptimizer(_keras.WholeStepOptimizer):
    """Base class: `step` sees every gradient of a step; `scalar(name, value)` adds a
    state variable (float32, float64 for float64 variables); `weight_decay` is the method's own (not Keras's decoupled
    `lr * weight_decay`, which is switched off here)."""

    def __init__(self, learning_rate: Any, weight_decay: float, **kwargs: Any) -> None:
        super().__init__(learning_rate=check_learning_rate(learning_rate), weight_decay=None, **kwargs)
        self.decay = check_number("weight_decay", weight_decay, low=0.0)

    def scalar(self, name: str, value: float = 0.0, shape: tuple = ()) -> keras.Variable:
        # not a Constant initializer: that one rounds through float32
        return self.add_variable(
            shape=shape,
            initializer=lambda shape, dtype: np.full(shape, value, dtype),
            dtype=self.state_dtype,
            name=name,
        )

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # the scalar state in the variables' precision (float64 variables: float64 sums)
        self.state_dtype = "float64" if any(v.dtype == "float64" for v in var_list) else "float32"
        # updates made: the step counter of the references (Keras's `iterations` also counts
        # steps that a zero learning rate or a zero gradient left without an update)
        self.updates = self.scalar("updates")
        self.build_state(var_list)

    def build_state(self, var_list) -> None:
        raise NotImplementedError

    def total(self, values) -> Any:
        """The sum of `values` in the state's precision."""
        return ops.sum(ops.cast(values, self.state_dtype))

    def index(self, variable) -> int:
        return _keras.variable_index(self, variable)

    def update_all(self, grads, variables, learning_rate):
        if replica_count() > 1:
            raise NotImplementedError(
                f"{type(self).__name__} computes its step size from every gradient at once and does not run "
                "under a multi-replica tf.distribute strategy; use one device, or the JAX backend's data "
                "parallelism (keras.distribution.DataParallel)."
            )
        self.step(grads, variables, ops.cast(learning_rate, self.state_dtype))

    def step(self, grads: list, variables: list, learning_rate: Any) -> None:
        """One update of `variables` (`learning_rate`: this step's rate, in the state's precision)."""
        raise NotImplementedError

    @property
    def step_size(self) -> Any:
        """The learning rate this step size amounts to for the method it adapts (a scalar)."""
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config["weight_decay"] = self.decay
        return config


def check_growth_rate(value: Any) -> float | None:
    """None (or infinity: PyTorch's spelling) for an unbounded growth, else a finite number >= 1."""
    if value is None or (isinstance(value, float) and value == float("inf")):
        return None
    return check_number("growth_rate", value, low=1.0, allow_none=True)
