"""The tooling that keeps the test suite's tiers honest: the --fast-limit check and the table of
where the suite's time goes (benchmarks/suite_durations.py)."""

import importlib.util
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]


def _suite_durations():
    spec = importlib.util.spec_from_file_location("suite_durations", ROOT / "benchmarks" / "suite_durations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(pytester, monkeypatch, *args):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("KERASBOOST_FAST_LIMIT", raising=False)
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow tier\n")
    pytester.makepyfile(
        test_tiers=textwrap.dedent(
            """
            import time
            import pytest

            def test_quick():
                pass

            def test_sleeps_unmarked():
                time.sleep(0.6)

            @pytest.mark.slow
            def test_sleeps_marked():
                time.sleep(0.6)
            """
        )
    )
    return pytester.runpytest_subprocess("-p", "tests.fast_limit", "-p", "no:cacheprovider", *args)


def test_an_unmarked_test_over_the_limit_fails_the_session_by_name(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "--fast-limit", "0.3")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*tests not marked slow that took over 0.3 s*", "*test_sleeps_unmarked*"])
    assert "test_sleeps_marked" not in result.stdout.str().split("took over")[1]
    result.assert_outcomes(passed=3)


def test_without_a_limit_or_under_it_the_session_passes(pytester, monkeypatch):
    assert _run(pytester, monkeypatch).ret == 0
    assert _run(pytester, monkeypatch, "--fast-limit", "5").ret == 0


def test_durations_table_sums_tests_and_files_and_splits_the_tiers(tmp_path):
    sd = _suite_durations()
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.callbacks.test_a" name="test_x[1]" time="40.0"/>'
        '<testcase classname="tests.callbacks.test_a" name="test_y" time="2.5"/>'
        '<testcase classname="tests.test_b.TestGroup" name="test_z" time="1.0"/>'
        "</testsuite></testsuites>"
    )
    durations = sd.read(str(junit))
    assert durations == {
        "tests/callbacks/test_a.py::test_x[1]": 40.0,
        "tests/callbacks/test_a.py::test_y": 2.5,
        "tests/test_b.py::TestGroup::test_z": 1.0,
    }
    assert sd.by_file(durations) == {"tests/callbacks/test_a.py": 42.5, "tests/test_b.py": 1.0}
    text = sd.table(durations, top=2, file_threshold=30, slow={"tests/callbacks/test_a.py::test_x[1]"})
    assert "Tests: 3, summed test time 44 s." in text
    assert "Marked slow: 1 tests, 40 s; inner tier: 2 tests, 4 s." in text
    lines = text.splitlines()
    assert (
        lines[lines.index("| slowest 2 tests | s | tier |") + 2]
        == "| `tests/callbacks/test_a.py::test_x[1]` | 40.0 | slow |"
    )
    assert "| `tests/callbacks/test_a.py` | 42 | 2 |" in text and "test_b.py` |" not in text.split("files over")[1]
