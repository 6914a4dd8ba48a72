"""Does plain Keras train under tf.distribute.MultiWorkerMirroredStrategy here? Two workers on
localhost, a two-layer Dense model, no kerasboost object at all (not run by the test suite).

    python tests/reliability/multi_worker_check.py          # launches both workers, prints their results

With TensorFlow 2.21 and Keras 3.15.1 each worker fails in `model.fit`, in Keras's
`trainer._maybe_symbolic_build` (see docs/guides/distributed.md).
"""

import json
import os
import subprocess
import sys
import traceback

PORTS = (23456, 23457)


def worker(index: int) -> None:
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": [f"localhost:{p}" for p in PORTS]}, "task": {"type": "worker", "index": index}}
    )
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf

    keras.config.disable_traceback_filtering()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")
    versions = f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    try:
        with strategy.scope():
            model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), keras.layers.Dense(2)])
            model.compile(keras.optimizers.SGD(0.05), "mse", jit_compile=False)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        print(f"worker {index}: trained ({versions})")
    except Exception as e:  # the result is what this script reports
        frames = [
            line.strip()
            for line in traceback.format_exc().splitlines()
            if "keras/src" in line and "traceback_utils" not in line
        ]
        print(
            f"worker {index}: {type(e).__name__} ({versions}) at {frames[-1] if frames else '?'}: "
            f"{' '.join(str(e).split())[:160]}"
        )


def main() -> None:
    procs = [subprocess.Popen([sys.executable, __file__, str(i)], stdout=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        out, _ = p.communicate(timeout=300)
        print(out.strip().splitlines()[-1] if out.strip() else f"worker exited with {p.returncode}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        worker(int(sys.argv[1]))
    else:
        main()
