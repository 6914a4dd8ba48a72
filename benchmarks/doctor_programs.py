"""The doctor on buggy programs written here, each against its correct version, and on healthy ones.

Every program of `kerasboost.testing.buggy_programs.PROGRAMS` (faults of the program, of the
data and of the training dynamics, over dense, convolutional, recurrent, residual and functional
models; multi-class, binary, multi-label, regression and two-output tasks) is built from each
seed with its fault and passed to `diagnose(..., try_fixes=True)` (200 probe steps, the
default). Per program and seed it records:

- whether the first finding names the planted problem (the healthy programs: `healthy`, any
  other finding is a false alarm);
- the repair: `diagnosis.repair()` (the first fix whose trial improved the probe's copy),
  trained for `--epochs` on the whole training set (`repair.prepare` applied to the training
  and validation sets, `repair.fit_kwargs()` passed to `fit`), and the correct version trained
  the same way from the same seed; both scored on the validation set: the accuracy (the
  balanced accuracy for unequal classes, the digit head's accuracy for the two-output model,
  the mean per-attribute accuracy for multi-label) or, for regression, R^2 (unchanged by the
  standardization of the targets). A repair is "as good" when its score is within 0.02 of the
  correct version's or above it;
- the buggy program's own score, a fresh build trained the same way (a fault within 0.02 of the
  correct version as written cost nothing on this backend, and needs no repair: TensorFlow's
  Keras reads the logits behind a softmax / sigmoid output);
- the doctor's wall time (probe, checks, range test and every fix's trial).

Per problem it reports the precision and recall of the first finding. The correct versions are
trained once per seed and shared by the programs that share them.

    python benchmarks/doctor_programs.py                         # every program, seed 0
    python benchmarks/doctor_programs.py --seeds 0 1 --only relu_output_sparse_ce healthy_digits_mlp
    python benchmarks/doctor_programs.py --only NEW_PROGRAM --keep benchmarks/results/doctor_programs.json
                                                                  # one program (re)run into an earlier table

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

import numpy as np

AS_GOOD = 0.02
"""A repaired model is as good as the correct version when its score is at most this much lower."""


def score(model, x, y, kind: str) -> float:
    """The program's score of `model` on `(x, y)`: accuracy, balanced accuracy, or R^2."""
    from kerasboost.diagnostics import program, targets

    outputs = model.predict(x, batch_size=256, verbose=0)
    if isinstance(outputs, dict):  # the two-output program: the digit head
        outputs, y = outputs["digit"], y["digit"]
    outputs, y = np.asarray(outputs, "float64"), np.asarray(y)
    if kind == "r2":
        return targets.r_squared(y.reshape(-1), outputs.reshape(-1))
    setup = program.output_setup(model)
    if y.ndim > 1 and y.shape[-1] > 1 and setup is not None and setup.targets == "binary":  # multi-label
        threshold = 0.0 if setup.from_logits or setup.activation in (None, "linear") else 0.5
        return float(np.mean((outputs > threshold) == (y > 0.5)))
    if outputs.shape[-1] == 1:
        linear = setup is None or setup.from_logits or setup.activation in (None, "linear")
        predicted = (outputs.reshape(-1) > (0.0 if linear else 0.5)).astype("int64")
    else:
        predicted = np.argmax(outputs, axis=-1)
    true = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(-1).astype("int64")
    if outputs.shape[-1] == 1 and np.unique(true).size == 2:  # two labels, whatever their values ({-1, 1})
        true = (true == true.max()).astype("int64")
    if kind == "balanced_accuracy":
        return targets.balanced_accuracy(true, predicted)
    return float(np.mean(predicted == true))


def train_and_score(model, x, y, validation, kind, epochs, seed, **fit_kwargs) -> float:
    import keras

    keras.utils.set_random_seed(seed)
    model.fit(x, y, validation_data=validation, epochs=epochs, batch_size=32, verbose=0, **fit_kwargs)
    return score(model, validation[0], validation[1], kind)


