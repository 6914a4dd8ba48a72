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
from kerasboost.doctor.probe import (
    Data,
    compile_like,
    copy_model,
    copy_optimizer,
    nonfinite_rows,
    rows,
    take,
)
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
    # that change as code: (x, y) -> (x, y), applied by `Repair.prepare` to the user's arrays
    prepare: Callable[[Any, Any], tuple[Any, Any]] | None = dataclasses.field(default=None, repr=False, compare=False)
    # the inverse of the fix's change to the targets as an output layer (`Repair.predictor`), or None
    unprepare: Callable[[], keras.layers.Layer] | None = dataclasses.field(default=None, repr=False, compare=False)
    # other settings of the same fix, tried beside it: the one whose trial does best is kept
    alternatives: tuple[Fix, ...] = dataclasses.field(default=(), repr=False, compare=False)


# ------------------------------------------------------------------ the program


def _loss_for(model: keras.Model, loss: keras.losses.Loss, output: str | int | None) -> Any:
    """`loss` for the whole model (a single output), or the model's losses with the one of
    `output` (a key or position) replaced."""
    if output is None:
        return loss
    current = model.loss
    if isinstance(current, dict):
        return {**current, output: loss}
    if isinstance(current, (list, tuple)):
        return [loss if i == output else one for i, one in enumerate(current)]
    count = len(model.outputs)
    return [loss if i == output else current for i in range(count)]


def _where(output: str | int | None) -> str:
    return "" if output is None else f" (for the output {output!r})"


def match_output_to_loss(layer: str, mismatch: Mismatch, output: str | int | None = None) -> Fix:
    """The output layer's activation (and, where needed, the loss of that output) changed so that they agree."""

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        loss = None if mismatch.loss is None else _loss_for(model, mismatch.loss, output)
        clone = copy_model(model, loss=loss)
        clone.get_layer(layer).activation = keras.activations.get(mismatch.activation)
        return clone, data, {}

    loss = ""
    if mismatch.loss is not None:
        config = mismatch.loss.get_config()
        loss = (
            f" and compile with loss=keras.losses.{type(mismatch.loss).__name__}(from_logits={config['from_logits']})"
            + _where(output)
        )
    return Fix(
        "match_output_to_loss",
        f"give the output layer {layer!r} activation={mismatch.activation!r}{loss}",
        apply,
    )


def add_activations(layers: list[str], activation: str = "relu") -> Fix:
    """The hidden kernel layers `layers` given `activation` (their weights kept)."""

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        clone = copy_model(model)
        for name in layers:
            clone.get_layer(name).activation = keras.activations.get(activation)
        return clone, data, {}

    shown = ", ".join(repr(n) for n in layers[:4]) + (f" and {len(layers) - 4} more" if len(layers) > 4 else "")
    return Fix("add_activations", f"give the hidden layers {shown} activation={activation!r}", apply)


def match_loss_to_targets(loss: keras.losses.Loss, output: str | int | None = None) -> Fix:
    """The loss (of `output`, in a multi-output model) changed to the one that reads the targets as encoded."""

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model, loss=_loss_for(model, loss, output)), data, {}

    config = loss.get_config()
    return Fix(
        "match_loss_to_targets",
        f"compile with loss=keras.losses.{type(loss).__name__}(from_logits={config['from_logits']})" + _where(output),
        apply,
    )


def _for_output(y: Any, output: str | int | None, change: Callable[[np.ndarray], np.ndarray]) -> Any:
    """`y` with `change` applied to the targets of `output` (all of `y` for a single output)."""
    if output is None:
        return change(np.asarray(keras.tree.flatten(y)[0]))
    if isinstance(y, dict):
        return {**y, output: change(np.asarray(y[output]))}
    return [change(np.asarray(t)) if i == output else t for i, t in enumerate(y)]


