"""Cyclical learning rates (Smith 2017)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step
from kerasboost.utils.validation import check_choice, check_number, fail

CYCLICAL_MODES = ("triangular", "triangular2", "exp_range")


@kerasboost_export("kerasboost.schedules.CyclicalLearningRate")
class CyclicalLearningRate(Schedule):
    """Cycle the learning rate between two bounds (Smith 2017).

    One cycle is `2 * step_size` steps: up from `initial_learning_rate` to
    `maximal_learning_rate` in `step_size` steps, then back down. With
    `cycle = floor(1 + step / (2 * step_size))` and
    `x = |step / step_size - 2 * cycle + 1|`, the learning rate is

        initial + (maximal - initial) * max(0, 1 - x) * scale

    where `scale` is 1 (`"triangular"`), `1 / 2 ** (cycle - 1)`
    (`"triangular2"`, the amplitude halves every cycle) or `gamma ** step`
    (`"exp_range"`). These are the formulas of PyTorch's
    `CyclicLR(base_lr, max_lr, step_size_up=step_size, mode, gamma)`, and the
    values agree at every step. Use with `LearningRateFinder`'s bounds; Smith
    recommends `step_size` of 2-10 epochs of steps.

    Args:
        initial_learning_rate: float >= 0, the lower bound.
        maximal_learning_rate: float >= `initial_learning_rate`, the upper bound.
        step_size: int >= 1, steps in half a cycle.
        mode: `"triangular"` (default), `"triangular2"` or `"exp_range"`.
        gamma: float in (0, 1], the per-step amplitude decay of `"exp_range"`.
            Defaults to 1.0.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> lr = kerasboost.schedules.CyclicalLearningRate(1e-4, 1e-2, step_size=100)
    >>> round(float(lr(100)), 6), round(float(lr(200)), 6)
    (0.01, 0.0001)
    >>> optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)

    ```

    References:
        - Smith, 2017, "Cyclical Learning Rates for Training Neural Networks",
          https://arxiv.org/abs/1506.01186
    """

    def __init__(
        self,
        initial_learning_rate: float,
        maximal_learning_rate: float,
        step_size: int,
        mode: str = "triangular",
        gamma: float = 1.0,
    ) -> None:
        self.initial_learning_rate = check_number("initial_learning_rate", initial_learning_rate, low=0.0)
        self.maximal_learning_rate = check_number("maximal_learning_rate", maximal_learning_rate, low=0.0)
        if self.maximal_learning_rate < self.initial_learning_rate:
            raise fail(
                "maximal_learning_rate",
                f">= initial_learning_rate ({self.initial_learning_rate})",
                maximal_learning_rate,
            )
        self.step_size = check_number("step_size", step_size, low=1, integer=True)
        self.mode = check_choice("mode", mode, CYCLICAL_MODES)
        self.gamma = check_number("gamma", gamma, low=0.0, high=1.0, low_inclusive=False)

    def __call__(self, step: Any) -> Any:
        step = as_step(step)
        cycle = ops.floor(1.0 + step / (2.0 * self.step_size))
        # the same x as |step / step_size - 2 * cycle + 1|, with one rounding
        # instead of several: the position in the cycle is an exact integer
        position = step - 2.0 * self.step_size * (cycle - 1.0)
        x = ops.abs(position / self.step_size - 1.0)
        height = (self.maximal_learning_rate - self.initial_learning_rate) * ops.maximum(0.0, 1.0 - x)
        if self.mode == "triangular2":
            height = height / ops.power(2.0, cycle - 1.0)
        elif self.mode == "exp_range":
            height = height * ops.power(self.gamma, step)
        return self.initial_learning_rate + height

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
        }
