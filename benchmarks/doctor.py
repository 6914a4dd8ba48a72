"""The doctor on the planted sick models: precision / recall of its findings and what each fix buys.

Every case of `kerasboost.testing.sick_models.CASES` (deep sigmoid / ReLU MLPs, a saturating
tanh gain, a learning rate 10x too high (Adam at 0.1) and one 1000x too low (1e-6), NaN in the inputs, a wide MLP on 96
rows, a CNN with a dead ReLU block, an un-normalized residual stack, and healthy controls) is
built from each seed and passed to `diagnose(..., try_fixes=True)` (the same probe as the
tests: 160 steps). Per case and seed it records:

- the findings, against the planted problems: `first` is right when the first finding is the
  planted one; recall counts the planted problems named; precision counts the named problems
  that were planted (a secondary finding that is true but not planted, e.g. dead units beside
  vanishing gradients, counts against it: a lower bound);
- the fix proposed for the first finding, against the one for the cause;
- every fix tried: the probe's validation loss before and after (a fresh copy, the same data
  and seed), and whether it went down.

    python benchmarks/doctor.py                      # every case, seeds 0 1 2
    python benchmarks/doctor.py --seeds 0 --only healthy_mlp nan_in_inputs

Writes `--out`.json (raw) and `--out`.md (the tables of docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_case(name: str, seed: int, steps: int) -> dict:
    import keras

    from kerasboost.doctor import diagnose
    from kerasboost.testing.sick_models import case

    planted = case(name)
    keras.backend.clear_session()
    model, x, y, validation = planted.build(seed)
    start = time.perf_counter()
    diagnosis = diagnose(model, x, y, validation_data=validation, steps=steps, try_fixes=True, seed=seed)
    seconds = time.perf_counter() - start
    first = diagnosis.findings[0]
    trials = []
    for finding in diagnosis.findings:
        tried = finding.fix or finding.rejected  # a fix whose trial did not improve is rejected
        if tried is None or finding.trial is None or tried.name in {t["fix"] for t in trials}:
            continue  # findings that share a fix share its one trial
        before, after = finding.trial["values"].get("val_loss", (math.nan, math.nan))  # absent: targets rescaled
        trials.append(
            {
                "problem": finding.problem,
                "fix": tried.name,
                "val_loss_before": before,
                "val_loss_after": after,
                "improved": finding.trial["improved"],
            }
        )
    return {
        "case": name,
        "seed": seed,
        "planted": list(planted.expected),
        "found": diagnosis.problems,
        "first_right": diagnosis.problems[0] == planted.expected[0],
        "fix_expected": planted.fix,
        "fix_proposed": first.fix.name if first.fix else None,
        "trials": trials,
        "seconds": seconds,
    }


def summarize(results: list[dict]) -> dict:
    """Precision / recall over all runs, and per fix the share of trials that lowered the validation loss."""
    named = sum(len(set(r["planted"]) & set(r["found"])) for r in results)
    planted = sum(len(r["planted"]) for r in results)
    found = sum(len(r["found"]) for r in results)
    fixes: dict[str, list] = {}
    for r in results:
        for t in r["trials"]:
            fixes.setdefault(t["fix"], []).append(t)
    return {
        "runs": len(results),
        "first_right": sum(r["first_right"] for r in results),
        "fix_right": sum(r["fix_proposed"] == r["fix_expected"] for r in results),
        "precision": named / found if found else math.nan,
        "recall": named / planted if planted else math.nan,
        "fixes": {k: {"tried": len(v), "improved": sum(t["improved"] for t in v)} for k, v in fixes.items()},
    }


def _loss(value: float) -> str:
    if math.isnan(value):  # a blocking finding: the model as it was could not train
        return "(no training)"
    return f"{value:.3f}" if math.isfinite(value) else str(value)


def write(results: list[dict], args, argv) -> None:
    summary = summarize(results)
    meta = {
        "command": "python benchmarks/doctor.py " + " ".join(argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    import keras

    meta["keras"] = keras.__version__
    meta["backend"] = keras.backend.backend()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "summary": summary, "results": results}, f, indent=2, default=str)
    lines = [
        f"`{meta['command']}` on {meta['machine']}, Keras {meta['keras']} ({meta['backend']}, XLA).",
        "",
        f"First finding right in {summary['first_right']} of {summary['runs']} runs; the fix for the cause proposed "
        f"in {summary['fix_right']} of {summary['runs']}; recall {summary['recall']:.2f}, precision "
        f"{summary['precision']:.2f} (every named problem that was not planted counts against it).",
        "",
        "| case | seed | planted | found | fix proposed | fix tried: val_loss before -> after | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        tried = "; ".join(
            f"{t['fix']}: {_loss(t['val_loss_before'])} -> {_loss(t['val_loss_after'])}"
            + ("" if t["improved"] else " (not better)")
            for t in r["trials"]
        )
        lines.append(
            f"| {r['case']} | {r['seed']} | {', '.join(r['planted'])} | {', '.join(r['found'])} | "
            f"{r['fix_proposed'] or '-'} | {tried or '-'} | {r['seconds']:.0f} |"
        )
    lines += ["", "| fix | tried | lowered the validation loss |", "|---|---|---|"]
    for name, counts in summary["fixes"].items():
        lines.append(f"| {name} | {counts['tried']} | {counts['improved']} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    from kerasboost.testing.sick_models import CASES

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=None, help="case names (default: every case)")
    parser.add_argument("--steps", type=int, default=160, help="probe steps (default 160, as in the tests)")
    parser.add_argument("--out", default="benchmarks/results/doctor")
    args = parser.parse_args(argv)
    names = args.only or [c.name for c in CASES]
    results = []
    for seed in args.seeds:
        for name in names:
            result = run_case(name, seed, args.steps)
            results.append(result)
            print(
                f"{name} seed {seed}: found {result['found']} (planted {result['planted']}), "
                f"fix {result['fix_proposed']}, {result['seconds']:.0f} s",
                flush=True,
            )
    write(results, args, argv)
    return results


if __name__ == "__main__":
    main()
