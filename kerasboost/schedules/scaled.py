"""A schedule multiplied by a constant factor."""

from __future__ import annotations

from typing import Any

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, ScheduleLike, as_schedule, evaluate, serialize_schedule
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.schedules.Scaled")
class Scaled(Schedule):
    """Multiply a learning rate or schedule by a constant `factor`.

    `learning_rate(step) = factor * schedule(step)`. The shape of the wrapped
    schedule is kept; only its height changes. `ReduceLROnPlateau` leaves the
    reductions it made on top of a schedule in this form when training ends, so
    a saved model resumes at the reduced level; `layerwise_lr_decay` gives each
    layer group `Scaled(schedule, decay ** depth)`.

    Args:
        schedule: float >= 0 or any `LearningRateSchedule` (or its config).
        factor: float >= 0, the multiplier.

    Example:

    ```python
    >>> import kerasboost
    >>> lr = kerasboost.schedules.Scaled(kerasboost.schedules.StepDecay(0.1, drop_every=10), 0.5)
    >>> round(float(lr(0)), 6), round(float(lr(10)), 6)
    (0.05, 0.005)

    ```

    References:
        - Smith, 2017, "Cyclical Learning Rates for Training Neural Networks",
          https://arxiv.org/abs/1506.01186 (a schedule's height and shape as separate choices)
    """

    def __init__(self, schedule: ScheduleLike, factor: float) -> None:
        self.schedule = as_schedule("schedule", schedule)
        self.factor = check_number("factor", factor, low=0.0)

    def __call__(self, step: Any) -> Any:
        return evaluate(self.schedule, step) * self.factor

    def get_config(self) -> dict:
        return {"schedule": serialize_schedule(self.schedule), "factor": self.factor}
