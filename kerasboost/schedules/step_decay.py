"""Step decay: multiply the learning rate by a factor every few steps."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.schedules.StepDecay")
class StepDecay(Schedule):
    """Drop the learning rate by `factor` every `drop_every` steps.

    `learning_rate = initial_learning_rate * factor ** floor(step / drop_every)`,
    never below `min_learning_rate`. The classic recipe for SGD with momentum on
    ResNets (divide by 10 every 30 epochs: `drop_every=30 * steps_per_epoch`,
    `factor=0.1`); PyTorch calls it `StepLR(step_size, gamma)`.

    Args:
        initial_learning_rate: float > 0, the rate until the first drop.
        drop_every: int >= 1, steps between drops.
        factor: float in (0, 1], the multiplier at each drop. Defaults to 0.1.
        min_learning_rate: float in [0, initial_learning_rate], the floor.
            Defaults to 0.0.

    Example:

    ```python
    >>> import kerasboost
    >>> lr = kerasboost.schedules.StepDecay(0.1, drop_every=100, factor=0.5)
    >>> round(float(lr(99)), 6), round(float(lr(100)), 6), round(float(lr(250)), 6)
    (0.1, 0.05, 0.025)

    ```

    References:
        - He et al., 2016, "Deep Residual Learning for Image Recognition",
          https://arxiv.org/abs/1512.03385 (the step schedule used there)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        drop_every: int,
        factor: float = 0.1,
        min_learning_rate: float = 0.0,
    ) -> None:
        self.initial_learning_rate = check_number(
            "initial_learning_rate", initial_learning_rate, low=0.0, low_inclusive=False
        )
        self.drop_every = check_number("drop_every", drop_every, low=1, integer=True)
        self.factor = check_number("factor", factor, low=0.0, high=1.0, low_inclusive=False)
        self.min_learning_rate = check_number("min_learning_rate", min_learning_rate, low=0.0)
        if self.min_learning_rate > self.initial_learning_rate:
            raise fail(
                "min_learning_rate",
                f"a number in [0, initial_learning_rate={self.initial_learning_rate}]",
                min_learning_rate,
            )

    def __call__(self, step: Any) -> Any:
        drops = ops.floor(as_step(step) / self.drop_every)
        learning_rate = self.initial_learning_rate * ops.power(self.factor, drops)
        return ops.maximum(learning_rate, self.min_learning_rate)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "drop_every": self.drop_every,
            "factor": self.factor,
            "min_learning_rate": self.min_learning_rate,
        }
