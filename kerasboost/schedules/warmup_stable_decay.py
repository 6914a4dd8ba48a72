"""Warmup-stable-decay ("trapezoidal") schedule (Hu et al. 2024)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step, cosine_anneal, linear_anneal, progress
from kerasboost.utils.validation import check_choice, check_number, fail

DECAY_SHAPES = ("linear", "cosine", "1-sqrt")


@kerasboost_export("kerasboost.schedules.WarmupStableDecay")
class WarmupStableDecay(Schedule):
    """Warm up, hold the peak, then decay over the final fraction of training.

    With `decay_steps = round(decay_fraction * total_steps)` and
    `decay_start = total_steps - decay_steps`:

    - `step < warmup_steps`: linear from 0 to `peak_learning_rate`;
    - `warmup_steps <= step < decay_start`: `peak_learning_rate`;
    - then `end + (peak - end) * g(p)` with `p = (step - decay_start) / decay_steps`
      clipped to [0, 1] and `g(p)` = `1 - p` (`"linear"`),
      `(1 + cos(pi * p)) / 2` (`"cosine"`) or `1 - sqrt(p)` (`"1-sqrt"`).

    Unlike cosine decay, the stable phase does not depend on the total length,
    so a run can be extended from a checkpoint taken before the decay.

    Args:
        peak_learning_rate: float > 0, the rate of the stable phase.
        total_steps: int >= 1, the length of training.
        warmup_steps: int >= 0, the length of the warmup. Defaults to 0.
        decay_fraction: float in [0, 1], the fraction of `total_steps` spent
            decaying. Defaults to 0.1.
        end_learning_rate: float in [0, peak_learning_rate], the final rate.
            Defaults to 0.0.
        decay_shape: `"linear"` (default), `"cosine"` or `"1-sqrt"`.

    Example:

    ```python
    >>> import kerasboost
    >>> lr = kerasboost.schedules.WarmupStableDecay(1e-3, total_steps=1000, warmup_steps=100)
    >>> [round(float(lr(s)), 6) for s in (50, 500, 950, 1000)]
    [0.0005, 0.001, 0.0005, 0.0]

    ```

    References:
        - Hu et al., 2024, "MiniCPM: Unveiling the Potential of Small Language
          Models with Scalable Training Strategies", https://arxiv.org/abs/2404.06395
        - Hagele et al., 2024, "Scaling Laws and Compute-Optimal Training Beyond
          Fixed Training Durations", https://arxiv.org/abs/2405.18392 (1-sqrt)
    """

    def __init__(
        self,
        peak_learning_rate: float,
        total_steps: int,
        warmup_steps: int = 0,
        decay_fraction: float = 0.1,
        end_learning_rate: float = 0.0,
        decay_shape: str = "linear",
    ) -> None:
        self.peak_learning_rate = check_number("peak_learning_rate", peak_learning_rate, low=0.0, low_inclusive=False)
        self.total_steps = check_number("total_steps", total_steps, low=1, integer=True)
        self.warmup_steps = check_number("warmup_steps", warmup_steps, low=0, integer=True)
        self.decay_fraction = check_number("decay_fraction", decay_fraction, low=0.0, high=1.0)
        self.end_learning_rate = check_number(
            "end_learning_rate", end_learning_rate, low=0.0, high=self.peak_learning_rate
        )
        self.decay_shape = check_choice("decay_shape", decay_shape, DECAY_SHAPES)
        self._decay_steps = round(self.decay_fraction * self.total_steps)
        self._decay_start = self.total_steps - self._decay_steps
        if self.warmup_steps > self._decay_start:
            raise fail(
                "warmup_steps",
                f"<= the start of the decay, total_steps - round(decay_fraction * total_steps) = {self._decay_start}",
                warmup_steps,
            )

    def __call__(self, step: Any) -> Any:
        step = as_step(step)
        peak, end = self.peak_learning_rate, self.end_learning_rate
        learning_rate = ops.full((), peak, "float32")
        if self._decay_steps > 0:
            p, remaining = progress(step, float(self._decay_start), float(self.total_steps))
            if self.decay_shape == "linear":
                decayed = linear_anneal(peak, end, p, remaining)
            elif self.decay_shape == "cosine":
                decayed = cosine_anneal(peak, end, p, remaining)
            else:
                # end + (peak - end) * (1 - sqrt(p)), with 1 - sqrt(p) as remaining / (1 + sqrt(p))
                # (no cancellation near p = 1)
                root = ops.sqrt(p)
                decayed = peak * (remaining / (1.0 + root)) + end * root
            learning_rate = ops.where(step >= self._decay_start, decayed, learning_rate)
        if self.warmup_steps > 0:
            ramp = peak * step / self.warmup_steps
            learning_rate = ops.where(step < self.warmup_steps, ramp, learning_rate)
        return learning_rate

    def get_config(self) -> dict:
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "decay_fraction": self.decay_fraction,
            "end_learning_rate": self.end_learning_rate,
            "decay_shape": self.decay_shape,
        }
