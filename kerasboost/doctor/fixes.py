"""The doctor's fixes: each makes a fresh copy of the user's model (and data) with one change.

A `Fix` is what `diagnose(..., try_fixes=True)` applies and re-probes; its `description` says
the same change in the user's own code. None of them touches the user's model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kerasboost.callbacks import EarlyStopping
from kerasboost.diagnostics.activation_report import layer_activation
from kerasboost.diagnostics.activations import looks_linear_suits
from kerasboost.diagnostics.program import Mismatch
from kerasboost.doctor.probe import Data, clone_with_weights, compile_like, copy_model, copy_optimizer, rows, take
from kerasboost.initializers import LooksLinear, lsuv
from kerasboost.optimizers import SkipNonFinite


@dataclasses.dataclass
class Fix:
    """A concrete change the doctor can make to a copy of the model, and re-probe."""

    name: str
    description: str
    # (the user's model, the probe's data) -> (a changed copy, the data, keyword arguments of its `fit`:
    # `callbacks`, `class_weight`)
    apply: Callable[[keras.Model, Data], tuple[keras.Model, Data, dict]] = dataclasses.field(repr=False, compare=False)
    # what the fix changes in the data, which a repaired model cannot carry (said to the user)
    data_note: str | None = None


# ------------------------------------------------------------------ the program


def match_output_to_loss(layer: str, mismatch: Mismatch) -> Fix:
    """The output layer's activation (and, where needed, the loss) changed so that they agree."""

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        clone = copy_model(model, loss=mismatch.loss)
        clone.get_layer(layer).activation = keras.activations.get(mismatch.activation)
        return clone, data, {}

    loss = ""
    if mismatch.loss is not None:
        config = mismatch.loss.get_config()
        loss = (
            f" and compile with loss=keras.losses.{type(mismatch.loss).__name__}(from_logits={config['from_logits']})"
        )
    return Fix(
        "match_output_to_loss",
        f"give the output layer {layer!r} activation={mismatch.activation!r}{loss}",
        apply,
    )


def match_loss_to_targets(loss: keras.losses.Loss) -> Fix:
    """The loss changed to the one that reads the targets as they are encoded."""

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model, loss=loss), data, {}

    config = loss.get_config()
    return Fix(
        "match_loss_to_targets",
        f"compile with loss=keras.losses.{type(loss).__name__}(from_logits={config['from_logits']})",
        apply,
    )


# ------------------------------------------------------------------ initialization


def kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The trainable top-level layers with a `kernel` (Dense, Conv*, ...), input side first."""
    return [
        layer
        for layer in model.layers
        if isinstance(getattr(layer, "kernel", None), keras.Variable) and layer.trainable
    ]


def reinitialize(seed: int) -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        clone = copy_model(model)
        mirrored = False  # the previous layer of a Sequential ReLU chain was made looks-linear
        for i, layer in enumerate(kernel_layers(clone)):
            shape = tuple(layer.kernel.shape)
            rectifier = looks_linear_suits(layer_activation(layer)) and shape[-1] % 2 == 0
            chain = isinstance(clone, keras.Sequential) and not (mirrored and shape[-2] % 2)
            if rectifier and chain:
                init: Any = LooksLinear(input_mirrored=mirrored, seed=seed + i)
            else:
                init = keras.initializers.Orthogonal(seed=seed + i)
            mirrored = rectifier and chain
            layer.kernel.assign(init(shape, dtype=layer.kernel.dtype))
            bias = getattr(layer, "bias", None)
            if isinstance(bias, keras.Variable):
                bias.assign(np.zeros(bias.shape, bias.dtype))
        sample = take(data.x, np.arange(min(rows(data.x), 256)))
        lsuv(clone, sample, orthogonal=False, center=True)
        return clone, data, {}

    return Fix(
        "reinitialize",
        "re-initialize every kernel for its activation - looks-linear for a chain of ReLU layers "
        "(kerasboost.initializers.LooksLinear), orthogonal otherwise - then scale each layer to unit "
        "pre-activation variance with zero-mean units (kerasboost.initializers.lsuv(model, x[:256], "
        "orthogonal=False, center=True))",
        apply,
    )


# ------------------------------------------------------------------ residual branches


def _history_names(node: Any) -> list[str]:
    """The producing layer names found in a serialized call node (functional config)."""
    if isinstance(node, dict):
        history = node.get("config", {}).get("keras_history") if node.get("class_name") == "__keras_tensor__" else None
        if history is not None:
            return [history[0]]
        return [name for value in node.values() for name in _history_names(value)]
    if isinstance(node, (list, tuple)):
        return [name for value in node for name in _history_names(value)]
    return []


def residual_branch_ends(model: keras.Model) -> list[str]:
    """The last kernel layer of every residual branch of a functional model: for each `Add`, every
    input but the trunk (the earliest one), followed back through layers without a kernel."""
    if isinstance(model, keras.Sequential):
        return []
    try:
        config = model.get_config()
    except NotImplementedError:
        return []
    entries = config.get("layers") or []
    order = {entry["name"]: i for i, entry in enumerate(entries)}
    inbound = {entry["name"]: _history_names(entry.get("inbound_nodes", [])) for entry in entries}
    ends = []
    for entry in entries:
        if entry.get("class_name") != "Add":
            continue
        inputs = sorted(set(inbound[entry["name"]]), key=lambda n: order.get(n, -1))
        for name in inputs[1:]:
            while name in inbound:
                layer = model.get_layer(name)
                if isinstance(getattr(layer, "kernel", None), keras.Variable):
                    ends.append(name)
                    break
                if isinstance(layer, keras.layers.Add) or len(inbound[name]) != 1:
                    break
                name = inbound[name][0]
    return ends


def scale_residual_branches(ends: list[str]) -> Fix:
    scale = 1.0 / math.sqrt(max(len(ends), 1))

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        clone = copy_model(model)
        for name in ends:
            layer = clone.get_layer(name)
            for variable in (layer.kernel, getattr(layer, "bias", None)):
                if isinstance(variable, keras.Variable):
                    variable.assign(keras.ops.convert_to_numpy(variable) * scale)
        return clone, data, {}

    return Fix(
        "scale_residual_branches",
        f"scale the last layer of each of the {len(ends)} residual branches by 1/sqrt({len(ends)}) = {scale:.3g} "
        "so the trunk's variance stays bounded through depth (or a learnable branch scale: "
        "kerasboost.layers.SkipInit() at the end of each branch, or normalization in each branch)",
        apply,
    )


# ------------------------------------------------------------------ optimizer


def learning_rate(rate: float) -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model, optimizer=copy_optimizer(model.optimizer, learning_rate=rate)), data, {}

    return Fix(
        "learning_rate",
        f"set the learning rate to {rate:.2g} (the range test's valley), or scale your schedule so that its "
        f"peak is {rate:.2g} (e.g. kerasboost.schedules.OneCycle(maximal_learning_rate={rate:.2g}, ...))",
        apply,
    )


def clip_gradients(norm: float = 1.0) -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model, optimizer=copy_optimizer(model.optimizer, global_clipnorm=norm)), data, {}

    return Fix(
        "clip_gradients",
        f"clip the global gradient norm at {norm:g} (global_clipnorm={norm:g} in the optimizer, or "
        "kerasboost.optimizers.AdaptiveGradientClipping(optimizer))",
        apply,
    )


def skip_nonfinite() -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model, optimizer=SkipNonFinite(copy_optimizer(model.optimizer))), data, {}

    return Fix(
        "skip_nonfinite",
        "skip the steps whose gradients are not finite (kerasboost.optimizers.SkipNonFinite(optimizer))",
        apply,
    )


def early_stopping(patience: int) -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        stop = EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
        return copy_model(model), data, {"callbacks": [stop]}

    return Fix(
        "early_stopping",
        f"stop at the validation minimum: kerasboost.callbacks.EarlyStopping('val_loss', patience={patience}, "
        "restore_best_weights=True); the cause - capacity beyond what the data supports - also yields to "
        "dropout, weight decay, augmentation or more data",
        apply,
    )


# ------------------------------------------------------------------ data


def class_weight(weights: dict[int, float]) -> Fix:
    """Each class weighted in the loss by `weights` (`fit(class_weight=...)`)."""

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model), data, {"class_weight": dict(weights)}

    shown = ", ".join(f"{c}: {w:.3g}" for c, w in weights.items())
    return Fix(
        "class_weight",
        f"weight the classes in the loss, n / (k * n_class) each: model.fit(..., class_weight={{{shown}}}) "
        "(or resample the smaller classes)",
        apply,
    )


VARIANCE_FLOOR = 0.01
"""`feature_statistics` floors each feature's variance at this fraction of the median one."""


