"""Test setup: TensorFlow backend unless KERAS_BACKEND is set; fixed seeds; clean sessions."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gc

import keras
import pytest


@pytest.fixture(autouse=True)
def _clean_keras_session():
    keras.utils.set_random_seed(1337)
    yield
    # Keras's global state (layer names, the TF graph, kernel caches) is reset after every test;
    # the full garbage collection that `clear_session` also runs by default is left to the end
    # of each module (below): in a worker that has built many models it took ~1.2 s per test,
    # 1243 s of the suite's 3450 test-seconds (docs/development.md).
    keras.backend.clear_session(free_memory=False)
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="module", autouse=True)
def _collect_garbage_per_module():
    yield
    gc.collect()
    # What survives a full collection here (TensorFlow's and Keras's modules, the caches of
    # traced functions) is moved out of the collector's view: each later automatic collection
    # then scans only what was allocated since, not every object the worker ever kept. Measured
    # (tests/callbacks, optimizers, layers, diagnostics, inner tier, one process): 30.0 s of
    # collections -> 10.9 s, 186 s -> 170 s. Reference counting still frees frozen objects.
    gc.freeze()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(scope="module")
def child():
    """A child process for this module's heavy end-to-end tests (see tests/isolated.py)."""
    from tests.isolated import Child

    process = Child()
    yield process
    process.close()


# the inner tier stays fast: a test not marked slow over --fast-limit seconds fails the session
from tests import fast_limit  # noqa: E402
from tests.fast_limit import (  # noqa: E402, F401 - hooks, found by name in this conftest
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)


def pytest_addoption(parser):
    fast_limit.pytest_addoption(parser)
    parser.addoption(
        "--contract-saving-only",
        action="store_true",
        help="test_contract_xla_and_saving runs the saving check alone (one XLA fit per case, saved and "
        "loaded), not the XLA check's comparison with a non-XLA fit: .ci/run's pass on the oldest "
        "supported Keras (the README command runs both on the newest)",
    )
