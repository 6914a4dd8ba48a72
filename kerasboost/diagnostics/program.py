"""What a compiled model's program says about its output: the output layer's activation and units,
and the loss it trains with (which kind of target it expects, and whether it takes logits).

`output_setup(model)` reads them without running the model; `output_mismatch(setup)` says whether
the two disagree (the doctor's `output_loss_mismatch`) and which change makes them agree.
"""

from __future__ import annotations

import dataclasses

import keras

from kerasboost import _keras
from kerasboost.diagnostics.activation_report import layer_activation

# loss class or function name -> the targets it expects: "categorical" (one-hot over the units),
# "sparse" (class indices) or "binary" (0 / 1 per unit); every other loss is not a probability loss
PROBABILITY_LOSSES = {
    "categorical_crossentropy": "categorical",
    "categorical_focal_crossentropy": "categorical",
    "sparse_categorical_crossentropy": "sparse",
    "binary_crossentropy": "binary",
    "binary_focal_crossentropy": "binary",
}
_LOSS_CLASSES = {
    keras.losses.CategoricalCrossentropy: "categorical_crossentropy",
    keras.losses.CategoricalFocalCrossentropy: "categorical_focal_crossentropy",
    keras.losses.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
    keras.losses.BinaryCrossentropy: "binary_crossentropy",
    keras.losses.BinaryFocalCrossentropy: "binary_focal_crossentropy",
}
SQUASHING = ("softmax", "sigmoid")  # activations that output probabilities


@dataclasses.dataclass(frozen=True)
class OutputSetup:
    """A single-output model's output layer and loss, as compiled."""

    layer: str  # the output layer's name
    activation: str | None  # its activation (None: a layer without one we can read)
    units: int  # the size of the output's last axis
    loss: str  # the loss's name (a Keras loss class or function name, or the function's __name__)
    targets: str | None  # "categorical", "sparse", "binary", or None (not a probability loss)
    from_logits: bool


def _loss_name(loss: object) -> tuple[str, bool] | None:
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return None
        if loss is None:
            return None
    for cls, known in _LOSS_CLASSES.items():
        if isinstance(loss, cls):
            return known, bool(getattr(loss, "from_logits", False))
    if isinstance(loss, keras.losses.Loss):
        return type(loss).__name__, False
    name = getattr(loss, "__name__", None)
    return (name, False) if isinstance(name, str) else None


def output_setup(model: keras.Model) -> OutputSetup | None:
    """The output layer and loss of a compiled single-output model; None when the model has
    several outputs or losses, or either cannot be read (a subclassed model, a loss object
    without a name)."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        loss = next(iter(loss.values())) if len(loss) == 1 else None
    elif isinstance(loss, (list, tuple)):
        loss = loss[0] if len(loss) == 1 else None
    if loss is None:
        return None
    named = _loss_name(loss)
    layers = _keras.output_layers(model)
    if named is None or layers is None or len(layers) != 1:
        return None
    layer = layers[0]
    shape = model.outputs[0].shape
    units = int(shape[-1]) if len(shape) > 1 and shape[-1] is not None else 1
    name, from_logits = named
    return OutputSetup(layer.name, layer_activation(layer), units, name, PROBABILITY_LOSSES.get(name), from_logits)


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """What is wrong between the output layer and the loss, and the change that fixes it."""

    reason: str
    activation: str  # the output activation to set
    loss: keras.losses.Loss | None  # the loss to compile with instead (None: keep the model's)


def output_mismatch(setup: OutputSetup) -> Mismatch | None:
    """Whether the output layer and the loss disagree, and how to make them agree:

    - softmax on one unit: its output is 1 whatever the input; a sigmoid with binary
      cross-entropy is the one-unit classifier;
    - a probability loss without `from_logits` on an output that is not a probability
      (linear, relu, ...): the loss clips and renormalizes it; the output becomes logits
      (linear) and the loss takes them (`from_logits=True`);
    - `from_logits=True` on a softmax / sigmoid output: the probabilities are squashed twice;
      the output becomes linear;
    - a sigmoid over several units with a sparse (one class per sample) loss: the classes do
      not compete; softmax.

    None when they agree, when the loss is not a probability loss, or the activation is unknown.
    """
    act, targets = setup.activation, setup.targets
    if act is None or targets is None:
        return None
    if act == "softmax" and setup.units == 1:
        return Mismatch(
            f"softmax over 1 unit outputs 1.0 for every input (loss {setup.loss})",
            "sigmoid",
            keras.losses.BinaryCrossentropy(from_logits=False),
        )
    if not setup.from_logits and act not in SQUASHING:
        return Mismatch(
            f"{setup.loss} expects probabilities, but the output layer's activation is {act!r}",
            "linear",
            _with_logits(setup.loss),
        )
    if setup.from_logits and act in SQUASHING:
        return Mismatch(
            f"{setup.loss}(from_logits=True) on a {act} output squashes the probabilities a second time",
            "linear",
            None,
        )
    if act == "sigmoid" and targets == "sparse" and setup.units > 1:
        return Mismatch(
            f"a sigmoid over {setup.units} units with {setup.loss}: the classes do not compete",
            "softmax",
            None,
        )
    return None


def _with_logits(name: str) -> keras.losses.Loss:
    cls = next(c for c, n in _LOSS_CLASSES.items() if n == name)
    return cls(from_logits=True)
