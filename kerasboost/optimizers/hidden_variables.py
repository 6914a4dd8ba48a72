"""Variables that callbacks add to an optimizer for in-graph work, hidden from saving.

Callbacks that work inside the compiled step (gradient statistics, learning-rate
multipliers) keep their state in optimizer variables: JAX's trainer carries
exactly the optimizer's variables through the step, and TensorFlow reads them
live. Saved optimizer state must not depend on which callbacks were attached,
so every optimizer in the chain gets one `save_own_variables` /
`load_own_variables` patch that leaves the registered variables out.
"""

from __future__ import annotations

import contextlib

from kerasboost import _keras
from kerasboost.optimizers.wrapper import optimizer_chain

_HIDDEN = "_kerasboost_hidden_variables"


def remove_by_identity(variables: list, items: list) -> list:
    """Remove `items` from `variables` in place, by identity (no `==` on variables; in place
    because Keras's tracker holds the list); return `(index, item)` pairs, ascending."""
    removed = []
    for i in reversed(range(len(variables))):
        if any(variables[i] is item for item in items):
            removed.append((i, variables[i]))
            del variables[i]
    return removed[::-1]


def _hiding(optimizer, method):
    def wrapped(store):
        chain = optimizer_chain(optimizer)
        hidden = optimizer.__dict__[_HIDDEN]
        removed = [(o, remove_by_identity(_keras.variables_list(o), hidden)) for o in chain]
        try:
            return method(store)
        finally:
            for o, items in removed:
                for i, v in items:
                    _keras.variables_list(o).insert(i, v)

    return wrapped


def hidden_variables(optimizer) -> list:
    """The variables callbacks have hidden on `optimizer` (empty when none)."""
    return list(optimizer.__dict__.get(_HIDDEN, []))


def add_hidden_variables(model, owner, specs: list[dict]) -> list:
    """Create variables on `owner` (an optimizer in `model.optimizer`'s chain) with
    `owner.add_variable(**spec)`, under the model's distribution strategy, and hide them from
    saving for every optimizer of the chain."""
    strategy = getattr(model, "distribute_strategy", None)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        added = [owner.add_variable(**spec) for spec in specs]
    remove_by_identity(_keras.variables_list(owner), added)
    restore_hidden_variables(model, owner, added)
    return added


def restore_hidden_variables(model, owner, added: list) -> None:
    """Give `owner` back variables that `remove_hidden_variables` took away (made by
    `add_hidden_variables`), at the end of its variables and hidden from saving again."""
    _keras.variables_list(owner).extend(added)
    for optimizer in optimizer_chain(model.optimizer):
        if _HIDDEN not in optimizer.__dict__:
            optimizer.__dict__[_HIDDEN] = []
            for name in ("save_own_variables", "load_own_variables"):
                _keras.override(optimizer, name, _hiding(optimizer, getattr(optimizer, name)))
        optimizer.__dict__[_HIDDEN].extend(added)


def remove_hidden_variables(model, owner, added: list) -> None:
    """Undo `add_hidden_variables`: drop the variables from `owner` and the patches once no
    hidden variable is left on an optimizer."""
    remove_by_identity(_keras.variables_list(owner), added)
    for optimizer in optimizer_chain(model.optimizer):
        hidden = optimizer.__dict__.get(_HIDDEN)
        if hidden is None:
            continue
        remove_by_identity(hidden, added)
        if not hidden:
            del optimizer.__dict__[_HIDDEN]
            for name in ("save_own_variables", "load_own_variables"):
                _keras.restore(optimizer, name)
