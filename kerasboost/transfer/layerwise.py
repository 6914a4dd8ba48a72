"""Layer-wise learning-rate decay (discriminative fine-tuning)."""

from __future__ import annotations

from typing import Any

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.layerwise_learning_rate import LayerwiseLearningRate
from kerasboost.optimizers.wrapper import as_optimizer
from kerasboost.transfer.freezing import leaf_layers
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.transfer.layerwise_lr_decay", register=False)
def layerwise_lr_decay(
    model: keras.Model, optimizer: Any, decay: float, groups: list | None = None
) -> LayerwiseLearningRate:
    """An optimizer giving each layer group the learning rate times `decay ** depth_from_top`.

    The group nearest the output has depth 0 (full rate), the one before it
    depth 1, and so on toward the input. By default every leaf layer that
    has weights is a group; pass `groups` (lists of layer names, input side
    first) to group blocks. The result is a `LayerwiseLearningRate` around
    `optimizer`: one optimizer, one state, saved with the model.

    Args:
        model: a built `keras.Model`.
        optimizer: the optimizer to wrap (instance, config or name).
        decay: float in (0, 1].
        groups: optional list of lists of layer names (or nested model names),
            input side first; layers in no group keep the full rate.

    Returns:
        A `kerasboost.optimizers.LayerwiseLearningRate`.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4, name=f"d{i}") for i in range(3)])
    >>> optimizer = kerasboost.transfer.layerwise_lr_decay(model, keras.optimizers.Adam(1e-3), decay=0.5)
    >>> [optimizer.scale_of(layer.kernel) for layer in model.layers]
    [0.25, 0.5, 1.0]

    ```

    References:
        - Howard & Ruder, 2018, "Universal Language Model Fine-tuning for Text
          Classification", https://arxiv.org/abs/1801.06146
    """
    decay = check_number("decay", decay, low=0.0, high=1.0, low_inclusive=False)
    optimizer = as_optimizer(optimizer)
    leaves = leaf_layers(model)
    if groups is None:
        paths = [[layer.path] for layer in leaves if layer.weights]
    else:
        if (
            not isinstance(groups, (list, tuple))
            or not groups
            or not all(isinstance(g, (list, tuple)) and g for g in groups)
        ):
            raise fail("groups", "a non-empty list of non-empty lists of layer names", groups)
        known = {layer.name: layer.path for layer in leaves}
        known.update({c.name: c.path for c in _nested(model)})
        paths = []
        for group in groups:
            missing = [name for name in group if name not in known]
            if missing:
                raise fail(
                    "groups", f"names of layers of {model.name} (unknown: {missing}; known: {sorted(known)})", groups
                )
            paths.append([known[name] for name in group])
    scales = {}
    for depth, group in enumerate(reversed(paths)):
        for path in group:
            scales[path] = decay**depth
    return LayerwiseLearningRate(optimizer, scales)


def _nested(model) -> list:
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer is not model:
            out.append(layer)
            out.extend(_nested(layer))
    return out
