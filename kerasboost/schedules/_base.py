"""Shared pieces of the kerasboost learning-rate schedules."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, TypeAlias

import keras
from keras import ops
from keras.optimizers.schedules import LearningRateSchedule

from kerasboost.utils.validation import check_number, fail

#: A learning rate: a constant or any `LearningRateSchedule` (Keras's or ours).
ScheduleLike: TypeAlias = "float | LearningRateSchedule"


class Schedule(LearningRateSchedule):
    """Base class: `from_config` is `cls(**config)`; nested schedules in a
    config (serialized dicts) are turned back into objects by `__init__`
    through `as_schedule`, so no schedule needs its own `from_config`."""

    @classmethod
    def from_config(cls, config: dict) -> Schedule:
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
                f"`{name}` holds a config that could not be deserialized: {e}. Received: {name}={value!r}"
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


def progress(step: Any, start: Any, end: Any) -> tuple:
    """`(done, remaining)`: how far `step` has come from `start` toward `end`, each clipped to
    `[0, 1]` and each its own quotient (`remaining` is not `1 - done`, which loses the
    significant digits of a small remainder in float32). With integer steps both are exact at
    the ends and within float32 rounding elsewhere."""
    length = end - start
    done = ops.clip((step - start) / length, 0.0, 1.0)
    remaining = ops.clip((end - step) / length, 0.0, 1.0)
    return done, remaining


def cosine_anneal(start: Any, end: Any, done: Any, remaining: Any) -> Any:
    """Cosine from `start` (`done` 0) to `end` (`done` 1): `end + (start - end) * (1 + cos(pi *
    done)) / 2`, computed as `start * sin(pi * remaining / 2) ** 2 + end * sin(pi * done / 2) ** 2`
    (the same value), which is exact at both ends and keeps a small `end` to float32 rounding
    near them, where the first form cancels."""
    half_pi = 0.5 * math.pi
    return start * ops.square(ops.sin(half_pi * remaining)) + end * ops.square(ops.sin(half_pi * done))


def linear_anneal(start: Any, end: Any, done: Any, remaining: Any) -> Any:
    """Straight line from `start` (`done` 0) to `end` (`done` 1), as `start * remaining + end *
    done`: exact at both ends (`start + (end - start) * done` is not, in float32)."""
    return start * remaining + end * done
