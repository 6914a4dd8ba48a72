"""kerasboost: training-stability tools for Keras 3.

`import kerasboost` registers every public object with Keras under the key
`kerasboost>ClassName`, so models saved with kerasboost objects load with
`keras.saving.load_model(path, safe_mode=True)` after this import alone.
"""

__version__ = "0.1.0"

from kerasboost import (
    callbacks,
    diagnostics,
    doctor,
    ensemble,
    initializers,
    layers,
    optimizers,
    schedules,
    transfer,
)

# Imported on first use (`kerasboost.tuning`, `from kerasboost import tuning`): it imports
# keras-tuner, which a user of the layers, optimizers or callbacks need not load. Nothing in
# it is a registered (serializable) object, so saved models load without it.
_LAZY = ("tuning",)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"kerasboost.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'kerasboost' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "callbacks",
    "diagnostics",
    "doctor",
    "ensemble",
    "initializers",
    "layers",
    "optimizers",
    "schedules",
    "transfer",
    "tuning",
]
