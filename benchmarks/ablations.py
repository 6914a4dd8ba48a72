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
      no maximum          the one pass without max |g| (sums only; no `cond` either)
    Lookahead variants (sync_period 6):
      no first-step cond  the slow weights are not initialized at step 0
      inner step only     no slow weights at all (the wrapper's own overhead)

    python benchmarks/ablations.py                       # about 5 minutes on 2 cores
    python benchmarks/ablations.py --steps 50 --repeats 3

`--direct` (TensorFlow only) times the GradientStatistics variants without `fit`: each model's
compiled train step is called `--calls` times in a row on one fixed batch, the variants
interleaved for `--repeats` rounds, with a second baseline as an A/A control. No data pipeline
and no callback dispatch: finer resolution of what the compiled step itself costs.

    python benchmarks/ablations.py --direct --repeats 15 --calls 200   # about 3 minutes
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
from kerasboost.utils import reductions  # noqa: E402


def _sums_only(grads, before, after):
    """The one pass per variable without the max |g| (zeros in its column)."""
    rows = []
    for g, a, b in zip(grads, before, after):
        g = gs._float32(g, ops.shape(a))
        a, b = ops.cast(a, "float32"), ops.cast(b, "float32")
        norm2, zeros, update2, weight2 = ops.unstack(
            reductions.totals([g, a, b], sums=(gs._square, gs._is_zero, lambda g, a, b: ops.square(b - a), lambda g, a, b: ops.square(a)))
        )
        rows.append(ops.stack([ops.sqrt(norm2), 0.0, zeros, 0.0, ops.sqrt(update2), ops.sqrt(weight2)]))
    return ops.stack(rows)


def _statistics_callback(gradient, update, guard_cond=True, max_abs=True):
    """A GradientStatistics recording every step whose rows hold only the named statistics (zeros
    elsewhere); the rest of the callback - buffers, recording, reading - is the real one."""

    class Ablated(callbacks.GradientStatistics):
        def _rows(self, grads, before, after, record):
            if gradient and update:
                if not max_abs:
                    return _sums_only(grads, before, after)
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
    "GradientStatistics: no maximum": ("callback", _statistics_callback(True, True, guard_cond=False, max_abs=False)),
    "Lookahead: no first-step cond": ("optimizer", lambda: LookaheadNoStart(overhead.adam())),
    "Lookahead: inner step only": ("optimizer", lambda: LookaheadInnerOnly(overhead.adam())),
}


def _direct_steps(make_callbacks, batch_size=256):
    """A compiled MLP train step (overhead.py's model, Adam) with the callbacks installed as `fit`
    would, and an iterator over one fixed batch."""
    import keras
    import numpy as np
    import tensorflow as tf

    model = overhead.build(256, 4, 64, 10)
    model.compile(overhead.adam(), keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(batch_size, 64)).astype("float32"), rng.integers(0, 10, size=batch_size)
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # builds the model and optimizer
    extra = make_callbacks()
    for callback in extra:
        callback.set_model(model)
        callback.on_train_begin()  # GradientStatistics rebuilds the train function here
        callback.on_epoch_begin(0)
    return model.train_function, iter(tf.data.Dataset.from_tensors((x, y)).repeat())


def direct(argv):
    """Time the GradientStatistics variants' compiled steps directly (see the module docstring)."""
    import argparse
    import json
    import platform
    import time

    import keras
    import numpy as np

    parser = argparse.ArgumentParser()
    parser.add_argument("--direct", action="store_true")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--out", default="benchmarks/results/ablations_direct")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("--direct times TensorFlow's compiled train step: run it with KERAS_BACKEND=tensorflow")
    candidates = {
        "A/A control (no callback on either side)": list,
        "GradientStatistics(every step, read every 100)": overhead.CALLBACK_PAIRS["GradientStatistics(every step, read every 100)"],
        **{name: make for name, (kind, make) in VARIANTS.items() if name.startswith("GradientStatistics")},
    }
    names = [n for n in candidates if not args.only or any(o in n for o in args.only)]
    steps = {"baseline": _direct_steps(list), **{n: _direct_steps(candidates[n]) for n in names}}
    order = list(steps)
    for fn, iterator in steps.values():
        for _ in range(5):
            fn(iterator)
    seconds = {key: [] for key in order}
    for r in range(args.repeats):
        for key in order if r % 2 == 0 else order[::-1]:
            fn, iterator = steps[key]
            start = time.perf_counter()
            for _ in range(args.calls):
                logs = fn(iterator)
            float(logs["loss"])  # wait for the last step
            seconds[key].append((time.perf_counter() - start) / args.calls)
    # overhead.py's summary (median of per-round ratios, best vs best), reported in microseconds
    base = seconds["baseline"]
    times = {key: s for n in names for key, s in (((n, "baseline"), base), ((n, "component"), seconds[n]))}
    ratios = {n: [c / b for c, b in zip(seconds[n], base)] for n in names}
    rows = [
        {"component": r["component"], "baseline_us": 1e3 * r["baseline_ms"], "component_us": 1e3 * r["component_ms"],
         "ratio": r["ratio"], "ratio_best": r["ratio_best"]}
        for r in overhead.summarize(times, ratios, names)
    ]
    command = "python benchmarks/ablations.py " + " ".join(argv)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    lines = [
        f"`{command}` — {machine}, Keras {keras.__version__} (tensorflow, XLA); overhead.py's MLP (4x256 relu, "
        f"Adam, batch 256), its compiled train step called {args.calls} times per timing on one fixed batch, "
        f"median of {args.repeats} interleaved per-round ratios to the baseline (no callback).",
        "",
        "| variant | baseline us/step | variant us/step | ratio (median) | best vs best |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(f"| {row['component']} | {row['baseline_us']:.0f} | {row['component_us']:.0f} | {row['ratio']:.3f} | {row['ratio_best']:.3f} |")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": {"command": command, "machine": machine, "keras": keras.__version__}, "results": rows,
                   "raw_seconds_per_step": seconds}, f, indent=1)
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--direct" in argv:
        return direct(argv)
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
