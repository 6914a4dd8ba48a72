"""The one decorator that exports and registers every public kerasboost object.

`kerasboost_export("kerasboost.schedules.OneCycle")` does two things:

1. registers the class with Keras under the serialization key
   `"kerasboost>OneCycle"` (the package key never changes: saved models must
   keep loading), so that `.keras` files load with `safe_mode=True` and
   strings such as `"kerasboost>OneCycle"` resolve without `custom_objects`;
2. records the public path, so the contract sweep can check that the set of
   registered keys equals the set of public exports.

Functions (e.g. `plot_schedule`) are exported with `register=False`: they are
public API but not serializable Keras objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import keras

PACKAGE = "kerasboost"

T = TypeVar("T", bound=Callable)

# public path ("kerasboost.schedules.OneCycle") -> object
_EXPORTS: dict[str, object] = {}
# public path -> registered key ("kerasboost>OneCycle"), serializable objects only
_REGISTERED: dict[str, str] = {}


def kerasboost_export(path: str, register: bool = True) -> Callable[[T], T]:
    """Export `obj` under the public `path`; register it as `kerasboost>Name`.

    Args:
        path: the public dotted path, e.g. `"kerasboost.schedules.OneCycle"`.
            The last component must equal the object's `__name__`.
        register: whether to register the object with Keras's serialization
            registry (classes with `get_config`); `False` for plain functions.
    """
    if not path.startswith(PACKAGE + "."):
        raise ValueError(f"`path` must start with '{PACKAGE}.'. Received: path={path!r}")

    def decorator(obj: T) -> T:
        name = path.rsplit(".", 1)[-1]
        if name != obj.__name__:
            raise ValueError(
                f"The exported name must equal the object's name ({obj.__name__!r}). Received: path={path!r}"
            )
        if path in _EXPORTS and _EXPORTS[path] is not obj:
            raise ValueError(f"{path!r} is already exported.")
        _EXPORTS[path] = obj
        if register:
            keras.saving.register_keras_serializable(package=PACKAGE, name=name)(obj)
            _REGISTERED[path] = f"{PACKAGE}>{name}"
        return obj

    return decorator


def public_exports() -> dict[str, object]:
    """Every exported object of the subpackages imported so far, by public path (a copy).
    `import kerasboost` imports all but `kerasboost.tuning` (left to first use): import it too
    for the whole list."""
    return dict(_EXPORTS)


def registered_exports() -> dict[str, str]:
    """Every registered object's public path -> its `kerasboost>Name` key."""
    return dict(_REGISTERED)


def kind_of(obj: object) -> str:
    """What a public object is, in a user's words: the Keras base it extends (`schedule`,
    `optimizer`, `callback`, `model`, `layer`, `initializer`, `regularizer`, `constraint`),
    `exception`, `hypermodel`, `class`, or `function`."""
    import inspect

    if not inspect.isclass(obj):
        return "function"
    bases = [
        (keras.optimizers.schedules.LearningRateSchedule, "schedule"),
        (keras.optimizers.Optimizer, "optimizer"),
        (keras.callbacks.Callback, "callback"),
        (keras.Model, "model"),
        (keras.layers.Layer, "layer"),
        (keras.initializers.Initializer, "initializer"),
        (keras.regularizers.Regularizer, "regularizer"),
        (keras.constraints.Constraint, "constraint"),
        (Exception, "exception"),
    ]
    for base, kind in bases:
        if issubclass(obj, base):
            return kind
    if any(c.__name__ == "HyperModel" for c in obj.__mro__):
        return "hypermodel"
    return "class"
