"""`kerasboost doctor MODEL.keras DATA.npz`: `diagnose` from the shell, with a report, figures and JSON."""

from __future__ import annotations

import argparse
import json
import math
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a compiled model saved with model.save('name.keras')")
    parser.add_argument("data", help="a .npz file with the inputs and targets (np.savez('data.npz', x=..., y=...))")
    parser.add_argument("--x", default="x", help="the inputs' name in the .npz file (default x)")
    parser.add_argument("--target", default="y", help="the targets' name in the .npz file (default y)")
    parser.add_argument(
        "--validation",
        default=None,
        help="names of validation inputs and targets in the .npz file, 'x_val,y_val' "
        "(default: those two if present, else --validation-split of the rows)",
    )
    parser.add_argument("--validation-split", type=float, default=0.2, help="default 0.2")
    parser.add_argument("--steps", type=int, default=200, help="training steps of the probe (default 200)")
    parser.add_argument("--epochs", type=int, default=8, help="probe epochs (default 8)")
    parser.add_argument("--batch-size", type=int, default=32, help="default 32")
    parser.add_argument("--try-fixes", action="store_true", help="apply each fix to a copy and probe it again")
    parser.add_argument(
        "--repair",
        default=None,
        metavar="OUT.keras",
        help="save the model with the fix its trial proved (implies --try-fixes); nothing is saved when no fix was",
    )
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument("--out", default="kerasboost-doctor", help="folder for the figures and diagnosis.json")


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


def run(args: argparse.Namespace) -> int:
    import numpy as np

    for path in (args.model, args.data):
        if not os.path.exists(path):
            raise SystemExit(f"kerasboost doctor: no file {path!r}")
    import keras

    from kerasboost.doctor import diagnose

    model = keras.saving.load_model(args.model)
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise SystemExit(
            f"kerasboost doctor: {args.model} holds a model saved without compile(); compile it, then model.save()"
        )
    arrays = np.load(args.data)
    for key in (args.x, args.target):
        if key not in arrays:
            raise SystemExit(f"kerasboost doctor: {args.data} has no array {key!r} (it has {sorted(arrays.files)})")
    validation = None
    names = args.validation.split(",") if args.validation else ["x_val", "y_val"]
    if len(names) != 2:
        raise SystemExit(f"kerasboost doctor: --validation takes two names 'x_val,y_val', got {args.validation!r}")
    if all(name in arrays for name in names):
        validation = (arrays[names[0]], arrays[names[1]])
    elif args.validation:
        raise SystemExit(f"kerasboost doctor: {args.data} has no arrays {names} (it has {sorted(arrays.files)})")
    try:
        diagnosis = diagnose(
            model,
            arrays[args.x],
            arrays[args.target],
            validation_data=validation,
            validation_split=args.validation_split,
            steps=args.steps,
            epochs=args.epochs,
            batch_size=args.batch_size,
            try_fixes=args.try_fixes or bool(args.repair),
            seed=args.seed,
        )
    except ValueError as e:
        raise SystemExit(f"kerasboost doctor: {e}") from e
    print(diagnosis)
    paths = diagnosis.plot(args.out)
    report = os.path.join(args.out, "diagnosis.json")
    with open(report, "w") as f:
        json.dump(_json_safe(diagnosis.to_dict()), f, indent=2)
    written = [*paths, report]
    status = 0
    if args.repair:
        try:
            repair = diagnosis.repair()
        except ValueError as e:
            print(f"\nno repaired model written: {e}")
            status = 1
        else:
            repair.model.save(args.repair)
            written.append(args.repair)
            print(f"\nrepaired ({repair.fix}): {repair.description}")
            for note in repair.notes:
                print(f"  and in the data: {note}")
            if repair.callbacks:
                names = ", ".join(type(c).__name__ for c in repair.callbacks)
                print(f"  train it with the callbacks the fix used: {names}")
    print("\nwrote " + ", ".join(written))
    return status
