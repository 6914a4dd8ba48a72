"""The doctor on two buggy programs: `diagnose` -> `repair()` -> `fit`, against the program as written.

- A program bug: a digits classifier whose output layer is `Dense(10, activation="relu")`,
  trained with `SparseCategoricalCrossentropy()` (which expects probabilities).
- A data bug: the same kind of classifier (its output right) fed the raw pixel counts times 8
  (features up to about 130), trained with `SGD(0.01, momentum=0.9)`.

Both are planted cases of `kerasboost.testing.sick_models`. For each, the script trains the
program as written for `--epochs`, runs `diagnose(..., try_fixes=True)` on it (the model is not
touched), trains `diagnosis.repair().model` with `repair.fit_kwargs()` for the same epochs, and
prints the best validation accuracy of both. The table in `docs/guides/doctor.md` is this
script's output (seed 0).

    python examples/doctor_repair.py            # about two minutes on 2 cores
    python examples/doctor_repair.py --quick    # seconds: the CI smoke test
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from kerasboost.doctor import diagnose
from kerasboost.testing.sick_models import case

PROGRAMS = {"program bug": "relu_output_probability_loss", "data bug": "unscaled_inputs_sgd"}


def best_accuracy(model, x, y, validation, epochs, **fit_kwargs):
    history = model.fit(x, y, validation_data=validation, batch_size=32, epochs=epochs, verbose=0, **fit_kwargs)
    return max(history.history["val_accuracy"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    epochs, steps = (1, 48) if args.quick else (args.epochs, 200)
    rows = []
    for kind, name in PROGRAMS.items():
        keras.utils.set_random_seed(args.seed)
        model, x, y, validation = case(name).build(args.seed, jit_compile=not args.quick)
        diagnosis = diagnose(model, x, y, validation_data=validation, steps=steps, try_fixes=True, seed=args.seed)
        try:
            repair = diagnosis.repair()
        except ValueError as e:  # no fix proven on this model: nothing to train
            print(f"{kind}: {e}")
            repair = None
        as_written = best_accuracy(model, x, y, validation, epochs)
        repaired = best_accuracy(repair.model, x, y, validation, epochs, **repair.fit_kwargs()) if repair else None
        fix = repair.fix if repair else "-"
        rows.append((kind, diagnosis.problems[0], fix, as_written, repaired, diagnosis.seconds))
    print("| program | found | repair | best val accuracy as written | repaired | doctor (s) |")
    print("|---|---|---|---|---|---|")
    for kind, problem, fix, before, after, seconds in rows:
        shown = "-" if after is None else f"{after:.3f}"
        print(f"| {kind} | `{problem}` | `{fix}` | {before:.3f} | {shown} | {seconds:.0f} |")
    print(f"({epochs} epoch(s) each, seed {args.seed})")
    if args.quick:
        print("(--quick is a smoke run, too short to show the effect: the full table is in docs/guides/doctor.md)")
    return rows


if __name__ == "__main__":
    main()
