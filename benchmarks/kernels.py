"""Micro-benchmarks of the kernels behind kerasboost's per-step costs, TensorFlow + XLA.

Each kernel is a `tf.function(jit_compile=True)` called alone, on the tensors of the MLP that
`overhead.py` trains (4 x 256 ReLU on 64 features, 10 classes: 216,586 parameters in 10
variables). Variants of one kernel are timed interleaved (repeat r times: 100 calls of each),
and the minimum over repeats is reported: on a shared machine, interference only adds time.

    python benchmarks/kernels.py                 # about 1 minute on 2 cores
    python benchmarks/kernels.py --only normal

Kernels:
- `normal`: the Gaussian draws of GradientNoise and the noise layers (`kerasboost.utils.random`)
  vs TensorFlow's `stateless_normal` with `alg="philox"` and with `alg="auto_select"` (what
  `keras.random.normal` uses).
- `reductions`: `sum(g ** 2)` of one tensor (65,536 and 4,194,304 entries) by
  kerasboost 0.1's `old_reductions` (slices combined elementwise, then reduced) vs a flat `ops.sum`
  and vs an `(n / 8, 8)` block reduced over its first axis (the form used before).
- `statistics`: the per-layer statistics GradientStatistics computes in the train step, on the
  flat layout it uses (`kerasboost.utils.flat`: every variable in one block matrix, row sums as
  one matrix product, segment sums onto the layers) vs one pass per variable with
  `old_reductions.totals` (0.1's design, whose compile time grew per variable)
  vs a plain `ops.sum` / `ops.max` per variable.
- `optimizers`: one `apply` of each optimizer wrapper (and LARS) vs its inner optimizer (SGD),
  which is all a wrapper adds to a step.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import harness
import keras
import numpy as np
import old_reductions as reductions
from keras import ops

import kerasboost
from kerasboost import optimizers
from kerasboost.callbacks._gradients import graph
from kerasboost.utils import random
from kerasboost.utils.flat import FlatLayout

SHAPES = [(64, 256), (256,), (256, 256), (256,), (256, 256), (256,), (256, 256), (256,), (256, 10), (10,)]
PARAMETERS = sum(int(np.prod(s)) for s in SHAPES)


def _tensors(scale, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=scale, size=s).astype("float32") for s in SHAPES]


def normal_kernels(tf):
    generator = keras.random.SeedGenerator(0)
    seed = tf.Variable([1, 2], dtype="int32")
    shape = (PARAMETERS,)
    return {
        "kerasboost.utils.random.normal (erfinv of a Philox uniform)": lambda: random.normal(
            shape, "float32", generator
        ),
        'tf.random.stateless_normal(alg="philox") (Box-Muller)': lambda: tf.random.stateless_normal(
            shape, seed=seed, alg="philox"
        ),
        'tf.random.stateless_normal(alg="auto_select") (keras.random.normal)': lambda: tf.random.stateless_normal(
            shape, seed=seed, alg="auto_select"
        ),
    }


def reduction_kernels(tf):
    kernels = {}
    for n in (65_536, 4_194_304):
        g = tf.constant(np.random.default_rng(0).normal(size=n).astype("float32"))
        reference = float(np.sum(g.numpy().astype("float64") ** 2))
        variants = {
            "sliced (kerasboost 0.1, old_reductions.squared_norm)": lambda g=g: reductions.squared_norm(g),
            "flat ops.sum": lambda g=g: ops.sum(ops.square(g)),
            "(n / 8, 8) block, axis 0 first": lambda g=g: ops.sum(ops.sum(ops.square(ops.reshape(g, (-1, 8))), axis=0)),
        }
        for name, fn in variants.items():
            np.testing.assert_allclose(float(fn()), reference, rtol=1e-4)
            kernels[f"sum(g ** 2), {n:,} entries: {name}"] = _closure(fn)
    one = tf.constant(1.0)
    kernels["an empty compiled call (the floor every kernel here includes)"] = lambda: one + 1.0
    return kernels


def _closure(fn):
    """tf.function turns a lambda's default arguments into inputs: bind them in a closure."""
    return lambda: fn()


