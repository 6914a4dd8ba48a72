"""Helpers for probing Keras models."""

from __future__ import annotations

import keras


def probe_model(model: keras.Model, outputs) -> keras.Model:
    """A functional model from `model`'s inputs to `outputs` (symbolic tensors).

    A single-input model gets a single (not a one-element list) input, so that
    it accepts the same array that `model.predict` does.
    """
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs)
