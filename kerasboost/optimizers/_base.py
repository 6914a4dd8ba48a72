"""Shared pieces of the kerasboost optimizers."""

from __future__ import annotations

import numbers
from typing import Any

import keras
import numpy as np

from kerasboost.utils.validation import fail

_TINY, _HUGE = float(np.finfo("float32").tiny), float(np.finfo("float32").max)


def slots(optimizer: keras.optimizers.Optimizer, variables, name: str, initializer="zeros") -> list:
    """One optimizer variable per model variable (works on Keras >= 3.10)."""
    return [optimizer.add_variable_from_reference(v, name=name, initializer=initializer) for v in variables]


def check_learning_rate(value: Any) -> Any:
    """A schedule or callable passes; a number must be >= 0 and representable in float32 (Keras
    keeps it in a float32 variable: 1e-300 would become 0, 1e39 infinity)."""
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule) or callable(value):
        return value
    allowed = f"0 or a finite number in [{_TINY:.4g}, {_HUGE:.4g}], or a LearningRateSchedule"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail("learning_rate", allowed, value)
    value = float(value)
    if not (value == 0.0 or _TINY <= value <= _HUGE):
        raise fail("learning_rate", allowed, value)
    return value
