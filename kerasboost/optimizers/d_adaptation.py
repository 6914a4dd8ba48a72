"""D-Adaptation (Defazio & Mishchenko 2023): Adam and SGD with a step size estimated as they train."""

from __future__ import annotations

import math
from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers._base import slots
from kerasboost.optimizers._step_size_free import StepSizeFreeOptimizer, check_growth_rate
from kerasboost.utils.validation import check_bool, check_number


@kerasboost_export("kerasboost.optimizers.DAdaptAdam")
class DAdaptAdam(StepSizeFreeOptimizer):
    """Adam whose step size `d` is estimated by D-Adaptation.

    D-Adaptation lower-bounds `D = ||x_0 - x_*||` from the gradients seen so far
    and steps with it: with `beta = sqrt(beta_2)`,
    `s_t = beta s_{t-1} + (1 - beta) d_t lr_t g_t` and
    `r_t = beta r_{t-1} + (1 - beta) d_t lr_t <g_t, s_{t-1} / (sqrt(v_{t-1}) + epsilon)>`,
    the estimate is `d_hat = r_t / ((1 - beta) ||s_t||_1)`, and
    `d = max(d, min(d_hat, d * growth_rate))` never decreases. The first moment
    holds the step (`m = beta_1 m + d lr (1 - beta_1) g`) and the update is
    `x -= m / (sqrt(v) + epsilon)`: Adam with the learning rate `d * lr`.
    Leave `learning_rate` at 1.0 (a multiplier of `d`; schedules and `Warmup`
    scale it, as the paper's runs do).

    The trajectory equals the reference implementation's (`dadaptation` 3.2's
    `DAdaptAdam`) to float32 rounding (tests/optimizers/test_step_size_free.py).
    `optimizer.d` holds the estimate and `optimizer.step_size` the Adam
    learning rate it amounts to (`d * lr`, logged by `LearningRateLogger`).
    Under a multi-replica `tf.distribute` strategy it raises.

    Args:
        learning_rate: float or schedule, a multiplier of the estimated step
            size. Defaults to 1.0.
        beta_1: float in [0, 1). Defaults to 0.9.
        beta_2: float in [0, 1). Defaults to 0.999.
        epsilon: float > 0. Defaults to 1e-8.
        weight_decay: float >= 0. Defaults to 0.
        decouple: bool, AdamW-style decay (`x -= weight_decay * d * lr * x`)
            rather than an L2 term added to the gradient. Defaults to False
            (the reference's default).
        use_bias_correction: bool, Adam's bias correction. Defaults to False.
        d0: float > 0, the initial estimate. Defaults to 1e-6.
        growth_rate: float >= 1 or None (or infinity): unbounded. Defaults to
            None.
        **kwargs: clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name: as for every Keras optimizer.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=kerasboost.optimizers.DAdaptAdam(), loss="mse")

    ```

    References:
        - Defazio & Mishchenko, 2023, "Learning-Rate-Free Learning by
          D-Adaptation", ICML, https://arxiv.org/abs/2301.07733
    """

    def __init__(
        self,
        learning_rate: Any = 1.0,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        decouple: bool = False,
        use_bias_correction: bool = False,
        d0: float = 1e-6,
        growth_rate: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_inclusive=False)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
        self.decouple = check_bool("decouple", decouple)
        self.use_bias_correction = check_bool("use_bias_correction", use_bias_correction)
        self.d0 = check_number("d0", d0, low=0.0, low_inclusive=False)
        self.growth_rate = check_growth_rate(growth_rate)

    def build_state(self, var_list):
        self.d = self.scalar("d", self.d0)
        self.numerator = self.scalar("numerator_weighted")
        self._s = slots(self, var_list, "s")
        self._m = slots(self, var_list, "momentum")
        self._v = slots(self, var_list, "velocity")

    @property
    def step_size(self):
        return self.d * ops.cast(self.learning_rate, self.d.dtype)

    def step(self, grads, variables, learning_rate):
        beta_1, beta_2 = self.beta_1, self.beta_2
        root = math.sqrt(beta_2)
        d, k = ops.convert_to_tensor(self.d), ops.convert_to_tensor(self.updates)
        if self.use_bias_correction:
            correction = ops.sqrt(1.0 - ops.power(beta_2, k + 1.0)) / (1.0 - ops.power(beta_1, k + 1.0))
        else:
            correction = 1.0
        dlr = d * learning_rate * correction
        active = learning_rate > 0.0

        numerator, s_sum, new = 0.0, 0.0, []
        for gradient, variable in zip(grads, variables):
            i = self.index(variable)
            dtype = variable.dtype
            x = ops.convert_to_tensor(variable)
            g = ops.cast(gradient, dtype)
            if self.decay and not self.decouple:
                g = g + self.decay * x
            s_old, v_old = ops.convert_to_tensor(self._s[i]), ops.convert_to_tensor(self._v[i])
            dot = self.total(g * s_old / (ops.sqrt(v_old) + self.epsilon))
            numerator = numerator + dot
            m = ops.convert_to_tensor(self._m[i]) * beta_1 + ops.cast(dlr * (1.0 - beta_1), dtype) * g
            v = v_old * beta_2 + (1.0 - beta_2) * ops.square(g)
            s = s_old * root + ops.cast(dlr * (1.0 - root), dtype) * g
            s_sum = s_sum + self.total(ops.abs(s))
            new.append((i, variable, x, m, v, s))

        numerator = root * ops.convert_to_tensor(self.numerator) + (1.0 - root) * dlr * numerator
        proceed = ops.logical_and(active, s_sum > 0.0)
        d_hat = numerator / ((1.0 - root) * ops.where(s_sum > 0.0, s_sum, 1.0))
        d_grown = d_hat if self.growth_rate is None else ops.minimum(d_hat, d * self.growth_rate)
        d_new = ops.maximum(d, d_grown)

        for i, variable, x, m, v, s in new:
            dtype = variable.dtype
            self.assign(self._m[i], ops.where(active, m, ops.convert_to_tensor(self._m[i])))
            self.assign(self._v[i], ops.where(active, v, ops.convert_to_tensor(self._v[i])))
            self.assign(self._s[i], ops.where(active, s, ops.convert_to_tensor(self._s[i])))
            stepped = x
            if self.decay and self.decouple:
                stepped = stepped - ops.cast(self.decay * dlr, dtype) * x
            stepped = stepped - m / (ops.sqrt(v) + self.epsilon)
            self.assign(variable, ops.where(proceed, stepped, x))

        self.assign(self.d, ops.where(proceed, d_new, d))
        self.assign(self.numerator, ops.where(proceed, numerator, ops.convert_to_tensor(self.numerator)))
        self.assign(self.updates, ops.where(proceed, k + 1.0, k))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "decouple": self.decouple,
                "use_bias_correction": self.use_bias_correction,
                "d0": self.d0,
                "growth_rate": self.growth_rate,
            }
        )
        return config


