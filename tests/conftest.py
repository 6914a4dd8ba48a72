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


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(scope="module")
def child():
    """A child process for this module's heavy end-to-end tests (see tests/isolated.py)."""
    from tests.isolated import Child

    process = Child()
    yield process
    process.close()


# ----------------------------------------------------------------------------- the inner tier stays fast
# A test not marked `slow` must finish (setup + call + teardown) within `--fast-limit` seconds
# (default: $KERASBOOST_FAST_LIMIT, unset = no check; CI sets 20). The session fails naming
# each test over the limit, so the inner tier (`pytest -m "not slow"`) cannot silently grow.


def pytest_addoption(parser):
    parser.addoption(
        "--fast-limit",
        type=float,
        default=float(os.environ.get("KERASBOOST_FAST_LIMIT") or 0),
        help="fail the session if a test not marked slow takes longer than this many seconds (0: off)",
    )


_durations: dict[str, list] = {}


def pytest_runtest_logreport(report):
    # runs in the controller too under xdist, with each worker's reports
    entry = _durations.setdefault(report.nodeid, [0.0, "slow" in report.keywords])
    entry[0] += report.duration


def _over_limit(config):
    limit = config.getoption("fast_limit")
    if not limit or hasattr(config, "workerinput"):  # the controller (or a run without xdist) judges
        return limit, []
    over = sorted(((d, n) for n, (d, slow) in _durations.items() if not slow and d > limit), reverse=True)
    return limit, over


def pytest_sessionfinish(session, exitstatus):
    limit, over = _over_limit(session.config)
    if over and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    limit, over = _over_limit(config)
    if over:
        terminalreporter.section(f"tests not marked slow that took over {limit:g} s", red=True)
        for seconds, nodeid in over:
            terminalreporter.line(f"{seconds:6.1f} s  {nodeid}  (make it cheaper, or mark it slow)")
