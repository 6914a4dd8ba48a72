"""The inner tier stays fast: a pytest plugin (its hooks are imported by `tests/conftest.py`).

A test not marked `slow` must finish (setup + call + teardown) within `--fast-limit` seconds
(default: $KERASBOOST_FAST_LIMIT; unset or 0 = no check; `.ci/run` sets 20). The session fails,
naming each test over the limit, so the inner tier (`pytest -m "not slow"`) cannot silently
grow. Under xdist the controller judges, from the reports the workers send it.
"""

import os

import pytest


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
