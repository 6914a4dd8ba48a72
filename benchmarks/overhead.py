"""Per-step overhead of kerasboost components vs the nearest plain-Keras baseline.

Each pair (baseline, component) trains the same MLP on the same synthetic batch
stream under `jit_compile=True`; all configurations are timed interleaved in one
process (repeat r times: one timed epoch of each), and the median step time is
reported with the ratio component / baseline.

    python benchmarks/overhead.py                       # about 5 minutes on 2 cores
    python benchmarks/overhead.py --repeats 3 --steps 20 --only Lookahead

Targets (issue: benchmarks): <= 1.03x for schedules and optimizer wrappers.
Works on every backend (KERAS_BACKEND=jax for the GPU run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasboost import optimizers, schedules  # noqa: E402


def adam(lr=1e-3):
    return keras.optimizers.Adam(lr)


def sgd(lr=1e-2):
    return keras.optimizers.SGD(lr, momentum=0.9)


# name -> (baseline optimizer factory, component optimizer factory)
PAIRS = {
    "Warmup(CosineDecay)": (adam, lambda: keras.optimizers.Adam(schedules.Warmup(keras.optimizers.schedules.CosineDecay(1e-3, 10_000), 100))),
    "OneCycle": (adam, lambda: keras.optimizers.Adam(schedules.OneCycle(1e-3, 10_000))),
    "CyclicalLearningRate": (adam, lambda: keras.optimizers.Adam(schedules.CyclicalLearningRate(1e-4, 1e-3, 500))),
    "CosineRestarts": (adam, lambda: keras.optimizers.Adam(schedules.CosineRestarts(1e-3, 500, 2.0, 0.9, warmup_steps=10))),
    "WarmupStableDecay": (adam, lambda: keras.optimizers.Adam(schedules.WarmupStableDecay(1e-3, 10_000, 100))),
    "SequentialSchedule": (adam, lambda: keras.optimizers.Adam(schedules.SequentialSchedule([schedules.Warmup(1e-3, 100), schedules.OneCycle(1e-3, 9_000)], [100]))),
    "Lookahead(Adam)": (adam, lambda: optimizers.Lookahead(adam())),
    "GradientNoise(SGD)": (sgd, lambda: optimizers.GradientNoise(sgd(), seed=0)),
    "AdaptiveGradientClipping(SGD)": (sgd, lambda: optimizers.AdaptiveGradientClipping(sgd())),
    "GradientCentralization(SGD)": (sgd, lambda: optimizers.GradientCentralization(sgd())),
    "SkipNonFinite(Adam)": (adam, lambda: optimizers.SkipNonFinite(adam())),
    "RectifiedAdam vs Adam": (adam, lambda: optimizers.RectifiedAdam(1e-3)),
    "AdaBelief vs Adam": (adam, lambda: optimizers.AdaBelief(1e-3)),
    "LARS vs SGD": (sgd, lambda: optimizers.LARS(1e-2)),
}


def build(width, depth, features, classes):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((features,))]
    layers += [keras.layers.Dense(width, activation="relu") for _ in range(depth)]
    layers.append(keras.layers.Dense(classes))
    return keras.Sequential(layers)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--only", nargs="*", default=None, help="names of PAIRS to run")
    parser.add_argument("--out", default="benchmarks/results/overhead")
    args = parser.parse_args(argv)

    names = [n for n in PAIRS if not args.only or any(o in n for o in args.only)]
    rng = np.random.default_rng(0)
    n = args.steps * args.batch_size
    x = rng.normal(size=(n, 64)).astype("float32")
    y = rng.integers(0, 10, size=n)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    models = {}
    for name in names:
        for role, factory in zip(("baseline", "component"), PAIRS[name]):
            model = build(args.width, args.depth, 64, 10)
            model.compile(factory(), loss, jit_compile=True)
            model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)  # compile + warm up
            models[(name, role)] = model

    # Pairs are timed back to back, in alternating order, and the ratio is the median of the
    # per-repeat ratios: drift of a shared 2-core machine cancels within a pair.
    times = {key: [] for key in models}
    ratios = {name: [] for name in names}
    for r in range(args.repeats):
        for name in names:
            roles = ("baseline", "component") if r % 2 == 0 else ("component", "baseline")
            for role in roles:
                model = models[(name, role)]
                start = time.perf_counter()
                model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False)
                times[(name, role)].append((time.perf_counter() - start) / args.steps)
            ratios[name].append(times[(name, "component")][-1] / times[(name, "baseline")][-1])

    rows = []
    for name in names:
        base = statistics.median(times[(name, "baseline")])
        comp = statistics.median(times[(name, "component")])
        ratio = statistics.median(ratios[name])
        spread = (min(ratios[name]), max(ratios[name]))
        rows.append({"component": name, "baseline_ms": 1000 * base, "component_ms": 1000 * comp, "ratio": ratio, "ratio_range": spread})
        print(f"{name:32s} {1000 * base:8.3f} ms {1000 * comp:8.3f} ms  x{ratio:.3f}", flush=True)

    meta = {
        "command": "python benchmarks/overhead.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "model": f"MLP {args.depth}x{args.width} relu, batch {args.batch_size}, {args.steps} steps per timed epoch, median of {args.repeats} back-to-back pair ratios",
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "results": rows, "raw_seconds_per_step": {f"{k[0]}|{k[1]}": v for k, v in times.items()}}, f, indent=1)
    lines = [
        f"`{meta['command']}` — {meta['machine']}, Keras {meta['keras']} ({meta['backend']}, XLA); {meta['model']}.",
        "",
        "| component | baseline | baseline ms/step | component ms/step | ratio (median) | ratio range |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row, name in zip(rows, names):
        baseline = "SGD(momentum)" if PAIRS[name][0] is sgd else "Adam, constant LR"
        low, high = row["ratio_range"]
        lines.append(
            f"| {row['component']} | {baseline} | {row['baseline_ms']:.3f} | {row['component_ms']:.3f} "
            f"| {row['ratio']:.3f} | {low:.2f}-{high:.2f} |"
        )
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
