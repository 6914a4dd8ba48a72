"""The `kerasboost` console command: a quiet TensorFlow start-up, then `kerasboost.cli.main`.

This module lies outside the package on purpose: importing anything inside `kerasboost` imports
Keras and TensorFlow first, and TensorFlow writes its C++ start-up lines ("oneDNN custom
operations are on ...") straight to the process's stderr, before any logging setting applies.
So the command sets `TF_CPP_MIN_LOG_LEVEL=2` (unless already set) and imports the package with
stderr pointed at /dev/null; `kerasboost --verbose ...` keeps every line. `python -m kerasboost`
runs the same commands without this (the package is imported first).
"""

from __future__ import annotations

import os
import sys


def _import_quietly():
    """`kerasboost.cli.main`, imported with the process's stderr (fd 2) silenced."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        from kerasboost.cli import main
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--verbose" in argv:
        from kerasboost.cli import main as run
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        run = _import_quietly()
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
