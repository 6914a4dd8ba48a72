"""Cosine annealing with warm restarts, per-cycle warmup and a cycle limit."""

from __future__ import annotations

import math
from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step, cosine_anneal, linear_anneal, progress
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.schedules.CosineRestarts")
class CosineRestarts(Schedule):
    """SGDR: cosine annealing restarted periodically (Loshchilov & Hutter 2017).

    Cycle `i` (from 0) lasts `T_i = first_cycle_steps * cycle_multiplier ** i`
    steps and peaks at `peak_i = initial_learning_rate * cycle_decay ** i`.
    Within a cycle, at step `t` from its start: for `t < warmup_steps` the rate
    rises linearly from `min_learning_rate` to `peak_i`; then it follows

        min + (peak_i - min) * (1 + cos(pi * (t - warmup_steps) / (T_i - warmup_steps))) / 2

    After `max_cycles` cycles (if set) the rate stays at `min_learning_rate`.
    With `warmup_steps=0` and `min_learning_rate=0` this equals Keras's
    `CosineDecayRestarts(initial, first_cycle_steps, t_mul, m_mul)`.

    Args:
        initial_learning_rate: float > 0, the peak of the first cycle.
        first_cycle_steps: int >= 1, the length of the first cycle.
        cycle_multiplier: float >= 1, each cycle is this much longer than the
            previous. Defaults to 1.0 (equal cycles).
        cycle_decay: float in (0, 1], each peak is this fraction of the
            previous. Defaults to 1.0.
        min_learning_rate: float in [0, initial_learning_rate], the floor.
            Defaults to 0.0.
        warmup_steps: int in [0, first_cycle_steps), linear warmup at the start
            of every cycle. Defaults to 0.
        max_cycles: int >= 1 or None, the number of cycles before the rate
            stays at `min_learning_rate`. Defaults to None (restart forever).

    Example:

    ```python
    >>> import kerasboost
    >>> lr = kerasboost.schedules.CosineRestarts(0.1, first_cycle_steps=100, cycle_multiplier=2.0)
    >>> round(float(lr(50)), 6), round(float(lr(100)), 6), round(float(lr(200)), 6)
    (0.05, 0.1, 0.05)

    ```

    References:
        - Loshchilov & Hutter, 2017, "SGDR: Stochastic Gradient Descent with Warm
          Restarts", https://arxiv.org/abs/1608.03983
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_cycle_steps: int,
        cycle_multiplier: float = 1.0,
        cycle_decay: float = 1.0,
        min_learning_rate: float = 0.0,
        warmup_steps: int = 0,
        max_cycles: int | None = None,
    ) -> None:
        self.initial_learning_rate = check_number(
            "initial_learning_rate", initial_learning_rate, low=0.0, low_inclusive=False
        )
        self.first_cycle_steps = check_number("first_cycle_steps", first_cycle_steps, low=1, integer=True)
        self.cycle_multiplier = check_number("cycle_multiplier", cycle_multiplier, low=1.0)
        self.cycle_decay = check_number("cycle_decay", cycle_decay, low=0.0, high=1.0, low_inclusive=False)
        self.min_learning_rate = check_number("min_learning_rate", min_learning_rate, low=0.0)
        if self.min_learning_rate > self.initial_learning_rate:
            raise fail(
                "min_learning_rate",
                f"a number in [0, initial_learning_rate={self.initial_learning_rate}]",
                min_learning_rate,
            )
        self.warmup_steps = check_number("warmup_steps", warmup_steps, low=0, integer=True)
        if self.warmup_steps >= self.first_cycle_steps:
            raise fail("warmup_steps", f"< first_cycle_steps ({self.first_cycle_steps})", warmup_steps)
        self.max_cycles = check_number("max_cycles", max_cycles, low=1, integer=True, allow_none=True)

    def _cycle_start(self, cycle):
        """The first step of cycle `cycle` (a float tensor)."""
        if self.cycle_multiplier == 1.0:
            return self.first_cycle_steps * cycle
        m = self.cycle_multiplier
        return self.first_cycle_steps * (ops.power(m, cycle) - 1.0) / (m - 1.0)

    def __call__(self, step: Any) -> Any:
        step = as_step(step)
        t0, m = float(self.first_cycle_steps), self.cycle_multiplier
        if m == 1.0:
            cycle = ops.floor(step / t0)
        else:
            cycle = ops.floor(ops.log(1.0 + step / t0 * (m - 1.0)) / math.log(m))
            # The logarithm can land a hair off at cycle boundaries: correct by one.
            cycle = ops.where(step >= self._cycle_start(cycle + 1.0), cycle + 1.0, cycle)
            cycle = ops.where(step < self._cycle_start(cycle), cycle - 1.0, cycle)
        t = step - self._cycle_start(cycle)
        length = t0 * ops.power(m, cycle)
        peak = self.initial_learning_rate * ops.power(self.cycle_decay, cycle)
        floor = self.min_learning_rate
        warm = self.warmup_steps
        learning_rate = cosine_anneal(peak, floor, *progress(t, warm, length))
        if warm > 0:
            ramp = linear_anneal(floor, peak, *progress(t, 0.0, warm))
            learning_rate = ops.where(t < warm, ramp, learning_rate)
        if self.max_cycles is not None:
            learning_rate = ops.where(cycle >= self.max_cycles, floor, learning_rate)
        return ops.cast(learning_rate, "float32")

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_cycle_steps": self.first_cycle_steps,
            "cycle_multiplier": self.cycle_multiplier,
            "cycle_decay": self.cycle_decay,
            "min_learning_rate": self.min_learning_rate,
            "warmup_steps": self.warmup_steps,
            "max_cycles": self.max_cycles,
        }
