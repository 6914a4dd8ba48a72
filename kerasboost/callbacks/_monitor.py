"""What the monitoring callbacks (EarlyStopping, ReduceLROnPlateau) share: the direction of a
monitored value, the improvement test, and the atomic write of their resumable state."""

from __future__ import annotations

import json
import os

_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1")


def direction(monitor: str, mode: str) -> str:
    """`"min"` or `"max"`; `mode="auto"` means max for accuracy-like names, else min."""
    if mode != "auto":
        return mode
    return "max" if any(k in monitor.lower() for k in _HIGHER_IS_BETTER) else "min"


def improved(value: float, reference: float | None, delta: float, delta_mode: str, way: str) -> bool:
    """Whether `value` beats `reference` by more than `delta` (absolute, or relative to `reference`)."""
    if reference is None:
        return True
    margin = delta * abs(reference) if delta_mode == "relative" else delta
    return value < reference - margin if way == "min" else value > reference + margin


def write_state(path: str, state: dict) -> None:
    """Write `state` as JSON atomically: a kill leaves the old or the new file, never half of one."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(path + ".tmp", path)
