"""Test setup: TensorFlow backend unless KERAS_BACKEND is set; fixed seeds; clean sessions."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest


@pytest.fixture(autouse=True)
def _clean_keras_session():
    keras.utils.set_random_seed(1337)
    yield
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("float32")


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(scope="module")
def child():
    """A child process for this module's heavy end-to-end tests (see tests/isolated.py)."""
    from tests.isolated import Child

    process = Child()
    yield process
    process.close()
