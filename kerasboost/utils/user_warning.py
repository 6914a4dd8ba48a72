"""Warnings that point at the user's code (the `fit` call), not at kerasboost's or Keras's."""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from types import FrameType

# frames in these packages are skipped: a callback's warning is raised deep inside Keras's `fit`
_LIBRARIES = ("kerasboost", "keras", "tensorflow", "jax", "keras_tuner")
_prefixes: tuple[str, ...] | None = None


def _library_prefixes() -> tuple[str, ...]:
    global _prefixes
    if _prefixes is None:
        found = []
        for name in _LIBRARIES:
            spec = importlib.util.find_spec(name) if name not in sys.modules else sys.modules[name].__spec__
            for location in (spec.submodule_search_locations or []) if spec is not None else []:
                found.append(os.path.realpath(location) + os.sep)
        _prefixes = tuple(found)
    return _prefixes


def warn(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """`warnings.warn` with the stack level of the first frame outside kerasboost, Keras and the
    backends: the warning names the user's file and line (e.g. the `fit` call)."""
    prefixes = _library_prefixes()
    frame: FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and os.path.realpath(frame.f_code.co_filename).startswith(prefixes):
        frame = frame.f_back
        level += 1
    if frame is None:  # only library frames (e.g. a callback run on a worker thread)
        level = 2
    warnings.warn(message, category, stacklevel=level)
