"""AdaBelief (Zhuang et al. 2020)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers._base import check_learning_rate, slots
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.optimizers.AdaBelief")
class AdaBelief(keras.optimizers.Optimizer):
    """Adam whose step size adapts to the "belief" in the gradient.

    Instead of the second moment of the gradient, AdaBelief tracks the
    variance of the gradient around its running mean:

        m_t = beta_1 m_{t-1} + (1 - beta_1) g_t
        s_t = beta_2 s_{t-1} + (1 - beta_2) (g_t - m_t)^2 + epsilon
        theta_t = theta_{t-1} - lr * m_hat_t / (sqrt(s_hat_t) + epsilon)

    with the bias corrections `m_hat_t = m_t / (1 - beta_1^t)` and
    `s_hat_t = s_t / (1 - beta_2^t)` (Algorithm 2 of the paper). When the
    gradient agrees with its prediction the step is large, when it deviates it
    is small: SGD-like generalization with Adam-like speed, in the paper's
    experiments.

    Args:
        learning_rate: float or schedule. Defaults to 0.001.
        beta_1: float in [0, 1). Defaults to 0.9.
        beta_2: float in [0, 1). Defaults to 0.999.
        epsilon: float >= 0. Defaults to 1e-16 (the paper's PyTorch default).
        **kwargs: weight_decay (decoupled), clipnorm, clipvalue,
            global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name: as for every
            Keras optimizer.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> optimizer = kerasboost.optimizers.AdaBelief(1e-3, weight_decay=1e-4)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=optimizer, loss="mse")

    ```

    References:
        - Zhuang et al., 2020, "AdaBelief Optimizer: Adapting Stepsizes by the
          Belief in Observed Gradients", https://arxiv.org/abs/2010.07468
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-16,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=check_learning_rate(learning_rate), **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = slots(self, var_list, "momentum")
        self._beliefs = slots(self, var_list, "belief")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = _keras.variable_index(self, variable)
        m, s = self._momentums[index], self._beliefs[index]
        self.assign_add(m, (gradient - m) * (1.0 - beta_1))
        self.assign(s, beta_2 * s + (1.0 - beta_2) * ops.square(gradient - m) + self.epsilon)
        m_hat = m / (1.0 - ops.power(beta_1, t))
        s_hat = s / (1.0 - ops.power(beta_2, t))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(s_hat) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