def run_program(name: str, seed: int, epochs: int, correct_scores: dict) -> dict:
    import keras

    from kerasboost.doctor import diagnose
    from kerasboost.testing.buggy_programs import program

    p = program(name)
    keras.backend.clear_session()
    built = p.build(seed)
    start = time.perf_counter()
    diagnosis = diagnose(built.model, built.x, built.y, validation_data=built.validation, try_fixes=True, seed=seed)
    seconds = time.perf_counter() - start
    first = diagnosis.findings[0]
    result = {
        "program": name,
        "family": p.family,
        "kind": p.kind,
        "task": p.task,
        "seed": seed,
        "expected": p.expected,
        "found": diagnosis.problems,
        "first_right": diagnosis.problems[0] == p.expected,
        "fix_offered": first.fix.name if first.fix else None,
        "rejected": [f.rejected.name for f in diagnosis.findings if f.rejected is not None],
        "doctor_seconds": seconds,
        "score_kind": p.score,
        "repair": None,
        "repaired_score": None,
        "correct_score": None,
    }
    if p.family == "healthy":
        return result
    key = (p.build.key, seed)
    if key not in correct_scores:
        keras.backend.clear_session()
        correct = p.build(seed, buggy=False)
        correct_scores[key] = train_and_score(
            correct.model, correct.x, correct.y, correct.validation, p.score, epochs, seed, **correct.fit
        )
    result["correct_score"] = correct_scores[key]
    try:  # the buggy program trained as it is, a fresh build (`built.model` is the one repair() copies)
        fresh = p.build(seed)
        result["buggy_score"] = train_and_score(fresh.model, fresh.x, fresh.y, fresh.validation, p.score, epochs, seed)
    except Exception as e:  # Keras cannot train it (labels out of range, targets of the wrong shape)
        result["buggy_score"], result["buggy_error"] = None, f"{type(e).__name__}"
    if result["buggy_score"] is not None and not math.isfinite(result["buggy_score"]):
        result["buggy_score"] = None
    # a fault that costs nothing here (within AS_GOOD of the correct version as it is) needs no repair
    result["harmless"] = bool(
        result["buggy_score"] is not None and result["buggy_score"] >= result["correct_score"] - AS_GOOD
    )
    try:
        repair = diagnosis.repair()
    except ValueError as e:
        result["repair_error"] = str(e)
        return result
    result["repair"] = repair.fix
    x, y = repair.prepare(built.x, built.y)
    validation = repair.prepare(*built.validation)
    result["repaired_score"] = train_and_score(
        repair.model, x, y, validation, p.score, epochs, seed, **repair.fit_kwargs()
    )
    result["as_good"] = bool(result["repaired_score"] >= result["correct_score"] - AS_GOOD)
    return result


def summarize(results: list[dict]) -> dict:
    """Per problem precision / recall of the first finding; false alarms; repairs as good as the correct version."""
    problems = sorted({r["expected"] for r in results} | {r["found"][0] for r in results})
    per_problem = {}
    for name in problems:
        planted = [r for r in results if r["expected"] == name]
        named = [r for r in results if r["found"][0] == name]
        hits = sum(r["found"][0] == name for r in planted)
        per_problem[name] = {
            "planted": len(planted),
            "named_first": len(named),
            "recall": hits / len(planted) if planted else math.nan,
            "precision": hits / len(named) if named else math.nan,
        }
    buggy = [r for r in results if r["family"] != "healthy"]
    healthy = [r for r in results if r["family"] == "healthy"]
    repaired = [r for r in buggy if r["repaired_score"] is not None]
    seconds = [r["doctor_seconds"] for r in results if math.isfinite(r["doctor_seconds"])]
    return {
        "buggy_runs": len(buggy),
        "first_right": sum(r["first_right"] for r in buggy),
        "healthy_runs": len(healthy),
        "false_alarms": sum(not r["first_right"] for r in healthy),
        "repaired": len(repaired),
        "as_good": sum(r["as_good"] for r in repaired),
        "no_repair": sum(r["repaired_score"] is None and not r.get("harmless") for r in buggy),
        "harmless_unrepaired": sum(r["repaired_score"] is None and bool(r.get("harmless")) for r in buggy),
        "doctor_seconds_median": float(np.median(seconds)) if seconds else math.nan,
        "doctor_seconds_max": float(np.max(seconds)) if seconds else math.nan,
        "per_problem": per_problem,
    }


