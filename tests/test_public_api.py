"""One public API: each subpackage's `__all__`, the export registry and the docs/api pages agree."""

import re
from pathlib import Path

import pytest

import kerasboost
import kerasboost.tuning
from kerasboost.api_export import public_exports

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api"


def _documented(subpackage: str) -> set:
    """Names `::: kerasboost.<subpackage>.<Name>` on docs/api/<subpackage>.md."""
    text = (DOCS / f"{subpackage}.md").read_text()
    return set(re.findall(rf"^::: kerasboost\.{subpackage}\.(\w+)\s*$", text, flags=re.M))


@pytest.mark.parametrize("subpackage", kerasboost.__all__)
def test_all_exports_and_docs_agree(subpackage):
    module = getattr(kerasboost, subpackage)
    listed = set(module.__all__)
    exported = {path.rsplit(".", 1)[1] for path in public_exports() if path.startswith(f"kerasboost.{subpackage}.")}
    assert listed == exported, f"__all__ only: {sorted(listed - exported)}; exported only: {sorted(exported - listed)}"
    documented = _documented(subpackage)
    assert listed == documented, (
        f"__all__ only: {sorted(listed - documented)}; docs only: {sorted(documented - listed)}"
    )
    for name in listed:
        assert getattr(module, name) is public_exports()[f"kerasboost.{subpackage}.{name}"]


def test_every_api_page_is_a_subpackage():
    pages = {p.stem for p in DOCS.glob("*.md")}
    assert pages == set(kerasboost.__all__) | {"testing"}  # the contract harness documents a module


def test_public_signatures_are_annotated():
    """Every parameter of an exported function or constructor has a type, and so has the result
    (`py.typed` promises it)."""
    import inspect

    missing = []
    for path, obj in sorted(public_exports().items()):
        target = obj.__init__ if isinstance(obj, type) else obj
        if not getattr(target, "__module__", "").startswith("kerasboost"):
            continue  # a constructor inherited from Keras or Python (LearningRateLogger, the exception)
        signature = inspect.signature(target)
        for p in signature.parameters.values():
            named = p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            if named and p.annotation is inspect.Parameter.empty:
                missing.append(f"{path}: parameter {p.name}")
        if signature.return_annotation is inspect.Signature.empty:
            missing.append(f"{path}: return")
    assert not missing, "\n".join(missing)
