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
    """Every exported object, by public path (a copy; loads the subpackages `import kerasboost`
    leaves to first use)."""
    import kerasboost

    for name in kerasboost._LAZY:
        getattr(kerasboost, name)
    return dict(_EXPORTS)


def registered_exports() -> dict[str, str]:
    """Every registered object's public path -> its `kerasboost>Name` key."""
    return dict(_REGISTERED)
