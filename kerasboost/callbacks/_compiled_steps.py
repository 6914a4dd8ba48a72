"""Compiled train steps of instrumented optimizers, kept per model so that a second `fit` reuses them.

Callbacks that work inside the compiled step (`GradientStatistics`, the learning-rate
multiplier of `LearningRateWarmup` / `ReduceLROnPlateau`) patch the model's optimizer for the
duration of `fit`, and the train function Keras traced without the patch does not contain
their work: Keras must trace and XLA compile a new one. Doing that in every `fit` (and again
after it, to drop the patch) made every `fit` pay the whole compile.

Here each model keeps the train function Keras made for it (`plain`) and one compiled train
function per set of active instrumentations (each instrumentation names itself by a hashable
`key` that determines what it adds to the graph). `enter(model, key)` after installing a
patch selects (or, the first time, makes) the function for the new set; `leave(model, key)`
after removing it selects the function for what is left, the plain one when nothing is.
The instrumentations must then reuse the same variables and patches for the same key: a
compiled function captured them.

The cache follows what Keras does: `compile()` (or anything else) that gives the model a new
train function outside of `enter` / `leave` invalidates every function kept for it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from kerasboost import _keras


class _Steps:
    def __init__(self, plain: Any) -> None:
        self.plain = plain
        self.active: list = []
        self.compiled: dict[frozenset, Any] = {}
        self.current = plain


# kept in the model's __dict__ (not a weak dictionary: the compiled functions refer to the model)
_KEY = "_kerasboost_compiled_steps"


def _steps(model) -> _Steps:
    steps = model.__dict__.get(_KEY)
    if steps is None or model.train_function is not steps.current:
        # first use, or the model got a new train function (compile(), a callback forcing a
        # rebuild): what was kept no longer matches the model
        active = steps.active if steps is not None else []
        steps = _Steps(None if active else model.train_function)
        steps.active = active
        steps.current = model.train_function
        model.__dict__[_KEY] = steps
    return steps


def _select(model, steps: _Steps) -> None:
    active = frozenset(steps.active)
    if not active:
        if steps.plain is None:  # the plain function was never seen: made now, traced afresh
            steps.plain = _keras.new_train_function(model)
        model.train_function = steps.plain
    elif active in steps.compiled:
        model.train_function = steps.compiled[active]
    else:
        steps.compiled[active] = _keras.new_train_function(model)
    steps.current = model.train_function


def enter(model, key: Hashable) -> None:
    """Select the train function with instrumentation `key` added (already patched in)."""
    steps = _steps(model)
    if key not in steps.active:
        steps.active.append(key)
    _select(model, steps)


def leave(model, key: Hashable) -> None:
    """Select the train function with instrumentation `key` removed (already patched out)."""
    steps = _steps(model)
    steps.active = [k for k in steps.active if k != key]
    _select(model, steps)


def invalidate(model) -> None:
    """Forget every train function kept for `model` (what they compiled changed, e.g. the
    optimizer's schedule): the next `enter` / `leave` / `fit` traces anew."""
    steps = _steps(model)
    steps.plain, steps.compiled = None, {}
    if not steps.active:
        model.train_function = None
    else:
        _keras.new_train_function(model)
    steps.current = model.train_function
