"""Run heavy end-to-end tests (the demo, examples, benchmark scripts) in a child process.

TensorFlow, XLA and glibc keep most of what a long in-process run allocated: measured with
`pytest -n 2` over the whole suite (2-core VM, TF-CPU 2.21), each xdist worker ended near
9.7 GB RSS, and the demo, example and benchmark-script tests alone accounted for 10.4 GB of
the 18.4 GB the two workers grew by. A child process gives all of it back when it exits.

One child per test module and xdist worker (`Child`, used by the `child` fixture in
`conftest.py`): the 5 s import of TensorFlow is paid once per module, not per test.
"""

from __future__ import annotations

import contextlib
import gc
import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

SEED = 1337


def _start():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _call(function, args, kwargs):
    import keras

    # what is alive now (TensorFlow's modules; what the previous call's clear_session kept) is
    # never scanned again by the collector: see conftest's _collect_garbage_per_module
    gc.freeze()
    keras.utils.set_random_seed(SEED)  # as conftest's fixture does for in-process tests
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            result = function(*args, **kwargs)
    finally:
        keras.backend.clear_session()
    return result, out.getvalue()


class Child:
    """A spawned Python process (same environment, so the same KERAS_BACKEND) that runs
    module-level functions of importable modules and returns their (picklable) results.
    What a call prints to `sys.stdout` is kept in `stdout`."""

    def __init__(self):
        self._pool = None
        self.stdout = ""

    def call(self, function, *args, **kwargs):
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # never fork a process that runs TensorFlow
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start)
        result, self.stdout = self._pool.submit(_call, function, args, kwargs).result()
        return result

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
