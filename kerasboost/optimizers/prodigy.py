"""Prodigy (Mishchenko & Defazio 2023): Adam with a step size estimated as it trains."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers._base import slots
from kerasboost.optimizers._step_size_free import StepSizeFreeOptimizer, check_growth_rate
from kerasboost.utils.validation import check_bool, check_number


@kerasboost_export("kerasboost.optimizers.Prodigy")
class Prodigy(StepSizeFreeOptimizer):
    """Adam whose step size `d` is estimated from the distance travelled (Prodigy).

    Prodigy estimates `D = ||x_0 - x_*||`, the distance from the initial weights
    to a solution, and takes Adam steps of size `d * learning_rate`: leave
    `learning_rate` at 1.0 (it is a multiplier of `d`; a schedule or `Warmup`
    scales it over training, as the paper's runs use cosine annealing). With
    `s_t = beta_3 s_{t-1} + d_t lr_t g_t` and
    `r_t = beta_3 r_{t-1} + d_t lr_t <g_t, x_0 - x_t>` (both weighted by
    `d_t / d_0`), the estimate is `d_hat = d_coef * r_t / ||s_t||_1`; `d` never
    decreases, grows at most by `growth_rate` per step, and the moments are
    kept in units of `d` (`m = beta_1 m + d (1 - beta_1) g`,
    `v = beta_2 v + d^2 (1 - beta_2) g^2`), the step being
    `x -= d lr m / (sqrt(v) + d epsilon)`.

    The trajectory equals the reference implementation's (`prodigyopt` 1.1.2,
    `slice_p=1`) to float32 rounding: `tests/optimizers/test_step_size_free.py`
    compares the weights after 200 steps. `optimizer.d` holds the estimate and
    `optimizer.step_size` the Adam learning rate it amounts to (`d * lr`,
    logged by `LearningRateLogger`). The step size is a sum over every
    variable, so one optimizer steps all the variables it was built for; under
    a multi-replica `tf.distribute` strategy it raises (JAX's data parallelism
    works).

    Args:
        learning_rate: float or schedule, a multiplier of the estimated step
            size. Defaults to 1.0.
        beta_1: float in [0, 1), first-moment decay (0: no first moment).
            Defaults to 0.9.
        beta_2: float in [0, 1), second-moment decay. Defaults to 0.999.
        beta_3: float in [0, 1) or None, the decay of the estimate's sums;
            None: `sqrt(beta_2)`. Defaults to None.
        epsilon: float > 0, added to `sqrt(v)` in units of `d`. Defaults to
            1e-8.
        weight_decay: float >= 0. Defaults to 0.
        decouple: bool, AdamW-style decay (`x -= weight_decay * d * lr * x`)
            rather than an L2 term added to the gradient. Defaults to True.
        use_bias_correction: bool, Adam's bias correction
            (`sqrt(1 - beta_2^t) / (1 - beta_1^t)`). Defaults to False.
        safeguard_warmup: bool, leave the learning rate out of `s_t` (for
            warmup schedules that start near 0). Defaults to False.
        d0: float > 0, the initial estimate. Defaults to 1e-6.
        d_coef: float > 0, a multiplier of the estimate (the preferred knob:
            0.5 or 2.0). Defaults to 1.0.
        growth_rate: float >= 1 or None, the largest factor by which `d` grows
            per step; None (or infinity): unbounded. Defaults to None.
        **kwargs: clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name: as for every Keras optimizer.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=kerasboost.optimizers.Prodigy(), loss="mse")
    >>> model.compile(optimizer="kerasboost>Prodigy", loss="mse")  # by name

    ```

    References:
        - Mishchenko & Defazio, 2023, "Prodigy: An Expeditiously Adaptive
          Parameter-Free Learner", https://arxiv.org/abs/2306.06101
    """

    def __init__(
        self,
        learning_rate: Any = 1.0,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        beta_3: float | None = None,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        decouple: bool = True,
        use_bias_correction: bool = False,
        safeguard_warmup: bool = False,
        d0: float = 1e-6,
        d_coef: float = 1.0,
        growth_rate: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_inclusive=False)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_inclusive=False)
        self.beta_3 = check_number("beta_3", beta_3, low=0.0, high=1.0, high_inclusive=False, allow_none=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
        self.decouple = check_bool("decouple", decouple)
        self.use_bias_correction = check_bool("use_bias_correction", use_bias_correction)
        self.safeguard_warmup = check_bool("safeguard_warmup", safeguard_warmup)
        self.d0 = check_number("d0", d0, low=0.0, low_inclusive=False)
        self.d_coef = check_number("d_coef", d_coef, low=0.0, low_inclusive=False)
        self.growth_rate = check_growth_rate(growth_rate)

    def build_state(self, var_list):
        self.d = self.scalar("d", self.d0)
        self.d_max = self.scalar("d_max", self.d0)
        self.numerator = self.scalar("d_numerator")
        self._initial = slots(self, var_list, "initial")
        self._s = slots(self, var_list, "s")
        self._m = slots(self, var_list, "momentum") if self.beta_1 > 0 else []
        self._v = slots(self, var_list, "velocity")

    @property
    def step_size(self):
        return self.d * ops.cast(self.learning_rate, self.d.dtype)

    def step(self, grads, variables, learning_rate):
        beta_1, beta_2 = self.beta_1, self.beta_2
        beta_3 = math.sqrt(beta_2) if self.beta_3 is None else self.beta_3
        d, k = ops.convert_to_tensor(self.d), ops.convert_to_tensor(self.updates)
        if self.use_bias_correction:
            # sqrt(1 - beta_2^t) / (1 - beta_1^t), t = k + 1
            correction = ops.sqrt(1.0 - ops.power(beta_2, k + 1.0)) / (1.0 - ops.power(beta_1, k + 1.0))
        else:
            correction = 1.0
        dlr = d * learning_rate * correction
        active = learning_rate > 0.0
        first = ops.equal(k, 0.0)
        weight = d / self.d0
        s_rate = weight * (d if self.safeguard_warmup else dlr)

        numerator, s_sum, new = 0.0, 0.0, []
        for gradient, variable in zip(grads, variables):
            i = self.index(variable)
            dtype = variable.dtype
            x = ops.convert_to_tensor(variable)
            g = ops.cast(gradient, dtype)
            if self.decay and not self.decouple:
                g = g + self.decay * x
            initial = ops.where(first, x, ops.convert_to_tensor(self._initial[i]))
            s = ops.convert_to_tensor(self._s[i]) * beta_3 + ops.cast(s_rate, dtype) * g
            v = ops.convert_to_tensor(self._v[i]) * beta_2 + ops.cast(d * d * (1.0 - beta_2), dtype) * ops.square(g)
            m = (
                ops.convert_to_tensor(self._m[i]) * beta_1 + ops.cast(d * (1.0 - beta_1), dtype) * g
                if beta_1 > 0
                else None
            )
            numerator = numerator + self.total(g * (initial - x))
            s_sum = s_sum + self.total(ops.abs(s))
            new.append((i, variable, x, g, initial, s, v, m))

        numerator = ops.convert_to_tensor(self.numerator) * beta_3 + weight * dlr * numerator
        # no update when the rate is 0 or every gradient so far was 0 (the reference returns early)
        proceed = ops.logical_and(active, s_sum > 0.0)
        d_hat = self.d_coef * numerator / ops.where(s_sum > 0.0, s_sum, 1.0)
        d_raised = ops.where(ops.equal(d, np.asarray(self.d0, self.state_dtype)), ops.maximum(d, d_hat), d)
        d_max = ops.maximum(ops.convert_to_tensor(self.d_max), d_hat)
        # unbounded growth: d follows its running maximum estimate
        d_new = d_max if self.growth_rate is None else ops.minimum(d_max, d_raised * self.growth_rate)

        for i, variable, x, g, initial, s, v, m in new:
            dtype = variable.dtype
            self.assign(self._initial[i], initial)
            self.assign(self._s[i], ops.where(active, s, ops.convert_to_tensor(self._s[i])))
            self.assign(self._v[i], ops.where(active, v, ops.convert_to_tensor(self._v[i])))
            if m is not None:
                self.assign(self._m[i], ops.where(active, m, ops.convert_to_tensor(self._m[i])))
            denominator = ops.sqrt(v) + ops.cast(d_new * self.epsilon, dtype)
            stepped = x
            if self.decay and self.decouple:
                stepped = stepped - ops.cast(self.decay * dlr, dtype) * x
            if m is not None:
                stepped = stepped - ops.cast(dlr, dtype) * m / denominator
            else:
                stepped = stepped - ops.cast(dlr * d_new, dtype) * g / denominator
            self.assign(variable, ops.where(proceed, stepped, x))

        self.assign(self.d, ops.where(proceed, d_new, d))
        self.assign(self.d_max, ops.where(proceed, d_max, ops.convert_to_tensor(self.d_max)))
        self.assign(self.numerator, ops.where(proceed, numerator, ops.convert_to_tensor(self.numerator)))
        self.assign(self.updates, ops.where(proceed, k + 1.0, k))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "beta_3": self.beta_3,
                "epsilon": self.epsilon,
                "decouple": self.decouple,
                "use_bias_correction": self.use_bias_correction,
                "safeguard_warmup": self.safeguard_warmup,
                "d0": self.d0,
                "d_coef": self.d_coef,
                "growth_rate": self.growth_rate,
            }
        )
        return config
