"""Layer-wise adaptive rate scaling (You et al. 2017)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers._base import check_learning_rate, slots
from kerasboost.utils.validation import check_bool, check_number


@kerasboost_export("kerasboost.optimizers.LARS")
class LARS(keras.optimizers.Optimizer):
    """SGD with momentum whose step is scaled per layer by a trust ratio.

    For each weight tensor `w` with gradient `g`:

        trust = trust_coefficient * ||w|| / (||g|| + weight_decay_rate * ||w|| + epsilon)
        v = momentum * v + learning_rate * trust * (g + weight_decay_rate * w)
        w = w - v            (Nesterov: w - momentum * v - learning_rate * trust * (g + wd * w))

    (`trust` is 1 where `||w||` or `||g||` is 0.) Every layer then moves by
    about the same fraction of its norm, whatever the scale of its gradient:
    what lets ResNets train with batches of 8k-32k (You et al.). With
    `exclude_vectors=True` (default), variables of rank <= 1 - biases and
    normalization scales/offsets - get neither the trust ratio nor the weight
    decay, as in the paper's large-batch recipes.

    Args:
        learning_rate: float or schedule (the global rate). Defaults to 1.0.
        momentum: float in [0, 1). Defaults to 0.9.
        weight_decay_rate: float >= 0, the L2 coefficient inside the trust
            ratio (distinct from Keras's decoupled `weight_decay`). Defaults to 0.
        trust_coefficient: float > 0 (eta in the paper). Defaults to 0.001.
        epsilon: float >= 0, in the trust ratio's denominator. Defaults to 0.
        nesterov: bool. Defaults to False.
        exclude_vectors: bool, exempt rank <= 1 variables. Defaults to True.
        **kwargs: clipnorm, clipvalue, global_clipnorm, use_ema, ... as for
            every Keras optimizer.

    Example:

    ```python
    >>> import kerasboost
    >>> optimizer = kerasboost.optimizers.LARS(learning_rate=2.0, weight_decay_rate=1e-4)

    ```

    References:
        - You, Gitman & Ginsburg, 2017, "Large Batch Training of Convolutional
          Networks", https://arxiv.org/abs/1708.03888
    """

    def __init__(
        self,
        learning_rate: Any = 1.0,
        momentum: float = 0.9,
        weight_decay_rate: float = 0.0,
        trust_coefficient: float = 0.001,
        epsilon: float = 0.0,
        nesterov: bool = False,
        exclude_vectors: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=check_learning_rate(learning_rate), **kwargs)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_inclusive=False)
        self.weight_decay_rate = check_number("weight_decay_rate", weight_decay_rate, low=0.0)
        self.trust_coefficient = check_number("trust_coefficient", trust_coefficient, low=0.0, low_inclusive=False)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.nesterov = check_bool("nesterov", nesterov)
        self.exclude_vectors = check_bool("exclude_vectors", exclude_vectors)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = slots(self, var_list, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        velocity = self._velocities[_keras.variable_index(self, variable)]
        if self.exclude_vectors and len(variable.shape) <= 1:
            update = gradient
            scaled_lr = lr
        else:
            w_norm = _norm(variable)
            g_norm = _norm(gradient)
            denominator = g_norm + self.weight_decay_rate * w_norm + self.epsilon
            trust = ops.where(
                (w_norm > 0.0) & (g_norm > 0.0),
                self.trust_coefficient * w_norm / ops.where(denominator > 0.0, denominator, 1.0),
                1.0,
            )
            update = gradient + self.weight_decay_rate * variable
            scaled_lr = lr * trust
        self.assign(velocity, self.momentum * velocity + scaled_lr * update)
        if self.nesterov:
            self.assign_sub(variable, self.momentum * velocity + scaled_lr * update)
        else:
            self.assign_sub(variable, velocity)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "weight_decay_rate": self.weight_decay_rate,
                "trust_coefficient": self.trust_coefficient,
                "epsilon": self.epsilon,
                "nesterov": self.nesterov,
                "exclude_vectors": self.exclude_vectors,
            }
        )
        return config


def _norm(x):
    """The L2 norm of `x` as one reduction (a few ops per variable keep the compile time low)."""
    return ops.sqrt(ops.sum(ops.square(x)))