@kerasboost_export("kerasboost.optimizers.DAdaptSGD")
class DAdaptSGD(StepSizeFreeOptimizer):
    """SGD whose step size `d` is estimated by D-Adaptation (dual averaging form).

    With `g_0` the first gradient, the step `d lr / ||g_0||` accumulates
    `s_t = s_{t-1} + (d_t lr_t / ||g_0||) g_t` and
    `r_t = r_{t-1} + (d_t lr_t / ||g_0||) <g_t, s_{t-1}>`; the estimate is
    `d_hat = 2 r_t / ||s_t||_2` and `d = max(d, min(d_hat, d * growth_rate))`.
    The weights follow `z_t = x_0 - s_t` (dual averaging), with momentum as
    averaging: `x = momentum * x + (1 - momentum) * z`.

    The trajectory equals the reference implementation's (`dadaptation` 3.2's
    `DAdaptSGD`) to float32 rounding (tests/optimizers/test_step_size_free.py);
    as there, `||g_0||` is the norm of the first gradient without the weight
    decay term. `optimizer.step_size` is the SGD learning rate the estimate
    amounts to (`d * lr / ||g_0||`). Under a multi-replica `tf.distribute`
    strategy it raises.

    Args:
        learning_rate: float or schedule, a multiplier of the estimated step
            size. Defaults to 1.0.
        momentum: float in [0, 1). Defaults to 0.0.
        weight_decay: float >= 0, an L2 term added to the gradient. Defaults
            to 0.
        d0: float > 0, the initial estimate. Defaults to 1e-6.
        growth_rate: float >= 1 or None (or infinity): unbounded. Defaults to
            None.
        **kwargs: clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name: as for every Keras optimizer.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=kerasboost.optimizers.DAdaptSGD(momentum=0.9), loss="mse")

    ```

    References:
        - Defazio & Mishchenko, 2023, "Learning-Rate-Free Learning by
          D-Adaptation", ICML, https://arxiv.org/abs/2301.07733
    """

    def __init__(
        self,
        learning_rate: Any = 1.0,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        d0: float = 1e-6,
        growth_rate: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_inclusive=False)
        self.d0 = check_number("d0", d0, low=0.0, low_inclusive=False)
        self.growth_rate = check_growth_rate(growth_rate)

    def build_state(self, var_list):
        self.d = self.scalar("d", self.d0)
        self.numerator = self.scalar("numerator_weighted")
        self.g0_norm = self.scalar("g0_norm")
        self._initial = slots(self, var_list, "initial")
        self._s = slots(self, var_list, "s")

    @property
    def step_size(self):
        return self.d * ops.cast(self.learning_rate, self.d.dtype) / ops.convert_to_tensor(self.g0_norm)

    def step(self, grads, variables, learning_rate):
        d, k = ops.convert_to_tensor(self.d), ops.convert_to_tensor(self.updates)
        first = ops.equal(k, 0.0)
        squares = sum(self.total(ops.square(g)) for g in grads)
        g0_norm = ops.where(first, ops.sqrt(squares), ops.convert_to_tensor(self.g0_norm))
        dlr = d * learning_rate / g0_norm
        active = learning_rate > 0.0

        numerator, s_squares, new = 0.0, 0.0, []
        for gradient, variable in zip(grads, variables):
            i = self.index(variable)
            dtype = variable.dtype
            x = ops.convert_to_tensor(variable)
            g = ops.cast(gradient, dtype)
            if self.decay:
                g = g + self.decay * x
            initial = ops.where(first, x, ops.convert_to_tensor(self._initial[i]))
            numerator = numerator + self.total(g * ops.convert_to_tensor(self._s[i]))
            s = ops.convert_to_tensor(self._s[i]) + ops.cast(dlr, dtype) * g
            s_squares = s_squares + self.total(ops.square(s))
            new.append((i, variable, x, initial, s))

        numerator = ops.convert_to_tensor(self.numerator) + dlr * numerator
        proceed = ops.logical_and(active, s_squares > 0.0)
        d_hat = 2.0 * numerator / ops.sqrt(ops.where(s_squares > 0.0, s_squares, 1.0))
        d_grown = d_hat if self.growth_rate is None else ops.minimum(d_hat, d * self.growth_rate)
        d_new = ops.maximum(d, d_grown)

        average = 1.0 - self.momentum
        for i, variable, x, initial, s in new:
            self.assign(self._initial[i], initial)
            self.assign(self._s[i], ops.where(active, s, ops.convert_to_tensor(self._s[i])))
            stepped = x * self.momentum + (initial - s) * average if self.momentum else initial - s
            self.assign(variable, ops.where(proceed, stepped, x))

        self.assign(self.g0_norm, g0_norm)
        self.assign(self.d, ops.where(proceed, d_new, d))
        self.assign(self.numerator, ops.where(proceed, numerator, ops.convert_to_tensor(self.numerator)))
        self.assign(self.updates, ops.where(proceed, k + 1.0, k))

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "d0": self.d0, "growth_rate": self.growth_rate})
        return config
