"""Freeze and unfreeze the layers of a (nested) Keras model, BatchNormalization kept in inference mode."""

from __future__ import annotations

import dataclasses
import numbers

import keras
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_bool, fail

_NORMALIZATION = (keras.layers.BatchNormalization,)


def _is_container(layer) -> bool:
    return isinstance(layer, keras.Model) or (type(layer).__name__ == "Sequential")


@kerasboost_export("kerasboost.transfer.leaf_layers", register=False)
def leaf_layers(model: keras.Model) -> list:
    """The layers of `model` in order, nested models opened (input layers left out).

    Args:
        model: a Keras model (Sequential or functional; nested ones are opened).

    Returns:
        The list of layers; indices into it are what `freeze`/`unfreeze` take.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d1")], name="base")
    >>> model = keras.Sequential([base, keras.layers.Dense(2, name="head")])
    >>> [layer.name for layer in kerasboost.transfer.leaf_layers(model)]
    ['d1', 'head']

    ```
    """
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if _is_container(layer):
            out.extend(leaf_layers(layer))
        else:
            out.append(layer)
    return out


def _containers(model) -> list:
    out = [model]
    for layer in model.layers:
        if _is_container(layer):
            out.extend(_containers(layer))
    return out


def layer_position(model, leaves: list, value, name: str) -> tuple[int, int]:
    """The (first, last) leaf index that a layer name, path, nested model or index designates."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if not -len(leaves) <= int(value) < len(leaves):
            raise fail(
                name, f"a layer index in [{-len(leaves)}, {len(leaves) - 1}] (leaf layers of {model.name})", value
            )
        i = int(value) % len(leaves)
        return i, i
    if isinstance(value, str):
        for i, layer in enumerate(leaves):
            if value in (layer.name, getattr(layer, "path", None)):
                return i, i
        for container in _containers(model)[1:]:
            if value in (container.name, getattr(container, "path", None)):
                inner = leaf_layers(container)
                return leaves.index(inner[0]), leaves.index(inner[-1])
        names = [layer.name for layer in leaves]
        raise fail(name, f"the name of a layer of {model.name} (one of {names}) or a nested model", value)
    raise fail(name, "a layer name, a nested model's name or a leaf-layer index", value)


def _apply(model, trainable: list[bool]) -> None:
    # a container's `trainable` setter resets every layer inside it: open the containers first
    for container in _containers(model):
        container.trainable = True
    for layer, flag in zip(leaf_layers(model), trainable):
        layer.trainable = flag


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise fail("model", "a keras.Model", model)


@dataclasses.dataclass
class TrainableSummary:
    """Per-layer trainable flags and parameter counts (`rows`), with totals."""

    rows: list[dict]

    @property
    def trainable_params(self) -> int:
        return sum(r["trainable_params"] for r in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return sum(r["non_trainable_params"] for r in self.rows)

    def __str__(self) -> str:
        width = max([len(r["layer"]) for r in self.rows] + [5])
        lines = [f"{'layer':<{width}}  trainable  trainable params  non-trainable params"]
        for r in self.rows:
            lines.append(
                f"{r['layer']:<{width}}  {r['trainable']!s:<9}  {r['trainable_params']:>16,}  "
                f"{r['non_trainable_params']:>20,}"
            )
        lines.append(f"{'total':<{width}}  {'':<9}  {self.trainable_params:>16,}  {self.non_trainable_params:>20,}")
        return "\n".join(lines)


@kerasboost_export("kerasboost.transfer.trainable_summary", register=False)
def trainable_summary(model: keras.Model) -> TrainableSummary:
    """Which leaf layers train, and how many parameters are trainable and frozen.

    Args:
        model: a built Keras model.

    Returns:
        A `TrainableSummary` (`rows`, `trainable_params`, `non_trainable_params`; `print` it).

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    >>> summary = kerasboost.transfer.freeze(model, until=0)
    >>> summary.trainable_params, summary.non_trainable_params   # 3*2+2 ; 4*3+3
    (8, 15)

    ```
    """
    _check_model(model)

    def count(variables):
        return int(sum(np.prod(v.shape) for v in variables))

    rows = [
        {
            "layer": getattr(layer, "path", layer.name),
            "trainable": bool(layer.trainable),
            "trainable_params": count(layer.trainable_weights),
            "non_trainable_params": count(layer.non_trainable_weights),
        }
        for layer in leaf_layers(model)
    ]
    return TrainableSummary(rows)


@kerasboost_export("kerasboost.transfer.freeze", register=False)
def freeze(model: keras.Model, until: str | int | None = None) -> TrainableSummary:
    """Freeze the layers from the input up to and including `until` (all when None).

    Layers after `until` keep their flags. A frozen `BatchNormalization`
    layer runs in inference mode in Keras 3 (its moving statistics stay as
    they are, also in `fit`). Recompile the model after changing flags (or use
    `GradualUnfreezing`, which does what is needed during `fit`).

    Args:
        model: a built `keras.Model` (nested models are opened).
        until: a layer name or path, a nested model's name (its last layer),
            or an index into `leaf_layers(model)`; None freezes every layer.

    Returns:
        The `TrainableSummary` after the change.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")])
    >>> [row["trainable"] for row in kerasboost.transfer.freeze(model, until="a").rows]
    [False, True]

    ```
    """
    _check_model(model)
    leaves = leaf_layers(model)
    last = len(leaves) - 1 if until is None else layer_position(model, leaves, until, "until")[1]
    flags = [bool(layer.trainable) and i > last for i, layer in enumerate(leaves)]
    _apply(model, flags)
    return trainable_summary(model)


@kerasboost_export("kerasboost.transfer.unfreeze", register=False)
def unfreeze(
    model: keras.Model, start: str | int | None = None, keep_batch_norm_frozen: bool = True
) -> TrainableSummary:
    """Unfreeze the layers from `start` to the output (all when None).

    By default `BatchNormalization` layers stay frozen, so they keep running
    in inference mode with the statistics of the pre-training data: updating
    them from small fine-tuning batches is the known way to wreck a
    pre-trained network when it is unfrozen (the Keras transfer-learning
    guide's warning).

    Args:
        model: a built `keras.Model` (nested models are opened).
        start: a layer name or path, a nested model's name (its first layer),
            or an index into `leaf_layers(model)`; None unfreezes every layer.
        keep_batch_norm_frozen: bool, leave BatchNormalization layers frozen.
            Defaults to True.

    Returns:
        The `TrainableSummary` after the change.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"),
    ...                           keras.layers.BatchNormalization(name="bn"), keras.layers.Dense(2, name="b")])
    >>> _ = kerasboost.transfer.freeze(model)
    >>> [row["trainable"] for row in kerasboost.transfer.unfreeze(model, start="a").rows]
    [True, False, True]

    ```
    """
    _check_model(model)
    keep = check_bool("keep_batch_norm_frozen", keep_batch_norm_frozen)
    leaves = leaf_layers(model)
    first = 0 if start is None else layer_position(model, leaves, start, "start")[0]
    flags = [
        bool(layer.trainable) or (i >= first and not (keep and isinstance(layer, _NORMALIZATION)))
        for i, layer in enumerate(leaves)
    ]
    _apply(model, flags)
    return trainable_summary(model)
