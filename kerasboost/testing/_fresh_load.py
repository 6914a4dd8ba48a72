"""Child process of `check_saving`: load `.keras` files after `import kerasboost` only.

Usage: `python -m kerasboost.testing._fresh_load MANIFEST.json REPORT.json`.
MANIFEST.json: `{"imports": [modules to import besides kerasboost], "cases": [...]}`.
Writes `{case name: None | failure message}` to REPORT.json.
"""

from __future__ import annotations

import gc
import importlib
import json
import sys

from kerasboost.testing.contract import compare_arrays, predict


def _check_entry(keras, np, entry: dict) -> None:
    arrays = np.load(entry["arrays"])
    tolerance = entry["tolerance"]

    model = keras.saving.load_model(entry["model"], safe_mode=True)
    x, y = arrays["x"], arrays["y"]
    compare_arrays("predictions after loading", arrays["prediction"], predict(model, x), tolerance)
    if model.optimizer is None:
        raise AssertionError("the loaded model has no optimizer")
    state = model.optimizer.variables
    if len(state) != entry["state"]:
        raise AssertionError(f"optimizer has {len(state)} variables, saved {entry['state']}")
    for j, variable in enumerate(state):
        compare_arrays(
            f"optimizer variable {variable.path}", arrays[f"state{j}"], keras.ops.convert_to_numpy(variable), tolerance
        )
    if model.jit_compile is not entry["jit_compile"]:
        raise AssertionError(f"the loaded model has jit_compile={model.jit_compile!r}, saved {entry['jit_compile']!r}")
    model.fit(x, y, batch_size=entry["batch_size"], epochs=1, shuffle=False, verbose=0)
    weights = model.get_weights()
    if len(weights) != entry["weights"]:
        raise AssertionError(f"{len(weights)} weights after loading, saved {entry['weights']}")
    for j, w in enumerate(weights):
        compare_arrays(f"weight {j} after resuming training", arrays[f"resumed{j}"], w, tolerance)


def main(argv: list[str]) -> int:
    manifest_path, report_path = argv
    import keras
    import numpy as np

    import kerasboost  # noqa: F401 - the only import a user needs

    with open(manifest_path) as f:
        manifest = json.load(f)
    for module in manifest["imports"]:
        importlib.import_module(module)
    # What the imports left alive is never scanned by the collector again, and each case ends
    # without a full collection (`clear_session`'s default): after importing TensorFlow one
    # took about 0.5 s, paid per case; what a case leaves behind is freed by the automatic one.
    gc.collect()
    gc.freeze()
    report: dict[str, str | None] = {}
    for entry in manifest["cases"]:
        try:
            _check_entry(keras, np, entry)
            report[entry["name"]] = None
        except Exception as e:  # every failure is reported per case
            report[entry["name"]] = f"{type(e).__name__}: {e}"
        keras.backend.clear_session(free_memory=False)
    with open(report_path, "w") as f:
        json.dump(report, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
