"""Constructor argument checks shared by every kerasboost object.

Each check raises `ValueError` with a message of the form

    `step_size` must be an integer >= 1. Received: step_size=0

naming the argument, what is allowed and the value received (as `repr`).
Nothing is silently clipped or converted beyond `int`/`float` normalisation.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any


def fail(name: str, allowed: str, value: Any) -> ValueError:
    """The standard `ValueError` (to raise) for `name` holding `value`, where `allowed` is expected."""
    return ValueError(f"`{name}` must be {allowed}. Received: {name}={value!r}")


def _interval(low, high, low_inclusive, high_inclusive) -> str:
    if low is not None and high is not None:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        return f"in {left}{low}, {high}{right}"
    if low is not None:
        return f"{'>=' if low_inclusive else '>'} {low}"
    if high is not None:
        return f"{'<=' if high_inclusive else '<'} {high}"
    return ""


INT32_MAX = 2**31 - 1


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
    allow_none: bool = False,
) -> Any:
    """Check that `value` is a finite real (or integer) within the bounds.

    Returns the value as a Python `int` (when `integer=True`) or `float`, or
    `None` when `allow_none` and the value is `None`. Booleans are rejected.
    Integers without an explicit `high` must fit in int32 (`<= 2**31 - 1`): they
    meet step counters inside the compiled step, and JAX's default integers are
    32-bit.
    """
    if value is None and allow_none:
        return None
    if integer and high is None:
        high = INT32_MAX
    kind = "an integer" if integer else "a finite number"
    interval = _interval(low, high, low_inclusive, high_inclusive)
    allowed = f"{kind} {interval}".strip()
    if allow_none:
        allowed += " or None"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(name, allowed, value)
    if integer:
        if not isinstance(value, numbers.Integral) and not (math.isfinite(float(value)) and float(value).is_integer()):
            raise fail(name, allowed, value)
        value = int(value)  # type: ignore[call-overload]  # an integral Real
    else:
        value = float(value)
        if not math.isfinite(value):
            raise fail(name, allowed, value)
    if low is not None and (value < low or (value == low and not low_inclusive)):
        raise fail(name, allowed, value)
    if high is not None and (value > high or (value == high and not high_inclusive)):
        raise fail(name, allowed, value)
    return value


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Check that `value` is one of the string `choices`."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        allowed = "one of " + ", ".join(repr(c) for c in choices)
        raise fail(name, allowed, value)
    return value


SEED_MAX = 2**32 - 1  # JAX keeps seeds as uint32; TensorFlow accepts this range too


def check_seed(name: str, value: Any, allow_none: bool = True) -> int | None:
    """Check a random seed: an int in [0, 2**32 - 1] (or None)."""
    return check_number(name, value, low=0, high=SEED_MAX, integer=True, allow_none=allow_none)


def check_bool(name: str, value: Any) -> bool:
    """Check that `value` is a `bool` (Python or NumPy)."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise fail(name, "a bool", value)
    return bool(value)


def check_choices(name: str, choices: Sequence[str], known: Sequence[str]) -> list[str]:
    """Check that `choices` is a non-empty list of distinct names from `known`; return it as a list."""
    if isinstance(choices, str) or not isinstance(choices, (list, tuple)) or not choices:
        raise fail(name, f"a non-empty list of names from {list(known)}", choices)
    unknown = [c for c in choices if c not in known]
    if unknown or len(set(choices)) != len(choices):
        raise fail(name, f"distinct names from {list(known)}", choices)
    return list(choices)
