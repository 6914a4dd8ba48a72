"""Where the per-step cost of GradientStatistics and Lookahead goes: ablated variants timed like overhead.py.

Each variant is the kerasboost component with one part removed (so it is no longer correct: these
are for timing only), timed against the same baseline as the component, by `overhead.py`'s
harness (interleaved pairs, median of per-repeat ratios and best vs best):

    GradientStatistics variants (recording every step, reading every 100):
      no statistics       the callback's plumbing only: the patched `apply`, the pre-update weights
                          carried through the step, the buffers
      update statistics   + the update and weight norms (no gradient statistics)
      gradient statistics + the three gradient statistics (no update and weight norms)
      no NaN/Inf cond     every statistic, the gradient ones computed unguarded without the `cond`
                          that recomputes them with NaN/Inf masked
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
    """A GradientStatistics recording every step that computes only the named statistics."""

    class Ablated(callbacks.GradientStatistics):
        def _updated(self, step, grads, before, after, buffer, steps, count):
            if gradient and update and guard_cond:
                return super()._updated(step, grads, before, after, buffer, steps, count)
            n = len(before)
            rows = ops.zeros((n, gs._DW_NORM), "float32")
            if gradient:
                rows = ops.stack([gs._gradient_statistics(g, ops.shape(w), guard=False) for g, w in zip(grads, before)])
            columns = ops.zeros((n, len(gs.FIELDS) - gs._DW_NORM), "float32")
            if update:
                columns = ops.stack([gs._update_statistics(a, b) for a, b in zip(before, after)])
            stats = ops.concatenate([rows, columns], axis=1)
            slot = ops.cast(ops.mod(count, buffer.shape[0]), "int32")
            new_buffer = ops.slice_update(buffer, (slot, 0, 0), ops.expand_dims(stats, 0))
            new_steps = ops.slice_update(steps, (slot,), ops.reshape(ops.cast(step, steps.dtype), (1,)))
            return new_buffer, new_steps, count + 1

    return lambda: [Ablated(every_n_steps=1, read_every_n_steps=100)]


class LookaheadNoStart(optimizers.Lookahead):
    def apply_wrapped(self, grads, variables):
        slow_weights = [self._slow_weights[self._get_variable_index(fast)] for fast in variables]

        def synchronize():
            for fast, slow in zip(variables, slow_weights):
                pulled = slow.value + self.slow_step_size * (fast.value - slow.value)
                slow.assign(pulled)
                fast.assign(pulled)

        self.apply_inner(grads, variables)
        run_if(ops.equal(self.optimizer.iterations % self.sync_period, 0), synchronize, [*variables, *slow_weights])


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
