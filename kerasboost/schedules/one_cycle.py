"""The one-cycle policy (Smith & Topin 2018)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step, cosine_anneal, linear_anneal, progress
from kerasboost.utils.validation import check_bool, check_choice, check_number, fail

ANNEAL_STRATEGIES = ("cos", "linear")


@kerasboost_export("kerasboost.schedules.OneCycle")
class OneCycle(Schedule):
    """One cycle up to a large learning rate and down far below the start.

    With `initial = maximal_learning_rate / div_factor` and
    `minimum = initial / final_div_factor`, the phases are (step counted from 0,
    phase ends as in PyTorch's `OneCycleLR`):

    - two phases (default): `initial -> maximal` until step
      `pct_start * total_steps - 1`, then `maximal -> minimum` until step
      `total_steps - 1`;
    - `three_phase=True`: `initial -> maximal` until `pct_start * total_steps - 1`,
      `maximal -> initial` until `2 * pct_start * total_steps - 2`, then
      `initial -> minimum` until `total_steps - 1`.

    Within a phase the rate moves by cosine (`"cos"`:
    `end + (start - end) / 2 * (1 + cos(pi * p))`) or linearly (`"linear"`),
    `p` being the fraction of the phase done. The values equal PyTorch's
    `OneCycleLR(max_lr, total_steps, pct_start, anneal_strategy, div_factor,
    final_div_factor, three_phase)` at every step; after `total_steps - 1` the
    rate stays at `minimum` (PyTorch raises instead).

    The one-cycle policy trains in far fewer steps than a constant rate
    ("super-convergence"); find `maximal_learning_rate` with a range test
    (`LearningRateFinder`).

    Args:
        maximal_learning_rate: float > 0, the peak learning rate.
        total_steps: int >= 2, the length of the cycle in optimizer steps.
        pct_start: float in (0, 1), the fraction of the cycle spent rising.
            Defaults to 0.3. Every phase must last at least one step.
        anneal_strategy: `"cos"` (default) or `"linear"`.
        div_factor: float > 0, `initial = maximal / div_factor`. Defaults to 25.
        final_div_factor: float > 0, `minimum = initial / final_div_factor`.
            Defaults to 1e4.
        three_phase: bool, use the three-phase variant. Defaults to False.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> lr = kerasboost.schedules.OneCycle(1e-2, total_steps=1000)
    >>> round(float(lr(0)), 6), round(float(lr(299)), 6)
    (0.0004, 0.01)
    >>> optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)

    ```

    References:
        - Smith & Topin, 2018, "Super-Convergence: Very Fast Training of Neural
          Networks Using Large Learning Rates", https://arxiv.org/abs/1708.07120
        - Smith, 2018, "A disciplined approach to neural network
          hyper-parameters: Part 1", https://arxiv.org/abs/1803.09820
    """

    def __init__(
        self,
        maximal_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        self.maximal_learning_rate = check_number(
            "maximal_learning_rate", maximal_learning_rate, low=0.0, low_inclusive=False
        )
        self.total_steps = check_number("total_steps", total_steps, low=2, integer=True)
        self.pct_start = check_number(
            "pct_start", pct_start, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        self.anneal_strategy = check_choice("anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)
        self.div_factor = check_number("div_factor", div_factor, low=0.0, low_inclusive=False)
        self.final_div_factor = check_number("final_div_factor", final_div_factor, low=0.0, low_inclusive=False)
        self.three_phase = check_bool("three_phase", three_phase)

        initial = self.maximal_learning_rate / self.div_factor
        minimum = initial / self.final_div_factor
        up_end = self.pct_start * self.total_steps - 1.0
        if self.three_phase:
            # (end step, start value, end value) of each phase
            self._phases = [
                (up_end, initial, self.maximal_learning_rate),
                (2.0 * self.pct_start * self.total_steps - 2.0, self.maximal_learning_rate, initial),
                (self.total_steps - 1.0, initial, minimum),
            ]
        else:
            self._phases = [
                (up_end, initial, self.maximal_learning_rate),
                (self.total_steps - 1.0, self.maximal_learning_rate, minimum),
            ]
        previous_end = 0.0
        for end, _, _ in self._phases:
            if end <= previous_end:
                raise fail(
                    "pct_start",
                    f"such that every phase lasts at least one step "
                    f"(total_steps={self.total_steps}, three_phase={self.three_phase})",
                    pct_start,
                )
            previous_end = end

    def __call__(self, step: Any) -> Any:
        step = as_step(step)
        anneal = cosine_anneal if self.anneal_strategy == "cos" else linear_anneal
        starts = [0.0] + [end for end, _, _ in self._phases[:-1]]
        values = [
            anneal(first, last, *progress(step, start, end)) for start, (end, first, last) in zip(starts, self._phases)
        ]
        # The first phase whose end has not been passed (PyTorch's rule).
        learning_rate = values[-1]
        for (end, _, _), value in zip(reversed(self._phases[:-1]), reversed(values[:-1])):
            learning_rate = ops.where(step <= end, value, learning_rate)
        return ops.cast(learning_rate, "float32")

    def get_config(self) -> dict:
        return {
            "maximal_learning_rate": self.maximal_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "anneal_strategy": self.anneal_strategy,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "three_phase": self.three_phase,
        }