def _score(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def write(results: list[dict], args, argv) -> dict:
    import keras

    summary = summarize(results)
    meta = {
        "command": "python benchmarks/doctor_programs.py " + " ".join(argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "epochs": args.epochs,
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "summary": summary, "results": results}, f, indent=2, default=str)
    s = summary
    lines = [
        f"`{meta['command']}` on {meta['machine']}, Keras {meta['keras']} ({meta['backend']}, XLA); repaired and "
        f"correct versions trained {args.epochs} epochs.",
        "",
        f"First finding right on {s['first_right']} of {s['buggy_runs']} buggy runs; false alarms on "
        f"{s['false_alarms']} of {s['healthy_runs']} healthy runs; {s['repaired']} repaired, {s['as_good']} of them "
        f"within {AS_GOOD} of the correct version (or better); {s['no_repair']} without a repair where one was needed, "
        f"{s['harmless_unrepaired']} left as they were where the fault cost nothing here (the buggy program within "
        f"{AS_GOOD} of the correct version as it is). Doctor wall time: "
        f"median {s['doctor_seconds_median']:.0f} s, max {s['doctor_seconds_max']:.0f} s.",
        "",
        "| program | family | model / task | planted | first finding | repair | buggy | repaired | correct "
        "| doctor (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        found = r["found"][0] + ("" if r["first_right"] else " **(wrong)**")
        rejected = f" (rejected: {', '.join(r['rejected'])})" if r["rejected"] else ""
        repair = (r["repair"] or "-") + rejected
        mark = "" if r["repaired_score"] is None or r["as_good"] else " **(worse)**"
        lines.append(
            f"| {r['program']} (seed {r['seed']}) | {r['family']} | {r['kind']} / {r['task']} | {r['expected']} | "
            f"{found} | {repair} | {_score(r.get('buggy_score'))} | {_score(r['repaired_score'])}{mark} | "
            f"{_score(r['correct_score'])} ({r['score_kind']}) | {r['doctor_seconds']:.0f} |"
        )
    lines += ["", "| problem | planted | named first | recall | precision |", "|---|---|---|---|---|"]
    for name, row in s["per_problem"].items():
        recall = "-" if math.isnan(row["recall"]) else f"{row['recall']:.2f}"
        precision = "-" if math.isnan(row["precision"]) else f"{row['precision']:.2f}"
        lines.append(f"| {name} | {row['planted']} | {row['named_first']} | {recall} | {precision} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    return summary


def main(argv=None):
    from kerasboost.testing.buggy_programs import PROGRAMS, program

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", default=None, help="program names (default: every program)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of the repaired and correct fits (default 15)")
    parser.add_argument("--out", default="benchmarks/results/doctor_programs")
    parser.add_argument(
        "--keep",
        default=None,
        help="a results .json of an earlier run: its rows are kept, and replaced by this run's for the programs and "
        "seeds it runs again (the table lists the programs in the order of the program table)",
    )
    args = parser.parse_args(argv)
    names = args.only or [p.name for p in PROGRAMS]
    results, correct_scores = [], {}
    kept = []
    if args.keep:
        with open(args.keep) as f:
            kept = [r for r in json.load(f)["results"] if not (r["program"] in names and r["seed"] in args.seeds)]
    order = {p.name: i for i, p in enumerate(PROGRAMS)}

    def table(rows: list[dict]) -> list[dict]:
        return sorted(kept + rows, key=lambda r: (r["seed"], order.get(r["program"], len(order))))

    for seed in args.seeds:
        for name in names:
            try:
                result = run_program(name, seed, args.epochs, correct_scores)
            except Exception as e:  # a crash is a result too: the doctor failed on this program
                p = program(name)
                result = {
                    "program": name, "family": p.family, "kind": p.kind, "task": p.task, "seed": seed,
                    "expected": p.expected, "found": [f"error: {type(e).__name__}"], "first_right": False,
                    "fix_offered": None, "rejected": [], "doctor_seconds": math.nan, "score_kind": p.score,
                    "repair": None, "repaired_score": None, "correct_score": None, "error": f"{type(e).__name__}: {e}",
                }  # fmt: skip
            results.append(result)
            write(table(results), args, argv)  # after every program: a run stopped early keeps what it measured
            print(
                f"{name} seed {seed}: {result['found']} (planted {result['expected']}), repair {result['repair']}: "
                f"{_score(result.get('buggy_score'))} -> {_score(result['repaired_score'])} "
                f"vs correct {_score(result['correct_score'])}, doctor {result['doctor_seconds']:.0f} s",
                flush=True,
            )
    summary = write(table(results), args, argv)
    print(json.dumps({k: v for k, v in summary.items() if k != "per_problem"}))
    return results


if __name__ == "__main__":
    main()
