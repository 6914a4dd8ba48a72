"""Rectified Adam (Liu et al. 2020)."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers._base import check_learning_rate, slots
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.optimizers.RectifiedAdam")
class RectifiedAdam(keras.optimizers.Optimizer):
    """Adam with the variance of its adaptive learning rate rectified (RAdam).

    Early in training Adam's second-moment estimate rests on few samples and
    its adaptive step has a large variance - the reason Adam needs a warmup.
    RAdam measures that variance through the length of the approximated simple
    moving average, `rho_t = rho_inf - 2 t beta_2^t / (1 - beta_2^t)` with
    `rho_inf = 2 / (1 - beta_2) - 1`. While `rho_t <= sma_threshold` (5, the
    first few steps) it takes plain momentum steps `lr * m_hat`; afterwards
    Adam steps multiplied by the rectification term

        r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))

    i.e. `lr * m_hat * r_t * sqrt(1 - beta_2^t) / (sqrt(v_t) + epsilon)`. These
    are the update rules of PyTorch's `torch.optim.RAdam` (with
    `decoupled_weight_decay` for `weight_decay`); the trajectories agree.

    Args:
        learning_rate: float or schedule. Defaults to 0.001.
        beta_1: float in [0, 1), first-moment decay. Defaults to 0.9.
        beta_2: float in (0, 1), second-moment decay. Defaults to 0.999.
        epsilon: float >= 0, added to `sqrt(v_t)`. Defaults to 1e-7 (Keras's
            Adam; PyTorch uses 1e-8).
        sma_threshold: float >= 4, the `rho_t` above which the adaptive step is
            used. Defaults to 5.0.
        **kwargs: weight_decay (decoupled), clipnorm, clipvalue,
            global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name: as for every
            Keras optimizer.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=kerasboost.optimizers.RectifiedAdam(1e-3), loss="mse")
    >>> model.compile(optimizer="kerasboost>RectifiedAdam", loss="mse")  # by name

    ```

    References:
        - Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and
          Beyond", https://arxiv.org/abs/1908.03265
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        sma_threshold: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=check_learning_rate(learning_rate), **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.sma_threshold = check_number("sma_threshold", sma_threshold, low=4.0)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = slots(self, var_list, "momentum")
        self._velocities = slots(self, var_list, "velocity")

    def _rho(self, t):
        """`rho_t`, computed without the float32 cancellation of the textbook form.

        With `l = -log(beta_2)` and `x = t * l`:
        `rho_t = 2 / (1 - beta_2) - 1 - 2 t / expm1(x) = K + (2 / l) * h(x)`, where
        `K = 2 / (1 - beta_2) - 1 - 2 / l` is a float64 constant and
        `h(x) = 1 - x / expm1(x)`, by its Bernoulli series for small `x`.
        """
        ell = -math.log(self.beta_2)
        constant = 2.0 / (1.0 - self.beta_2) - 1.0 - 2.0 / ell
        x = t * ell
        x2 = x * x
        series = x / 2.0 - x2 / 12.0 + x2 * x2 / 720.0 - x2 * x2 * x2 / 30240.0 + x2 * x2 * x2 * x2 / 1209600.0
        direct = 1.0 - x / ops.expm1(ops.maximum(x, 1e-3))
        h = ops.where(x < 0.5, series, direct)
        return constant + (2.0 / ell) * h

    def _step_scalars(self):
        """`(1 / (1 - beta_1^t), the rectified factor or 0)`, float32 scalars of step
        `t = iterations + 1`: `m_hat * (rect * sqrt(1 - beta_2^t))` is the rectified step, used
        where `rho_t > sma_threshold` (the factor is 0 elsewhere: plain momentum `m_hat`)."""
        t = ops.cast(self.iterations + 1, "float32")
        # 1 - beta^t as -expm1(t log beta): accurate for beta near 1
        bias_1 = -ops.expm1(t * math.log(self.beta_1)) if self.beta_1 > 0 else ops.ones((), "float32")
        bias_2 = -ops.expm1(t * math.log(self.beta_2))
        rho_inf = 2.0 / (1.0 - self.beta_2) - 1.0
        rho_t = self._rho(t)
        # Clamp inside the square root: the branch not taken must stay finite.
        rect = ops.sqrt(
            ops.maximum((rho_t - 4.0) * (rho_t - 2.0), 0.0)
            * rho_inf
            / ((rho_inf - 4.0) * (rho_inf - 2.0) * ops.maximum(rho_t, 1e-6))
        )
        factor = ops.where(rho_t > self.sma_threshold, rect * ops.sqrt(bias_2), 0.0)
        return 1.0 / bias_1, factor

    def apply(self, grads, trainable_variables=None):
        # the bias corrections and the rectification depend on the step only: computed once per
        # step here, not once per variable in `update_step` (which made the compile time grow
        # with every variable)
        self._scalars = self._step_scalars()
        try:
            return super().apply(grads, trainable_variables)
        finally:
            self._scalars = None

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        index = _keras.variable_index(self, variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, (gradient - m) * (1.0 - self.beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1.0 - self.beta_2))
        scalars = getattr(self, "_scalars", None)
        inverse_bias_1, factor = scalars if scalars is not None else self._step_scalars()
        m_hat = m * ops.cast(inverse_bias_1, dtype)
        factor = ops.cast(factor, dtype)
        step = ops.where(factor > 0.0, m_hat * factor / (ops.sqrt(v) + self.epsilon), m_hat)
        self.assign_sub(variable, lr * step)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "sma_threshold": self.sma_threshold,
            }
        )
        return config