def relabel_targets(mapping: dict[float, float], output: str | int | None = None) -> Fix:
    """The labels read as the loss reads them: each old value replaced by its new one (class
    indices shifted to start at 0, binary labels {a, b} as {0, 1})."""

    def change(array: np.ndarray) -> np.ndarray:
        new = array.astype("float64").copy()
        for old, value in mapping.items():
            new[array == old] = value
        return new.astype(array.dtype if np.issubdtype(array.dtype, np.number) else "int64")

    def prepare(x: Any, y: Any) -> tuple[Any, Any]:
        return x, _for_output(y, output, change)

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        y, y_val = _for_output(data.y, output, change), _for_output(data.y_val, output, change)
        return copy_model(model), dataclasses.replace(data, y=y, y_val=y_val), {}

    pairs = list(mapping.items())
    shown = ", ".join(f"{old:g} -> {new:g}" for old, new in pairs[:4]) + (", ..." if len(pairs) > 4 else "")
    low = min(mapping)
    how = (
        f"y = y - {low:g}"
        if all(new == old - low for old, new in pairs)
        else f"y = (y == {max(mapping):g}).astype(int)"
    )
    return Fix(
        "relabel_targets",
        f"relabel the targets{_where(output)} as the loss reads them ({shown}): {how}",
        apply,
        data_note=f"relabel the targets before fit (and read predictions back the same way): {how}",
        prepare=prepare,
    )


def resize_output(layer: str, units: int) -> Fix:
    """The output layer rebuilt with `units` units (one per class index the targets hold), freshly
    initialized; every other layer keeps its weights."""

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        def clone(old: keras.layers.Layer) -> keras.layers.Layer:
            config = old.get_config()
            if old.name == layer:
                config["units"] = units
            return old.__class__.from_config(config)

        new = keras.models.clone_model(model, clone_function=clone)
        for old in model.layers:
            if old.weights and old.name != layer:
                new.get_layer(old.name).set_weights(old.get_weights())
        return compile_like(model, new), data, {}

    return Fix("resize_output", f"give the output layer {layer!r} units={units}: one per class index", apply)


# ------------------------------------------------------------------ initialization


def kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The trainable top-level layers with a `kernel` (Dense, Conv*, ...), input side first."""
    return [
        layer
        for layer in model.layers
        if isinstance(getattr(layer, "kernel", None), keras.Variable) and layer.trainable
    ]


def _reads_only(layer: keras.layers.Layer, previous: keras.layers.Layer) -> bool:
    """Whether `layer` is called once, on `previous`'s output alone (a link of a chain, in a
    Sequential or a functional model)."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if len(nodes) != 1:
        return False
    tensors = keras.tree.flatten(nodes[0].arguments.args)
    history = getattr(tensors[0], "_keras_history", None) if len(tensors) == 1 else None
    return history is not None and history.operation is previous


def reinitialize(seed: int) -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        clone = copy_model(model)
        mirrored = None  # the previous kernel layer, when it was made looks-linear (its outputs mirrored)
        for i, layer in enumerate(kernel_layers(clone)):
            shape = tuple(layer.kernel.shape)
            rectifier = looks_linear_suits(layer_activation(layer)) and shape[-1] % 2 == 0
            reads_mirrored = mirrored is not None and _reads_only(layer, mirrored)
            if rectifier and not (reads_mirrored and shape[-2] % 2):
                init: Any = LooksLinear(input_mirrored=reads_mirrored, seed=seed + i)
                mirrored = layer
            else:
                init = keras.initializers.Orthogonal(seed=seed + i)
                mirrored = None
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


