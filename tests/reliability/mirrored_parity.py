"""MirroredStrategy over 2 logical CPU devices vs one device (run by test_mirrored.py).

Usage: python mirrored_parity.py OUT.json — writes {case: {"max_diff": float} or {"error": str}}.
"""

import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_cases import compare_all, fit_case  # noqa: E402


def main(out):
    single = tf.distribute.OneDeviceStrategy("/cpu:0")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    # XLA cannot compile a step whose variables live on two devices (Keras's own layers fail the
    # same way: "Trying to access resource ... located in device CPU:1 from device CPU:0")
    compare_all(
        lambda name, distributed: fit_case(name, (mirrored if distributed else single).scope(), jit_compile=False), out
    )


if __name__ == "__main__":
    main(sys.argv[1])
