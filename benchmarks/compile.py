"""Time to first step and second-`fit` time of kerasboost components vs plain Keras.

What a user pays before the first step (tracing the train step and compiling it with XLA) is
part of a component's cost, and the step-time benchmarks (`overhead.py`) leave it out by
design. Here every measurement runs in a fresh process (nothing cached between
configurations), on the same deep plain MLP (`--depths` x Dense(64, relu) + Dense(10), Adam
unless the component is an optimizer, batch 64, `--samples` samples, `jit_compile=True`):

- first fit: wall time of the first `model.fit(..., epochs=1)` (trace + compile + the steps);
- second fit: the same `fit` call again on the same model (a component that makes Keras
  rebuild the train function pays its compile again here).

Each component is compared with the plain-Keras baseline of the same depth and backend (plain
SGD for the components built on SGD: the SGD wrappers and LARS; plain Adam otherwise),
measured in its own process in the same run (processes alternate baseline / component, so
drift of a shared machine falls on both). The ratio is component / baseline; the second-fit
column reports the difference in seconds (a baseline second fit is a fraction of a second).
Layers are inserted once after the first hidden layer; CNN components (conv layers) use
`overhead.py`'s 3-conv CNN at every depth.

    python benchmarks/compile.py                                  # every component, 10/50/150 layers, TF and JAX
    python benchmarks/compile.py --depths 50 --backends tensorflow --only GradientStatistics SkipNonFinite

Targets (issue "time to first step"): first fit <= 1.5x the baseline at 50 layers, second fit
within 1 s of the baseline's, and no component's first fit growing faster with depth than
the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import harness


def components():
    """name -> {"optimizer": factory, "insert": layer factory, "callbacks": factory, "cnn": dict}."""
    import keras
    from overhead import CNN_PAIRS, LAYER_PAIRS, PAIRS

    from kerasboost import callbacks, schedules

    table = {"baseline (plain Keras, Adam)": {}, "baseline (plain Keras, SGD)": {"optimizer": PAIRS["LARS vs SGD"][0]}}
    for name, (base, make) in PAIRS.items():
        # a component built on SGD (a wrapper of SGD, LARS) is compared with plain SGD, which compiles faster than Adam
        table[name] = {"optimizer": make, "kind": "sgd" if base is PAIRS["LARS vs SGD"][0] else "mlp"}
    extra_schedules = {
        "StepDecay": lambda: schedules.StepDecay(1e-3, 100, 0.5),
        "InverseSqrtDecay": lambda: schedules.InverseSqrtDecay(1e-3, 100),
        "LinearDecay": lambda: schedules.LinearDecay(1e-3, 10_000, 1e-5),
    }
    for name, make in extra_schedules.items():
        table[name] = {"optimizer": lambda make=make: keras.optimizers.Adam(make())}
    table["SAM(model)"] = {"sam": True}
    for name, (_, make) in LAYER_PAIRS.items():
        table[name] = {"insert": make}
    table["GradientStatistics()"] = {"callbacks": lambda: [callbacks.GradientStatistics()]}
    table["GradientStatistics(every_n_steps=10)"] = {
        "callbacks": lambda: [callbacks.GradientStatistics(every_n_steps=10)]
    }
    for name in ("EarlyStopping", "LearningRateWarmup", "ReduceLROnPlateau", "LearningRateLogger", "TimeStopping"):
        from overhead import CALLBACK_PAIRS

        table[name] = {"callbacks": CALLBACK_PAIRS[name]}
    table["StochasticWeightAveraging"] = {"callbacks": lambda: [callbacks.StochasticWeightAveraging()]}
    for name, (_, comp) in CNN_PAIRS.items():
        if "callbacks" not in comp:
            table[name] = {"cnn": comp}
    table["baseline CNN (plain Keras, Adam)"] = {"cnn": {}}
    return table


def measure(name: str, depth: int, samples: int) -> dict:
    """One measurement (run in its own process): first and second fit of `name` at `depth`."""
    import keras
    import numpy as np
    from overhead import _make_optimizer, build, build_cnn

    from kerasboost.optimizers import SAM

    spec = components()[name]
    rng = np.random.default_rng(0)
    if "cnn" in spec:
        model = build_cnn(spec["cnn"].get("conv"), spec["cnn"].get("insert"))
        x = rng.normal(size=(samples, 16, 16, 3)).astype("float32")
    else:
        model = build(64, depth, 64, 10, spec.get("insert"))
        x = rng.normal(size=(samples, 64)).astype("float32")
    if spec.get("sam"):
        model = SAM(model)
    y = rng.integers(0, 10, size=samples)
    optimizer = _make_optimizer(spec.get("optimizer", lambda: keras.optimizers.Adam(1e-3)), model)
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    times = []
    for _ in range(2):
        extra = spec.get("callbacks", list)()
        start = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False, callbacks=extra)
        times.append(time.perf_counter() - start)
    if not model.jit_compile:
        raise RuntimeError(f"{name}: Keras fell back to jit_compile=False")
    return {"first_fit_s": times[0], "second_fit_s": times[1], "variables": len(model.trainable_variables)}


def run_one(name: str, depth: int, backend: str, samples: int, timeout: float) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import compile as c; "
        "print('RESULT ' + json.dumps(c.measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run(
        [sys.executable, "-c", code, here, name, str(depth), str(samples)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{name} (depth {depth}, {backend}) failed:\n{proc.stderr[-3000:]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 50, 150])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--samples", type=int, default=256, help="samples per fit (batch 64)")
    parser.add_argument("--only", nargs="*", default=None, help="names (or parts of names) of components")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per measurement")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="pairs (baseline, component) measured back to back per component; the row reports the medians",
    )
    parser.add_argument("--out", default="benchmarks/results/compile")
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    table = components()
    baselines = {
        "mlp": "baseline (plain Keras, Adam)",
        "sgd": "baseline (plain Keras, SGD)",
        "cnn": "baseline CNN (plain Keras, Adam)",
    }
    names = [n for n in table if n not in baselines.values() and (not args.only or any(o in n for o in args.only))]
    kinds = {n: "cnn" if "cnn" in table[n] else table[n].get("kind", "mlp") for n in names}
    results = []
    for backend in args.backends:
        for depth in args.depths:
            base = {}
            for kind in sorted(set(kinds.values())):
                if (kind == "cnn" and depth != args.depths[0]) or args.repeats > 1:
                    continue
                base[kind] = run_one(baselines[kind], depth, backend, args.samples, args.timeout)
                row = {"component": baselines[kind], "backend": backend, "depth": depth, **base[kind]}
                results.append(row)
                print(json.dumps(row), flush=True)
            for i, name in enumerate(names):
                kind = kinds[name]
                if kind == "cnn" and depth != args.depths[0]:
                    continue
                if args.repeats > 1:
                    row = paired(name, baselines[kind], depth, backend, args)
                else:
                    comp = run_one(name, depth, backend, args.samples, args.timeout)
                    if i % 4 == 3:  # refresh the baseline now and then: drift falls on both sides
                        fresh = run_one(baselines[kind], depth, backend, args.samples, args.timeout)
                        base[kind] = {k: statistics.median([base[kind][k], fresh[k]]) for k in fresh}
                    row = {
                        **comp,
                        "baseline_first_s": base[kind]["first_fit_s"],
                        "baseline_second_s": base[kind]["second_fit_s"],
                        "first_ratio": comp["first_fit_s"] / base[kind]["first_fit_s"],
                        "second_extra_s": comp["second_fit_s"] - base[kind]["second_fit_s"],
                    }
                row = {"component": name, "backend": backend, "depth": depth, **row}
                results.append(row)
                print(json.dumps(row), flush=True)
    write(results, args, argv)


def paired(name: str, baseline: str, depth: int, backend: str, args) -> dict:
    """`args.repeats` pairs measured back to back (baseline first, then the component): the
    medians, and the range of the per-pair ratios (a shared machine's drift moves single
    measurements by tens of percent)."""
    pairs = []
    for _ in range(args.repeats):
        b = run_one(baseline, depth, backend, args.samples, args.timeout)
        c = run_one(name, depth, backend, args.samples, args.timeout)
        pairs.append((b, c))
    ratios = [c["first_fit_s"] / b["first_fit_s"] for b, c in pairs]
    med = statistics.median
    return {
        "first_fit_s": med(c["first_fit_s"] for _, c in pairs),
        "second_fit_s": med(c["second_fit_s"] for _, c in pairs),
        "variables": pairs[0][1]["variables"],
        "baseline_first_s": med(b["first_fit_s"] for b, _ in pairs),
        "baseline_second_s": med(b["second_fit_s"] for b, _ in pairs),
        "first_ratio": med(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        "second_extra_s": med(c["second_fit_s"] - b["second_fit_s"] for b, c in pairs),
    }


def write(results, args, argv):
    import keras

    meta = {
        "command": harness.command_line("compile.py", argv),
        "machine": harness.machine(),
        "keras": keras.__version__,
        "model": f"MLP depth x Dense(64, relu) + Dense(10), batch 64, {args.samples} samples per fit, "
        "jit_compile=True; one process per measurement"
        + (
            f"; median of {args.repeats} back-to-back (baseline, component) pairs, the ratios' range in brackets"
            if args.repeats > 1
            else ""
        ),
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    lines = [
        f"`{meta['command']}` — {meta['machine']}, Keras {meta['keras']}; {meta['model']}.",
        "",
        "| component | backend | layers | first fit s | baseline first fit s | ratio | second fit s | second fit - "
        "baseline's s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if "first_ratio" not in r:
            continue
        lines.append(
            f"| {r['component']} | {r['backend']} | {r['depth'] if 'CNN' not in r['component'] else 'CNN'} "
            f"| {r['first_fit_s']:.1f} | {r['baseline_first_s']:.1f} | {r['first_ratio']:.2f}"
            + (f" ({r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f})" if "ratio_range" in r else "")
            + " "
            f"| {r['second_fit_s']:.2f} | {r['second_extra_s']:+.2f} |"
        )
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
