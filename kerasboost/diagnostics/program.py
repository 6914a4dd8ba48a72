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
    output: str | int | None = None  # of several outputs: its key (dict outputs) or position; None: the only one


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
    without a name). `output_setups` reads each output of a multi-output model."""
    setups = output_setups(model)
    return setups[0] if setups is not None and len(setups) == 1 and setups[0].output is None else None


def output_setups(model: keras.Model) -> list[OutputSetup] | None:
    """An `OutputSetup` per output of a compiled model, in the order of `model.outputs` (each
    with `output`, its key or position, when there are several); the outputs whose loss or
    layer cannot be read are left out. None when none can be read."""
    loss = getattr(model, "loss", None)
    layers = _keras.output_layers(model)
    if loss is None or layers is None:
        return None
    if len(layers) == 1:
        if isinstance(loss, dict):
            loss = next(iter(loss.values())) if len(loss) == 1 else None
        elif isinstance(loss, (list, tuple)):
            loss = loss[0] if len(loss) == 1 else None
        keys: list[str | int | None] = [None]
        losses = [loss]
    else:
        struct = getattr(model, "_outputs_struct", None)
        keys = (
            list(keras.tree.flatten({k: k for k in struct})) if isinstance(struct, dict) else list(range(len(layers)))
        )
        if isinstance(loss, dict):
            losses = [loss.get(k, loss.get(layer.name)) for k, layer in zip(keys, layers)]
        elif isinstance(loss, (list, tuple)):
            losses = list(loss) if len(loss) == len(layers) else [None] * len(layers)
        else:
            losses = [loss] * len(layers)
    setups = []
    for key, layer, tensor, one in zip(keys, layers, model.outputs, losses):
        named = _loss_name(one) if one is not None else None
        if named is None:
            continue
        shape = tensor.shape
        units = int(shape[-1]) if len(shape) > 1 and shape[-1] is not None else 1
        name, from_logits = named
        targets = PROBABILITY_LOSSES.get(name)
        setups.append(OutputSetup(layer.name, layer_activation(layer), units, name, targets, from_logits, key))
    return setups or None


def output_targets(setup: OutputSetup, y: object) -> object:
    """The targets of `setup`'s output in `y` (all of `y` for a single-output model)."""
    if setup.output is None or y is None:
        return y
    if isinstance(y, dict):
        return y.get(setup.output) if isinstance(setup.output, str) else None
    if isinstance(y, (list, tuple)) and isinstance(setup.output, int) and setup.output < len(y):
        return y[setup.output]
    return None


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """What is wrong between the output layer and the loss, and the change that fixes it."""

    reason: str
    activation: str  # the output activation to set
    loss: keras.losses.Loss | None  # the loss to compile with instead (None: keep the model's)


