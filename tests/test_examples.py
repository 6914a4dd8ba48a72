"""Every example runs with --quick (a smoke test, plus what the example claims at init)."""

import importlib.util
import os
from pathlib import Path

import pytest

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
    return _main_quick(path, cwd) is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_quick(path, tmp_path, child):
    assert child.call(_ran, path, tmp_path)
    assert child.stdout.strip()


def test_deep_plain_networks_keeps_the_signal_with_looks_linear(tmp_path, child):
    rows = child.call(_main_quick, next(p for p in EXAMPLES if p.stem == "deep_plain_networks"), tmp_path)
    keras_row, ours = rows
    # at init, LooksLinear keeps the deepest layer's activations at the input's scale
    assert 0.3 < ours["deepest_std"] < 3.0
    assert ours["deepest_dead"] == 0.0
