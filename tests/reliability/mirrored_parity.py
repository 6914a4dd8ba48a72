"""MirroredStrategy over 2 logical CPU devices vs one device (run by test_mirrored.py).

Usage: python mirrored_parity.py OUT.json — writes {case: {"max_diff": float} or {"error": str}}.
"""

import json
import os
import sys
import traceback

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_cases import CASES, XI, X, Y  # noqa: E402

from kerasboost import callbacks  # noqa: E402

def train(name, strategy):
    build, optimizer, make_callbacks = CASES[name]
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build()
        # XLA cannot compile a step whose variables live on two devices (Keras's own layers fail
        # the same way: "Trying to access resource ... located in device CPU:1 from device CPU:0")
        model.compile(optimizer(), "mse", jit_compile=False)
    x = XI if len(model.inputs[0].shape) == 4 else X
    cbs = make_callbacks()
    history = model.fit(x, Y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=cbs)
    extra = []
    for c in cbs:
        if isinstance(c, callbacks.GradientStatistics):
            extra = [r["grad_norm"] for r in c.records]
    return model.get_weights(), history.history["loss"], extra


def main(out):
    single = tf.distribute.OneDeviceStrategy("/cpu:0")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    results = {}
    for name in CASES:
        try:
            a, la, ea = train(name, single)
            b, lb, eb = train(name, mirrored)
            diffs = [float(np.max(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64")))) for u, v in zip(a, b)] + [abs(u - v) for u, v in zip(la, lb)] + [abs(u - v) for u, v in zip(ea, eb)]
            results[name] = {"max_diff": max(diffs), "finite": bool(all(np.all(np.isfinite(w)) for w in b)), "records": len(eb)}
        except Exception as e:  # reported per case
            results[name] = {"error": f"{type(e).__name__}: {e}"[:2000], "trace": traceback.format_exc()[-2000:]}
        keras.backend.clear_session()
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
