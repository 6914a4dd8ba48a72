"""keras.distribution.DataParallel over 2 CPU devices vs one device, JAX backend (run by
test_data_parallel.py; the cases are parity_cases.py's, as on TensorFlow's MirroredStrategy).

Usage: python data_parallel_parity.py OUT.json — writes {case: {"max_diff": float} or {"error": str}}.
"""

import json
import os
import sys
import traceback

os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_cases import CASES, XI, X, Y  # noqa: E402

from kerasboost import callbacks  # noqa: E402


def train(name, distribution):
    build, optimizer, make_callbacks = CASES[name]
    keras.distribution.set_distribution(distribution)
    try:
        keras.utils.set_random_seed(0)
        model = build()
        model.compile(optimizer(), "mse", jit_compile=True)
        x = XI if len(model.inputs[0].shape) == 4 else X
        cbs = make_callbacks()
        history = model.fit(x, Y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=cbs)
        extra = []
        for c in cbs:
            if isinstance(c, callbacks.GradientStatistics):
                extra = [r["grad_norm"] for r in c.records]
        shards = len(model.trainable_variables[0].value.sharding.device_set)
        return [np.asarray(w) for w in model.get_weights()], history.history["loss"], extra, shards
    finally:
        keras.distribution.set_distribution(None)


def main(out):
    devices = jax.devices("cpu")
    assert len(devices) == 2, devices
    results = {}
    for name in CASES:
        try:
            a, la, ea, _ = train(name, None)
            b, lb, eb, devices_used = train(name, keras.distribution.DataParallel(devices=devices))
            diffs = [float(np.max(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64")))) for u, v in zip(a, b)] + [abs(u - v) for u, v in zip(la, lb)] + [abs(u - v) for u, v in zip(ea, eb)]
            results[name] = {"max_diff": max(diffs), "finite": bool(all(np.all(np.isfinite(w)) for w in b)), "records": len(eb), "devices": devices_used}
        except Exception as e:  # reported per case
            results[name] = {"error": f"{type(e).__name__}: {e}"[:2000], "trace": traceback.format_exc()[-2000:]}
        keras.backend.clear_session()
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