def statistics_kernels(tf):
    grads = [tf.constant(g) for g in _tensors(0.01, 0)]
    before = [tf.constant(w) for w in _tensors(0.05, 1)]
    after = [w - 0.1 * g for w, g in zip(before, grads)]
    layers = [i // 2 for i in range(len(SHAPES))]  # a kernel and a bias per layer
    layout = FlatLayout(SHAPES, layers)

    def flat_layout():
        return ops.concatenate(
            [graph.gradient_columns(layout, grads), graph.update_columns(layout, before, after)], axis=1
        )

    def per_variable(reduce):
        def statistics():
            rows = []
            for g, a, b in zip(grads, before, after):
                sums = reduce(
                    [g, a, b],
                    (
                        lambda g, a, b: ops.square(g),
                        lambda g, a, b: ops.cast(ops.equal(g, 0.0), "float32"),
                        lambda g, a, b: ops.square(b - a),
                        lambda g, a, b: ops.square(a),
                    ),
                )
                rows.append(ops.concatenate([sums, ops.reshape(ops.max(ops.abs(g)), (1,))], axis=0))
            rows = ops.stack(rows)  # per variable: |g|^2, zeros, |dw|^2, |w|^2, max |g|
            ids = ops.convert_to_tensor(np.array(layers, "int32"))
            sums = ops.segment_sum(rows[:, :4], ids, num_segments=layers[-1] + 1)
            top = ops.segment_max(rows[:, 4], ids, num_segments=layers[-1] + 1)
            zeros = ops.zeros_like(top)
            return ops.stack(
                [ops.sqrt(sums[:, 0]), top, sums[:, 1], zeros, ops.sqrt(sums[:, 2]), ops.sqrt(sums[:, 3])], axis=1
            )

        return statistics

    one_pass = per_variable(lambda xs, fs: reductions.totals(xs, sums=fs))
    plain = per_variable(lambda xs, fs: ops.stack([ops.sum(f(*xs)) for f in fs]))
    expected = np.asarray(plain())
    for fn in (flat_layout, one_pass):
        np.testing.assert_allclose(np.asarray(fn()), expected, rtol=1e-4)
    return {
        "flat layout, row sums as one product, segment sums (GradientStatistics)": flat_layout,
        "one pass per variable (old_reductions.totals; 0.1's design)": one_pass,
        "flat ops.sum / ops.max per variable": plain,
    }


def optimizer_kernels(tf):
    grads = [tf.constant(g) for g in _tensors(0.01, 0)]
    sgd = lambda: keras.optimizers.SGD(0.01, momentum=0.9)  # noqa: E731
    adam = lambda: keras.optimizers.Adam(1e-3)  # noqa: E731
    makers = {
        "SGD(momentum)": sgd,
        "GradientNoise(SGD)": lambda: optimizers.GradientNoise(sgd(), seed=0),
        "AdaptiveGradientClipping(SGD)": lambda: optimizers.AdaptiveGradientClipping(sgd()),
        "GradientCentralization(SGD)": lambda: optimizers.GradientCentralization(sgd()),
        "LARS": lambda: optimizers.LARS(0.01, momentum=0.9),
        "Adam": adam,
        "Lookahead(Adam)": lambda: optimizers.Lookahead(adam()),
        "SkipNonFinite(Adam)": lambda: optimizers.SkipNonFinite(adam()),
    }

    def step(make):  # a closure: tf.function would turn default arguments into inputs
        variables = [keras.Variable(w) for w in _tensors(0.05, 1)]
        optimizer = make()
        optimizer.build(variables)
        return lambda: optimizer.apply(grads, variables)

    return {name: step(make) for name, make in makers.items()}


GROUPS = {
    "normal": normal_kernels,
    "reductions": reduction_kernels,
    "statistics": statistics_kernels,
    "optimizers": optimizer_kernels,
}


def time_group(kernels, repeats, calls):
    import tensorflow as tf

    compiled = {name: tf.function(fn, jit_compile=True) for name, fn in kernels.items()}
    for fn in compiled.values():  # compile
        fn()
    seconds = {name: [] for name in compiled}
    for _ in range(repeats):
        for name, fn in compiled.items():
            start = time.perf_counter()
            for _ in range(calls):
                out = fn()
            tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)  # wait for the last call
            seconds[name].append((time.perf_counter() - start) / calls)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--only", nargs="*", choices=list(GROUPS), default=None)
    parser.add_argument("--out", default="benchmarks/results/kernels")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("kernels.py measures TensorFlow's XLA kernels: run it with KERAS_BACKEND=tensorflow")
    import tensorflow as tf

    results = {}
    for group in args.only or GROUPS:
        seconds = time_group(GROUPS[group](tf), args.repeats, args.calls)
        results[group] = {
            name: {"min_us": 1e6 * min(s), "median_us": 1e6 * float(np.median(s))} for name, s in seconds.items()
        }
        for name, r in results[group].items():
            print(f"{group:10s} {name:70s} min {r['min_us']:9.1f} us  median {r['median_us']:9.1f} us", flush=True)

    command = "python benchmarks/kernels.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    machine = harness.machine()
    lines = [
        f"`{command.strip()}` — {machine}, Keras {keras.__version__}, TensorFlow {tf.__version__} (XLA), "
        f"kerasboost {kerasboost.__version__}. One compiled call on the tensors of overhead.py's MLP "
        f"({PARAMETERS:,} parameters); minimum and median over {args.repeats} repeats of {args.calls} calls.",
        "",
        "| kernel | variant | min (us) | median (us) |",
        "| --- | --- | --- | --- |",
    ]
    for group, rows in results.items():
        for name, r in rows.items():
            lines.append(f"| {group} | {name} | {r['min_us']:.1f} | {r['median_us']:.1f} |")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"command": command.strip(), "machine": machine, "results": results}, f, indent=1)
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
