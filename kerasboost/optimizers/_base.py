"""Shared pieces of the kerasboost optimizers."""

from __future__ import annotations

import keras


def slots(optimizer: keras.optimizers.Optimizer, variables, name: str, initializer="zeros") -> list:
    """One optimizer variable per model variable (works on Keras >= 3.10)."""
    return [optimizer.add_variable_from_reference(v, name=name, initializer=initializer) for v in variables]
