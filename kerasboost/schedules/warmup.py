"""Warmup in front of any learning rate or schedule."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import (
    Schedule,
    ScheduleLike,
    as_schedule,
    as_step,
    evaluate,
    linear_anneal,
    progress,
    serialize_schedule,
)
from kerasboost.utils.validation import check_choice, check_number, fail

WARMUP_MODES = ("linear", "exponential", "polynomial")


@kerasboost_export("kerasboost.schedules.Warmup")
class Warmup(Schedule):
    """Warm the learning rate up before any schedule (or a constant) takes over.

    For `step < warmup_steps` the learning rate ramps from
    `start_learning_rate` to `target`, the wrapped schedule's value at its own
    step 0; from `warmup_steps` on, the wrapped schedule runs from its own
    step 0, i.e. `schedule(step - warmup_steps)`. With `f = step / warmup_steps`:

    - `"linear"`: `start + (target - start) * f`
    - `"polynomial"`: `start + (target - start) * f ** power`
    - `"exponential"`: `start * (target / start) ** f` (needs `start > 0`;
      a geometric ramp, even steps on a log scale)

    Use it for large batches or adaptive optimizers early in training, where
    the first updates are otherwise too large (Goyal et al. 2017), and in front
    of schedules that have no warmup of their own.

    Args:
        schedule: a float learning rate or any
            `keras.optimizers.schedules.LearningRateSchedule` (Keras's or
            kerasboost's, nested ones included).
        warmup_steps: int >= 0, the number of warmup steps. 0 disables warmup.
        start_learning_rate: float >= 0, the learning rate at step 0.
            Defaults to 0.0 (must be > 0 for `mode="exponential"`).
        mode: `"linear"` (default), `"exponential"` or `"polynomial"`.
        power: float > 0, exponent of the `"polynomial"` ramp. Defaults to 1.0.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> cosine = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=1000)
    >>> lr = kerasboost.schedules.Warmup(cosine, warmup_steps=100)
    >>> round(float(lr(50)), 6)  # halfway through the warmup
    0.0005
    >>> optimizer = keras.optimizers.AdamW(learning_rate=lr)

    ```

    References:
        - Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training
          ImageNet in 1 Hour", https://arxiv.org/abs/1706.02677
    """

    def __init__(
        self,
        schedule: ScheduleLike,
        warmup_steps: int,
        start_learning_rate: float = 0.0,
        mode: str = "linear",
        power: float = 1.0,
    ) -> None:
        self.schedule = as_schedule("schedule", schedule)
        self.warmup_steps = check_number("warmup_steps", warmup_steps, low=0, integer=True)
        self.start_learning_rate = check_number("start_learning_rate", start_learning_rate, low=0.0)
        self.mode = check_choice("mode", mode, WARMUP_MODES)
        self.power = check_number("power", power, low=0.0, low_inclusive=False)
        if self.mode == "exponential" and self.start_learning_rate <= 0.0:
            raise fail(
                "start_learning_rate",
                'a number > 0 with mode="exponential"',
                start_learning_rate,
            )

    def __call__(self, step: Any) -> Any:
        step = as_step(step)
        after = evaluate(self.schedule, ops.maximum(step - self.warmup_steps, 0.0))
        if self.warmup_steps == 0:
            return after
        target = evaluate(self.schedule, 0.0)
        start = ops.convert_to_tensor(self.start_learning_rate, "float32")
        fraction, remaining = progress(step, 0.0, float(self.warmup_steps))
        if self.mode == "linear":
            ramp = linear_anneal(start, target, fraction, remaining)
        elif self.mode == "polynomial":
            weight = ops.power(fraction, self.power)
            ramp = linear_anneal(start, target, weight, 1.0 - weight)
        else:
            ramp = start * ops.power(target / start, fraction)
        return ops.where(step < self.warmup_steps, ramp, after)

    def get_config(self) -> dict:
        return {
            "schedule": serialize_schedule(self.schedule),
            "warmup_steps": self.warmup_steps,
            "start_learning_rate": self.start_learning_rate,
            "mode": self.mode,
            "power": self.power,
        }