def feature_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's (last axis) mean and variance over the rows, the variance floored at
    `VARIANCE_FLOOR` times the median positive variance (1 when every feature is constant): a
    feature (nearly) constant in the training rows would otherwise be divided by ~1e-7 and turn
    the first other value it meets, at inference or on more rows, into a huge one (NaN in training:
    the digits' rarely-lit pixels did so)."""
    flat = x.reshape(-1, x.shape[-1]).astype("float64")
    mean, variance = flat.mean(axis=0), flat.var(axis=0)
    positive = variance[variance > 0]
    floor = VARIANCE_FLOOR * float(np.median(positive)) if positive.size else 1.0
    return mean.astype("float32"), np.maximum(variance, floor).astype("float32")


def normalize_inputs() -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        clone = clone_with_weights(model)
        mean, variance = feature_statistics(np.asarray(data.x))
        normalization = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, name="input_normalization")
        inputs = keras.Input(tuple(model.inputs[0].shape[1:]), name="raw_inputs")
        standardized = keras.Model(inputs, clone(normalization(inputs)), name=f"{model.name}_standardized")
        return compile_like(model, standardized), data, {}

    return Fix(
        "normalize_inputs",
        "standardize the inputs inside the model: a keras.layers.Normalization(axis=-1, mean=..., variance=...) "
        "with the training set's statistics (normalization.adapt(x_train), with a floor on near-constant features' "
        "variance) in front of it, keras.Sequential([keras.Input(shape), normalization, "
        "model]); it is saved with the model, so inference sees the same scaling",
        apply,
    )


def drop_nonfinite_rows() -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model), data.without_nonfinite_rows(), {}

    how = "keep = np.isfinite(x.reshape(len(x), -1)).all(axis=1); x, y = x[keep], y[keep]"
    return Fix(
        "drop_nonfinite_rows",
        f"drop (or impute) the rows holding NaN / Inf before training: {how}",
        apply,
        data_note=f"drop (or impute) the rows holding NaN / Inf before fit: {how}",
    )


def standardize_targets(mean: np.ndarray, std: np.ndarray) -> Fix:
    """The regression targets standardized with the training targets' mean and std (per column)."""

    def scaled(y: Any) -> Any:
        array = np.asarray(keras.tree.flatten(y)[0], "float32")
        return ((array - mean.reshape((1,) * (array.ndim - 1) + (-1,))) / std).astype("float32")

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model), dataclasses.replace(data, y=scaled(data.y), y_val=scaled(data.y_val)), {}

    m, s = _numbers(mean), _numbers(std)
    return Fix(
        "standardize_targets",
        f"train on standardized targets, y_std = (y - {m}) / {s}, and predict in the original units with "
        f"model.predict(x) * {s} + {m}",
        apply,
        data_note=f"train on y_std = (y - {m}) / {s}; predictions in the original units: model.predict(x) * {s} + {m}",
    )


def _numbers(values: np.ndarray) -> str:
    flat = [f"{v:.6g}" for v in np.asarray(values).reshape(-1)]
    return flat[0] if len(flat) == 1 else "np.array([" + ", ".join(flat) + "])"