def learning_rate(rate: float, why: str = "the range test's valley", alternatives: tuple[Fix, ...] = ()) -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model, optimizer=copy_optimizer(model.optimizer, learning_rate=rate)), data, {}

    return Fix(
        "learning_rate",
        f"set the learning rate to {rate:.2g} ({why}), or scale your schedule so that its "
        f"peak is {rate:.2g} (e.g. kerasboost.schedules.OneCycle(maximal_learning_rate={rate:.2g}, ...))",
        apply,
        alternatives=alternatives,
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


def input_layer_names(model: keras.Model) -> list[str]:
    """The names of the model's input layers, in the order of `model.inputs` (the order
    `keras.tree.flatten` gives the arrays of `x`)."""
    return [tensor._keras_history.operation.name for tensor in model.inputs]


def normalize_inputs(inputs: list[int] | None = None) -> Fix:
    """A `keras.layers.Normalization` with the training rows' statistics on each of the model's
    inputs listed in `inputs` (positions in `model.inputs`; None: the first), inside a copy of
    the model (saved with it, so inference is standardized too). A Sequential model gets it as
    its first layer; a functional one, in front of every layer that reads that input."""
    chosen = [0] if inputs is None else list(inputs)

    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        arrays = keras.tree.flatten(data.x)
        names = input_layer_names(model)
        layers = {}
        for i in chosen:
            mean, variance = feature_statistics(np.asarray(arrays[i]))
            name = "input_normalization" if len(names) == 1 else f"{names[i]}_normalization"
            layers[names[i]] = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, name=name)
        if isinstance(model, keras.Sequential):  # fresh layers: a layer called twice has no single `output`
            fresh = [layer.__class__.from_config(layer.get_config()) for layer in model.layers]
            shape = tuple(model.inputs[0].shape[1:])
            new = keras.Sequential([keras.Input(shape), layers[names[0]], *fresh], name=model.name)
            for old, layer in zip(model.layers, fresh):
                layer.set_weights(old.get_weights())
            return compile_like(model, new), data, {}

        # the copy's inputs, made here so that the layers reading them can be told by identity
        fresh = keras.tree.map_structure(
            lambda t: keras.Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history.operation.name),
            model.input,
        )
        by_id = {id(t): layers[n] for t, n in zip(keras.tree.flatten(fresh), names) if n in layers}

        def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
            def standardized(tensor: Any) -> Any:
                return by_id[id(tensor)](tensor) if id(tensor) in by_id else tensor

            return layer(*keras.tree.map_structure(standardized, args), **kwargs)

        new = keras.models.clone_model(model, input_tensors=fresh, call_function=call)
        for layer in model.layers:
            if layer.weights:
                new.get_layer(layer.name).set_weights(layer.get_weights())
        return compile_like(model, new), data, {}

    which = "" if len(chosen) == 1 and inputs is None else f" (inputs {chosen} of model.inputs)"
    return Fix(
        "normalize_inputs",
        "standardize the inputs inside the model" + which + ": a keras.layers.Normalization(axis=-1, mean=..., "
        "variance=...) with the training set's statistics (normalization.adapt(x_train), with a floor on "
        "near-constant features' variance) as the first layer, or applied to the keras.Input before the layers "
        "that read it; it is saved with the model, so inference sees the same scaling",
        apply,
    )


def drop_nonfinite_rows() -> Fix:
    def apply(model: keras.Model, data: Data) -> tuple[keras.Model, Data, dict]:
        return copy_model(model), data.without_nonfinite_rows(), {}

    def prepare(x: Any, y: Any) -> tuple[Any, Any]:
        keep = ~nonfinite_rows(x, y)
        return take(x, keep), take(y, keep)

    how = "keep = np.isfinite(x.reshape(len(x), -1)).all(axis=1); x, y = x[keep], y[keep]"
    return Fix(
        "drop_nonfinite_rows",
        f"drop (or impute) the rows holding NaN / Inf before training: {how}",
        apply,
        data_note=f"drop (or impute) the rows holding NaN / Inf before fit: {how}",
        prepare=prepare,
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
        prepare=lambda x, y: (x, scaled(y)),
        unprepare=lambda: keras.layers.Rescaling(
            scale=[float(v) for v in np.asarray(std).reshape(-1)],
            offset=[float(v) for v in np.asarray(mean).reshape(-1)],
            name="original_units",
        ),
    )


def _numbers(values: np.ndarray) -> str:
    flat = [f"{v:.6g}" for v in np.asarray(values).reshape(-1)]
    return flat[0] if len(flat) == 1 else "np.array([" + ", ".join(flat) + "])"
