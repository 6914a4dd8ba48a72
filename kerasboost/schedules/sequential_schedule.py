"""Chain schedules one after another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import (
    Schedule,
    ScheduleLike,
    as_schedule,
    as_step,
    evaluate,
    serialize_schedule,
)
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.schedules.SequentialSchedule")
class SequentialSchedule(Schedule):
    """Run `schedules[0]` until `boundaries[0]`, then `schedules[1]`, and so on.

    Each schedule starts at its own step 0: between `boundaries[k-1]` and
    `boundaries[k]` the learning rate is `schedules[k](step - boundaries[k-1])`
    (optax's `join_schedules`). Entries may be floats (constant phases) or any
    `LearningRateSchedule`, nested kerasboost schedules included.

    Args:
        schedules: a list of at least one float or schedule.
        boundaries: a strictly increasing list of `len(schedules) - 1`
            integers >= 1, the steps at which the next schedule takes over.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> lr = kerasboost.schedules.SequentialSchedule(
    ...     [kerasboost.schedules.LinearDecay(0.0, 10, 0.1), 0.1,
    ...      keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.5)],
    ...     boundaries=[10, 50])
    >>> [round(float(lr(s)), 6) for s in (5, 20, 150)]
    [0.05, 0.1, 0.05]

    ```

    References:
        - optax `join_schedules`, https://optax.readthedocs.io (the same
          step-offset semantics)
    """

    def __init__(self, schedules: Sequence[ScheduleLike], boundaries: Sequence[int]) -> None:
        if isinstance(schedules, (str, bytes, dict)) or not isinstance(schedules, Sequence):
            raise fail("schedules", "a list of floats or schedules", schedules)
        if len(schedules) < 1:
            raise fail("schedules", "a non-empty list", schedules)
        self.schedules = [as_schedule(f"schedules[{i}]", s) for i, s in enumerate(schedules)]
        if isinstance(boundaries, (str, bytes, dict)) or not isinstance(boundaries, Sequence):
            raise fail("boundaries", "a list of integers", boundaries)
        if len(boundaries) != len(self.schedules) - 1:
            raise fail(
                "boundaries",
                f"a list of len(schedules) - 1 = {len(self.schedules) - 1} steps",
                boundaries,
            )
        self.boundaries = [check_number(f"boundaries[{i}]", b, low=1, integer=True) for i, b in enumerate(boundaries)]
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:])):
            raise fail("boundaries", "strictly increasing", boundaries)

    def __call__(self, step: Any) -> Any:
        step = as_step(step)
        offsets = [0] + self.boundaries
        learning_rate = evaluate(self.schedules[-1], ops.maximum(step - offsets[-1], 0.0))
        for k in range(len(self.boundaries) - 1, -1, -1):
            phase = evaluate(self.schedules[k], ops.maximum(step - offsets[k], 0.0))
            learning_rate = ops.where(step < self.boundaries[k], phase, learning_rate)
        return learning_rate

    def get_config(self) -> dict:
        return {
            "schedules": [serialize_schedule(s) for s in self.schedules],
            "boundaries": list(self.boundaries),
        }
