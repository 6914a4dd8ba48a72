"""Every example runs with --quick (a smoke test, plus what the example claims at init)."""

import importlib.util
import os
from pathlib import Path

import pytest

# the slow tier: every example end to end in a child process (15-60 s each)
pytestmark = pytest.mark.slow

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _main_quick(path, cwd):
    """`main(["--quick"])` of the example at `path`, run in `cwd` (in the child process)."""
    os.chdir(cwd)  # examples write their figures to the working directory
    return _load(path).main(["--quick"])


def _ran(path, cwd):
    """Whether the example returned something; deep_plain_networks' rows themselves (picklable)."""
    result = _main_quick(path, cwd)
    return result if path.stem == "deep_plain_networks" else result is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_quick(path, tmp_path, child):
    result = child.call(_ran, path, tmp_path)
    assert result
    assert child.stdout.strip()
    if path.stem == "deep_plain_networks":  # what the example claims, from the same run
        keras_row, ours = result
        # at init, LooksLinear keeps the deepest layer's activations at the input's scale
        assert 0.3 < ours["deepest_std"] < 3.0
        assert ours["deepest_dead"] == 0.0
