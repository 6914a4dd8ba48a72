"""The examples in the docstrings and the README run and print what they claim."""

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import kerasboost

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(kerasboost.__path__, "kerasboost.") if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_public_objects_document_args_example_and_references():
    import kerasboost.tuning  # noqa: F401 - its exports too (`import kerasboost` leaves it to first use)
    from kerasboost.api_export import public_exports

    for path, obj in public_exports().items():
        doc = obj.__doc__ or ""
        target = obj.__init__ if isinstance(obj, type) else obj
        params = [p for p in inspect.signature(target).parameters if p not in ("self", "args", "kwargs")]
        for section in ("Args:", "Example:") if params else ("Example:",):
            assert section in doc, f"{path} has no {section} section"
        if isinstance(obj, type):
            assert "References:" in doc, f"{path} cites no reference"


def _run_readme_blocks(folder):
    """Every Python block of the README, in order, run in `folder` (in the child process)."""
    import os

    os.chdir(folder)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    return len(blocks)


# the slow tier: every README block (trains, saves, plots), in a fresh process as a user runs
# them: in a worker that had built hundreds of models the same blocks took 59 to 107 s, alone 41 s
@pytest.mark.slow
def test_readme_python_blocks_run(tmp_path, child):
    assert child.call(_run_readme_blocks, tmp_path) >= 5, "the README lost its Python examples"
    assert (tmp_path / "model.keras").exists() and (tmp_path / "lr.png").exists()