def output_mismatch(setup: OutputSetup, encoding: str | None = None) -> Mismatch | None:
    """Whether the output layer and the loss disagree, and how to make them agree:

    - softmax on one unit: its output is 1 whatever the input; a sigmoid with binary
      cross-entropy is the one-unit classifier;
    - softmax over several units with a binary loss: the loss scores each unit as its own
      yes / no while the softmax makes them compete, and `metrics=["accuracy"]` becomes binary
      accuracy (the mean over the units: 0.9 for a constant answer over 10 classes); by the
      targets' `encoding` (`kerasboost.diagnostics.targets.label_encoding`): one-hot rows,
      categorical cross-entropy; class indices, sparse categorical cross-entropy; several labels
      per row (`"multi_hot"`), sigmoid;
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
    if softmax_under_binary_loss(setup):
        scored = (
            f"a softmax over {setup.units} units with {setup.loss}: the loss scores each unit as its own yes / no "
            "while the softmax makes them compete, and an 'accuracy' metric is binary accuracy, the mean over the "
            f"{setup.units} units"
        )
        if encoding == "multi_hot":
            return Mismatch(scored + "; the targets have several labels per row: independent sigmoids", "sigmoid", None)
        indices = encoding == "indices"
        return Mismatch(
            scored
            + ("; one class index per row: sparse" if indices else "; one class per row:")
            + " categorical cross-entropy",
            "linear" if setup.from_logits else "softmax",  # logits under from_logits=True: not squashed twice
            _categorical(setup, sparse=indices),
        )
    if not setup.from_logits and act not in SQUASHING:
        return Mismatch(
            f"{setup.loss} expects probabilities, but the output layer's activation is {act!r}",
            "linear",
            _with_logits(setup.loss),
        )
    if setup.from_logits and act in SQUASHING:
        return Mismatch(
            f"{setup.loss}(from_logits=True) on a {act} output squashes the probabilities a second time"
            + _on_tensorflow("and warns"),
            "linear",
            None,
        )
    if act == "sigmoid" and targets == "sparse" and setup.units > 1:
        return Mismatch(
            f"a sigmoid over {setup.units} units with {setup.loss}: the classes do not compete"
            + _on_tensorflow("as a softmax would; the outputs are not class probabilities"),
            "softmax",
            None,
        )
    return None


def softmax_under_binary_loss(setup: OutputSetup) -> bool:
    """A softmax over several units scored by a binary loss (each unit its own yes / no)."""
    return setup.activation == "softmax" and setup.targets == "binary" and setup.units > 1


def _on_tensorflow(what: str) -> str:
    """The note for a mismatch TensorFlow's Keras works around: its cross-entropies read the logits
    kept behind a softmax / sigmoid output, so training is unharmed there (not on JAX or PyTorch)."""
    if keras.backend.backend() != "tensorflow":
        return ""
    return (
        f" (TensorFlow's Keras computes the loss from the logits behind the activation, {what}: harmless to "
        "training there, not on JAX or PyTorch)"
    )


def _categorical(setup: OutputSetup, sparse: bool = False) -> keras.losses.Loss:
    """(Sparse) categorical cross-entropy reading the output as `setup`'s loss did (probabilities
    or logits)."""
    cls = keras.losses.SparseCategoricalCrossentropy if sparse else keras.losses.CategoricalCrossentropy
    return cls(from_logits=setup.from_logits)


def _with_logits(name: str) -> keras.losses.Loss:
    cls = next(c for c, n in _LOSS_CLASSES.items() if n == name)
    return cls(from_logits=True)


# layers that keep a model linear in its inputs (at inference): reshaping, noise and dropout,
# affine normalization, averaging, sums and concatenations
_LINEAR_LAYERS = (
    keras.layers.InputLayer,
    keras.layers.Flatten,
    keras.layers.Reshape,
    keras.layers.Permute,
    keras.layers.RepeatVector,
    keras.layers.Dropout,  # and the spatial dropouts (subclasses)
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.BatchNormalization,
    keras.layers.Rescaling,
    keras.layers.Normalization,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
    keras.layers.AveragePooling3D,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.Add,
    keras.layers.Subtract,
    keras.layers.Average,
    keras.layers.Concatenate,
)
# layers with a kernel and an `activation` (linear when it is None / "linear")
_KERNEL_LAYERS = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)


def linear_hidden_layers(model: keras.Model) -> list[str] | None:
    """The hidden kernel layers of a model that is linear up to its output layer: every layer
    either a kernel layer (Dense, Conv, ...) without an activation or one that keeps the model
    linear (reshaping, dropout, batch normalization, average pooling, sums), and at least one
    kernel layer before the output. However deep, such a model computes one linear map of its
    inputs (Goodfellow, Bengio & Courville 2016, section 6.1). None when a layer is nonlinear or
    unknown (recurrent, attention, max pooling, an `Activation`, a nested model, a custom layer)."""
    outputs = _keras.output_layers(model)
    if outputs is None:
        return None
    hidden = []
    for layer in model.layers:
        if any(layer is out for out in outputs):
            continue
        if isinstance(layer, _KERNEL_LAYERS):
            if layer_activation(layer) not in (None, "linear"):
                return None
            hidden.append(layer.name)
        elif isinstance(layer, keras.layers.Activation):
            if layer_activation(layer) != "linear":
                return None
        elif not isinstance(layer, _LINEAR_LAYERS):
            return None
    return hidden or None
