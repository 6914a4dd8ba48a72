"""Where the per-step cost of GradientStatistics and Lookahead goes: ablated variants timed like overhead.py.

Each variant is the kerasboost component with one part removed (so it is no longer correct: these
are for timing only), timed against the same baseline as the component, by `overhead.py`'s
harness (interleaved pairs, median of per-repeat ratios and best vs best):

    GradientStatistics variants (recording every step, reading every 100):
      no statistics       the callback's plumbing only: the patched `apply`, the pre-update weights
                          carried through the step, the buffers
      update statistics   + the update and weight norms alone (no gradient statistics)
      gradient statistics + the three gradient statistics (no update and weight norms)
      no NaN/Inf cond     every statistic in the one pass per variable, without the `cond` that
                          recomputes the gradient ones with NaN/Inf masked
    Lookahead variants (sync_period 6):
      no first-step cond  the slow weights are not initialized at step 0
      inner step only     no slow weights at all (the wrapper's own overhead)

    python benchmarks/ablations.py                       # about 5 minutes on 2 cores
    python benchmarks/ablations.py --steps 50 --repeats 3
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import overhead  # noqa: E402  (sets the backend)
from keras import ops  # noqa: E402

from kerasboost import callbacks, optimizers  # noqa: E402
from kerasboost.callbacks import gradient_statistics as gs  # noqa: E402
from kerasboost.optimizers.wrapper import run_if  # noqa: E402


def _statistics_callback(gradient, update, guard_cond=True):
    """A GradientStatistics recording every step whose rows hold only the named statistics (zeros
    elsewhere); the rest of the callback - buffers, recording, reading - is the real one."""

    class Ablated(callbacks.GradientStatistics):
        def _rows(self, grads, before, after, record):
            if gradient and update:
                if guard_cond:
                    return super()._rows(grads, before, after, record)
                return ops.stack([gs._statistics(g, a, b) for g, a, b in zip(grads, before, after)])
            columns = [
                self._gradient_rows(grads, [ops.shape(w) for w in before], record)
                if gradient
                else ops.zeros((len(before), gs._DW_NORM), "float32"),
                self._update_rows(before, after) if update else ops.zeros((len(before), len(gs.FIELDS) - gs._DW_NORM), "float32"),
            ]
            return ops.concatenate(columns, axis=1)

    return lambda: [Ablated(every_n_steps=1, read_every_n_steps=100)]


class LookaheadNoStart(optimizers.Lookahead):
    def apply_wrapped(self, grads, variables):
        slow_weights = [self._slow_weights[self._get_variable_index(fast)] for fast in variables]
        self.apply_inner(grads, variables)
        run_if(
            ops.equal(self.optimizer.iterations % self.sync_period, 0),
            lambda: self._synchronize(variables, slow_weights),
            [*variables, *slow_weights],
        )


class LookaheadInnerOnly(optimizers.Lookahead):
    def apply_wrapped(self, grads, variables):
        self.apply_inner(grads, variables)


VARIANTS = {
    "GradientStatistics: no statistics": ("callback", _statistics_callback(False, False)),
    "GradientStatistics: update statistics": ("callback", _statistics_callback(False, True)),
    "GradientStatistics: gradient statistics": ("callback", _statistics_callback(True, False)),
    "GradientStatistics: no NaN/Inf cond": ("callback", _statistics_callback(True, True, guard_cond=False)),
    "Lookahead: no first-step cond": ("optimizer", lambda: LookaheadNoStart(overhead.adam())),
    "Lookahead: inner step only": ("optimizer", lambda: LookaheadInnerOnly(overhead.adam())),
}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    for name, (kind, make) in VARIANTS.items():
        if kind == "callback":
            overhead.CALLBACK_PAIRS[name] = make
        else:
            overhead.PAIRS[name] = (overhead.adam, make)
    if "--only" not in argv:
        argv += ["--only", "GradientStatistics(every step", "GradientStatistics:", "Lookahead"]
    if "--out" not in argv:
        argv += ["--out", "benchmarks/results/ablations"]
    overhead.main(argv, script="benchmarks/ablations.py")


if __name__ == "__main__":
    main()
