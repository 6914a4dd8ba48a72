"""keras.distribution.DataParallel over 2 CPU devices vs one device, JAX backend (run by
test_data_parallel.py; the cases are parity_cases.py's, as on TensorFlow's MirroredStrategy).

Usage: python data_parallel_parity.py OUT.json — writes {case: {"max_diff": float} or {"error": str}}.
"""

import os
import sys

os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"

import jax
import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_cases import compare_all, fit_case


def train(name, distributed):
    devices = jax.devices("cpu")
    assert len(devices) == 2, devices
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices) if distributed else None)
    try:
        return fit_case(name)
    finally:
        keras.distribution.set_distribution(None)


if __name__ == "__main__":
    compare_all(train, sys.argv[1])
