"""Where the per-step cost of GradientStatistics and Lookahead goes: ablated variants timed like overhead.py.

Each variant is the kerasboost component with one part removed (so it is no longer correct: these
are for timing only), timed against the same baseline as the component, by `overhead.py`'s
harness (interleaved pairs, median of per-repeat ratios and best vs best):

    GradientStatistics variants (recording every step, reading every 100):
      no statistics       the callback's plumbing only: the patched `apply`, the pre-update weights
                          carried through the step, the buffers
      update statistics   + the update and weight norms alone (no gradient statistics)
      gradient statistics + the four gradient statistics (no update and weight norms)
      no NaN/Inf masking  every statistic, the gradient ones without masking and counting NaN/Inf
      no maximum          as the previous one, without max |g| (sums only)
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

import harness
import overhead  # sets the backend
from keras import ops

from kerasboost import callbacks, optimizers
from kerasboost.callbacks._gradients import graph
from kerasboost.optimizers.wrapper import run_if


def _zeros(layout, columns):
    return ops.zeros((len(layout.layers), columns), "float32")


def _gradient_columns_unmasked(layout, grads, max_abs=True):
    """The gradient columns without the NaN/Inf masking and count (and without max |g|)."""
    g = layout.flat(grads)
    sums = layout.group_sums(layout.row_sums([ops.square(g), ops.cast(ops.equal(g, 0.0), "float32")]))
    top = layout.group_maxima(ops.max(ops.abs(g), axis=1)) if max_abs else ops.zeros((len(layout.layers),), "float32")
    return ops.stack([ops.sqrt(sums[:, 0]), top, sums[:, 1], ops.zeros_like(top)], axis=1)


def _statistics_callback(gradient, update, masked=True, max_abs=True):
    """A GradientStatistics recording every step whose rows hold only the named statistics (zeros
    elsewhere); the rest of the callback - buffers, recording, reading - is the real one."""

    def statistics(layout, grads, before, after, record, every_n_steps):
        if gradient:
            g = graph.gradient_columns(layout, grads) if masked else _gradient_columns_unmasked(layout, grads, max_abs)
        else:
            g = _zeros(layout, graph.DW_NORM)
        u = graph.update_columns(layout, before, after) if update else _zeros(layout, len(graph.FIELDS) - graph.DW_NORM)
        return ops.concatenate([g, u], axis=1)

    class Ablated(callbacks.GradientStatistics):
        _statistics = staticmethod(statistics)

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
    "GradientStatistics: no NaN/Inf masking": ("callback", _statistics_callback(True, True, masked=False)),
    "GradientStatistics: no maximum": ("callback", _statistics_callback(True, True, masked=False, max_abs=False)),
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
    import time

    import keras

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
        "GradientStatistics(every step, read every 100)": overhead.CALLBACK_PAIRS[
            "GradientStatistics(every step, read every 100)"
        ],
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
        {
            "component": r["component"],
            "baseline_us": 1e3 * r["baseline_ms"],
            "component_us": 1e3 * r["component_ms"],
            "ratio": r["ratio"],
            "ratio_best": r["ratio_best"],
        }
        for r in harness.summarize(times, ratios, names)
    ]
    command = "python benchmarks/ablations.py " + " ".join(argv)
    machine = harness.machine()
    lines = [
        f"`{command}` — {machine}, Keras {keras.__version__} (tensorflow, XLA); overhead.py's MLP (4x256 relu, "
        f"Adam, batch 256), its compiled train step called {args.calls} times per timing on one fixed batch, "
        f"median of {args.repeats} interleaved per-round ratios to the baseline (no callback).",
        "",
        "| variant | baseline us/step | variant us/step | ratio (median) | best vs best |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['component']} | {row['baseline_us']:.0f} | {row['component_us']:.0f} | {row['ratio']:.3f} | "
            f"{row['ratio_best']:.3f} |"
        )
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(
            {
                "meta": {"command": command, "machine": machine, "keras": keras.__version__},
                "results": rows,
                "raw_seconds_per_step": seconds,
            },
            f,
            indent=1,
        )
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
