"""What `diagnose(..., try_fixes=True)` costs the user: its wall time on a small MLP and on the demo's network.

Each run is a fresh Python process (the first trace and XLA compile of every probe copy are in
the number, as a user pays them), and times the whole `diagnose` call: the program and data
checks, the probe, the range test when it runs, and the trial of every fix proposed. The
targets (issue 39) are 30 s for a small MLP and 60 s for the demo's 50-layer MLP on 2 cores.

- small MLPs (digits, two ReLU layers of 64, Adam 1e-3: `kerasboost.testing.buggy_programs`):
  healthy; with a ReLU output under a probability loss (a fix to try); on raw inputs with SGD
  (a fix to try); with Adam 100x too high (the range test and a fix to try);
- the demo's network (`kerasboost demo`: 50 Dense(64, relu) layers with Keras's defaults, Adam,
  digits; the demo's probe of 200 steps in 8 epochs).

    python benchmarks/doctor_time.py                 # every case, 2 repeats
    python benchmarks/doctor_time.py --repeats 1 --only demo_50_layer_mlp

Writes `--out`.json and `--out`.md. The process start and the import of TensorFlow, Keras and
kerasboost are not in the number (reported beside it as `process`, the wall time of the whole
child process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROGRAMS = {
    "healthy_digits_mlp": "healthy_digits_mlp",
    "relu_output_mlp": "relu_output_sparse_ce",
    "raw_inputs_sgd_mlp": "raw_features_sgd",
    "adam_100x_too_high_mlp": "learning_rate_100x_too_high",
}
CASES = (*PROGRAMS, "demo_50_layer_mlp")


def one(case: str) -> dict:
    """Build `case`, time `diagnose(..., try_fixes=True)` on it (this process)."""
    import keras

    from kerasboost.doctor import diagnose

    if case in PROGRAMS:
        from kerasboost.testing.buggy_programs import program

        built = program(PROGRAMS[case]).build(0)
        model, x, y, validation = built.model, built.x, built.y, built.validation
        kwargs: dict = {}
    else:
        from kerasboost.cli.demo import build_mlp
        from kerasboost.utils.digits import compile_model, load_data

        x, y, x_val, y_val = load_data("digits", 0)
        keras.utils.set_random_seed(0)
        model = build_mlp(x.shape[1], int(y.max()) + 1, 50, 64, "relu", False)
        compile_model(model, keras.optimizers.Adam(), True)
        validation = (x_val, y_val)
        kwargs = {"steps": 200, "epochs": 8}
    start = time.perf_counter()
    diagnosis = diagnose(model, x, y, validation_data=validation, try_fixes=True, seed=0, **kwargs)
    seconds = time.perf_counter() - start
    return {
        "case": case,
        "seconds": seconds,
        "problems": diagnosis.problems,
        "fixes_tried": len(diagnosis.trials),
        "range_test": diagnosis.range_test is not None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", nargs="+", default=None, choices=CASES)
    parser.add_argument("--out", default="benchmarks/results/doctor_time")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(one(args.child)), flush=True)
        return None
    rows = []
    for case in args.only or CASES:
        runs = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", case], capture_output=True, text=True, check=True
            )
            process = time.perf_counter() - start
            result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
            runs.append({**result, "process": process})
            print(f"{case}: diagnose {result['seconds']:.1f} s (process {process:.1f} s), {result['problems']}")
        rows.append(
            {
                "case": case,
                "median_seconds": statistics.median(r["seconds"] for r in runs),
                "max_seconds": max(r["seconds"] for r in runs),
                "median_process": statistics.median(r["process"] for r in runs),
                "problems": runs[0]["problems"],
                "fixes_tried": runs[0]["fixes_tried"],
                "range_test": runs[0]["range_test"],
                "runs": runs,
            }
        )
    command = ("python benchmarks/doctor_time.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines = [
        f"`{command}` on {machine}; each run a fresh process, {args.repeats} runs per case.",
        "",
        "| case | diagnose, median (s) | max (s) | whole process, median (s) | findings | fixes tried | range test |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['median_seconds']:.1f} | {r['max_seconds']:.1f} | {r['median_process']:.1f} | "
            f"{', '.join(r['problems'])} | {r['fixes_tried']} | {'yes' if r['range_test'] else 'no'} |"
        )
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"command": command, "machine": machine, "rows": rows}, f, indent=1)
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
