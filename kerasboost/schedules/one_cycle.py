"""The one-cycle policy (Smith & Topin 2018)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step, cosine_anneal, linear_anneal, progress
from kerasboost.utils.validation import check_bool, check_choice, check_number, fail

ANNEAL_STRATEGIES = ("cos", "linear")


def phase_ends(name: str, pct_start: float, total_steps: int, three_phase: bool) -> list[float]:
    """The last step of each phase, as PyTorch's `OneCycleLR` places them; a `ValueError` on
    `name` (the argument holding `pct_start`) when a phase would last less than one step."""
    up_end = pct_start * total_steps - 1.0
    ends = [up_end, total_steps - 1.0]
    if three_phase:
        ends.insert(1, 2.0 * pct_start * total_steps - 2.0)
    previous_end = 0.0
    for end in ends:
        if end <= previous_end:
            raise fail(
                name,
                f"such that every phase lasts at least one step (total_steps={total_steps}, three_phase={three_phase})",
                pct_start,
            )
        previous_end = end
    return ends


def piecewise(step: Any, phases: list, anneal_strategy: str) -> Any:
    """The float32 value at `step` of consecutive annealed phases `(end step, start, end value)`
    (the first starting at step 0): the first phase whose end has not been passed (PyTorch's
    rule); after the last, its end value."""
    step = as_step(step)
    anneal = cosine_anneal if anneal_strategy == "cos" else linear_anneal
    starts = [0.0] + [end for end, _, _ in phases[:-1]]
    values = [anneal(first, last, *progress(step, start, end)) for start, (end, first, last) in zip(starts, phases)]
    value = values[-1]
    for (end, _, _), earlier in zip(reversed(phases[:-1]), reversed(values[:-1])):
        value = ops.where(step <= end, earlier, value)
    return ops.cast(value, "float32")


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

    This schedule is the learning rate only: the optimizer's momentum stays
    where it was set, as in PyTorch with `cycle_momentum=False`. The policy
    (and PyTorch's default, `cycle_momentum=True`) also moves the momentum
    against the rate, 0.95 -> 0.85 -> 0.95: add
    `kerasboost.callbacks.MomentumScheduler(schedule.momentum_schedule())`
    to `fit` for that (SGD's `momentum`, Adam's `beta_1`, in the compiled step).

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
        # (end step, start value, end value) of each phase
        self._phases = [
            (end, first, last)
            for end, (first, last) in zip(
                phase_ends("pct_start", self.pct_start, self.total_steps, self.three_phase),
                [(initial, self.maximal_learning_rate), (self.maximal_learning_rate, initial), (initial, minimum)]
                if self.three_phase
                else [(initial, self.maximal_learning_rate), (self.maximal_learning_rate, minimum)],
            )
        ]

    def __call__(self, step: Any) -> Any:
        return piecewise(step, self._phases, self.anneal_strategy)

    def momentum_schedule(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> OneCycleMomentum:
        """The momentum that goes with this cycle (PyTorch's `cycle_momentum=True`), for
        `kerasboost.callbacks.MomentumScheduler`: `OneCycleMomentum` with the same
        `total_steps`, `pct_start`, `anneal_strategy` and `three_phase`."""
        return OneCycleMomentum(
            self.total_steps,
            base_momentum=base_momentum,
            max_momentum=max_momentum,
            pct_start=self.pct_start,
            anneal_strategy=self.anneal_strategy,
            three_phase=self.three_phase,
        )

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


@kerasboost_export("kerasboost.schedules.OneCycleMomentum")
class OneCycleMomentum(Schedule):
    """The momentum of the one-cycle policy: down while the learning rate rises, up while it falls.

    Smith's one-cycle policy moves the momentum (SGD's `momentum`, Adam's
    `beta_1`) against the learning rate, over the same phases as `OneCycle`:

    - two phases (default): `max_momentum -> base_momentum` until step
      `pct_start * total_steps - 1`, then `base_momentum -> max_momentum` until
      step `total_steps - 1`;
    - `three_phase=True`: `max_momentum -> base_momentum`, then back to
      `max_momentum` until `2 * pct_start * total_steps - 2`, then constant.

    Each phase is annealed as in `OneCycle` (`"cos"` or `"linear"`). The values
    equal the momentum PyTorch's `OneCycleLR(..., cycle_momentum=True,
    base_momentum, max_momentum)` sets at every step. A Keras optimizer holds its
    momentum as a constant, so this schedule acts through
    `kerasboost.callbacks.MomentumScheduler`, which feeds it to the optimizer
    inside the compiled step. `OneCycle.momentum_schedule()` builds the one that
    matches a learning-rate cycle.

    Args:
        total_steps: int >= 2, the length of the cycle in optimizer steps.
        base_momentum: float in [0, 1], the momentum at the learning rate's
            peak. Defaults to 0.85.
        max_momentum: float in [0, 1], the momentum at the start and end of
            the cycle. Defaults to 0.95.
        pct_start: float in (0, 1), the fraction of the cycle spent with the
            learning rate rising. Defaults to 0.3.
        anneal_strategy: `"cos"` (default) or `"linear"`.
        three_phase: bool, use the three-phase variant. Defaults to False.

    Example:

    ```python
    >>> import kerasboost
    >>> momentum = kerasboost.schedules.OneCycleMomentum(total_steps=1000)
    >>> [round(float(momentum(s)), 6) for s in (0, 299, 999)]
    [0.95, 0.85, 0.95]

    ```

    References:
        - Smith, 2018, "A disciplined approach to neural network
          hyper-parameters: Part 1", https://arxiv.org/abs/1803.09820
        - Smith & Topin, 2018, "Super-Convergence: Very Fast Training of Neural
          Networks Using Large Learning Rates", https://arxiv.org/abs/1708.07120
    """

    def __init__(
        self,
        total_steps: int,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        three_phase: bool = False,
    ) -> None:
        self.total_steps = check_number("total_steps", total_steps, low=2, integer=True)
        self.base_momentum = check_number("base_momentum", base_momentum, low=0.0, high=1.0)
        self.max_momentum = check_number("max_momentum", max_momentum, low=0.0, high=1.0)
        self.pct_start = check_number(
            "pct_start", pct_start, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        self.anneal_strategy = check_choice("anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)
        self.three_phase = check_bool("three_phase", three_phase)
        ends = phase_ends("pct_start", self.pct_start, self.total_steps, self.three_phase)
        low, high = self.base_momentum, self.max_momentum
        values = [(high, low), (low, high), (high, high)] if self.three_phase else [(high, low), (low, high)]
        self._phases = [(end, first, last) for end, (first, last) in zip(ends, values)]

    def __call__(self, step: Any) -> Any:
        return piecewise(step, self._phases, self.anneal_strategy)

    def get_config(self) -> dict:
        return {
            "total_steps": self.total_steps,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
            "pct_start": self.pct_start,
            "anneal_strategy": self.anneal_strategy,
            "three_phase": self.three_phase,
        }
