"""Shared pieces of the kerasboost learning-rate schedules."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, Union

import keras
from keras import ops

from kerasboost.utils.validation import check_number, fail

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule

#: A learning rate: a constant or any `LearningRateSchedule` (Keras's or ours).
ScheduleLike = Union[float, LearningRateSchedule]


class Schedule(LearningRateSchedule):
    """Base class: `from_config` is `cls(**config)`; nested schedules in a
    config (serialized dicts) are turned back into objects by `__init__`
    through `as_schedule`, so no schedule needs its own `from_config`."""

    @classmethod
    def from_config(cls, config: dict) -> "Schedule":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def as_schedule(name: str, value: Any) -> ScheduleLike:
    """Validate a float-or-schedule argument; deserialize a config dict."""
    if isinstance(value, dict):
        try:
            value = keras.saving.deserialize_keras_object(copy.deepcopy(value))
        except Exception as e:  # report which argument held the bad config
            raise ValueError(
                f"`{name}` holds a config that could not be deserialized: {e}. "
                f"Received: {name}={value!r}"
            ) from e
    if isinstance(value, LearningRateSchedule):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check_number(name, value, low=0.0)
    raise fail(name, "a learning rate >= 0 or a LearningRateSchedule", value)


def serialize_schedule(value: ScheduleLike) -> Any:
    """A float stays a float; a schedule becomes its serialized dict."""
    if isinstance(value, LearningRateSchedule):
        return keras.saving.serialize_keras_object(value)
    return value


def evaluate(value: ScheduleLike, step: Any) -> Any:
    """The float32 learning rate of a float or schedule at `step`."""
    if isinstance(value, LearningRateSchedule):
        return ops.cast(value(step), "float32")
    return ops.convert_to_tensor(value, "float32")


def as_step(step: Any) -> Any:
    """The optimizer's integer step as a float32 tensor."""
    return ops.cast(step, "float32")


def cosine_anneal(start: Any, end: Any, fraction: Any) -> Any:
    """Cosine from `start` (fraction 0) to `end` (fraction 1)."""
    return end + (start - end) * 0.5 * (1.0 + ops.cos(math.pi * fraction))


def linear_anneal(start: Any, end: Any, fraction: Any) -> Any:
    """Straight line from `start` (fraction 0) to `end` (fraction 1)."""
    return start + (end - start) * fraction
