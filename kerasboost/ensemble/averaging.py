"""Average the outputs of several models in one Keras model."""

from __future__ import annotations

import numbers

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_choice, fail

_MODES = ("mean", "geometric")


def _check_weights(weights, count: int | None = None) -> list[float] | None:
    if weights is None:
        return None
    ok = (
        isinstance(weights, (list, tuple))
        and len(weights) >= 1
        and all(
            isinstance(w, numbers.Real) and not isinstance(w, bool) and 0 <= float(w) < float("inf") for w in weights
        )
    )
    if not ok or sum(weights) <= 0 or (count is not None and len(weights) != count):
        allowed = "None or a list of finite numbers >= 0 with a positive sum" + (
            f", one per model ({count})" if count else ""
        )
        raise fail("weights", allowed, weights)
    total = float(sum(weights))
    return [float(w) / total for w in weights]


@kerasboost_export("kerasboost.ensemble.EnsembleAverage")
class EnsembleAverage(keras.layers.Layer):
    """Average a list of same-shaped tensors, arithmetically or geometrically.

    - `"mean"`: `sum_i w_i * x_i` (weights normalized to sum to 1);
    - `"geometric"`: for probability outputs: `exp(sum_i w_i * log x_i)`,
      renormalized over the last axis so that it sums to 1 again (the
      product-of-experts average; inputs must be positive, they are clipped
      at 1e-7 in float32).

    Args:
        weights: optional list of floats >= 0, one per input. Defaults to equal weights.
        mode: `"mean"` (default) or `"geometric"`.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> layer = kerasboost.ensemble.EnsembleAverage(weights=[3, 1])
    >>> np.asarray(layer([np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])]))
    array([[0.75, 0.25]], dtype=float32)

    ```

    References:
        - Hinton, 2002, "Training Products of Experts by Minimizing Contrastive
          Divergence", https://doi.org/10.1162/089976602760128018 (the
          geometric combination)
    """

    def __init__(self, weights: list | None = None, mode: str = "mean", **kwargs) -> None:
        checked = _check_weights(weights)
        mode = check_choice("mode", mode, _MODES)
        super().__init__(**kwargs)
        self.member_weights = None if weights is None else [float(w) for w in weights]
        self._normalized = checked
        self.mode = mode

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise ValueError(f"{self.name}: expected a non-empty list of tensors; received {type(inputs).__name__}.")
        n = len(inputs)
        weights = self._normalized or [1.0 / n] * n
        if len(weights) != n:
            raise ValueError(f"{self.name}: {len(weights)} weights for {n} inputs.")
        if self.mode == "mean":
            return sum(w * ops.cast(x, self.compute_dtype) for w, x in zip(weights, inputs))
        logs = sum(w * ops.log(ops.maximum(ops.cast(x, "float32"), 1e-7)) for w, x in zip(weights, inputs))
        logs = logs - ops.max(logs, axis=-1, keepdims=True)
        probs = ops.exp(logs)
        return ops.cast(probs / ops.sum(probs, axis=-1, keepdims=True), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"weights": self.member_weights, "mode": self.mode})
        return config


def _shape(model) -> tuple:
    return tuple(model.outputs[0].shape[1:]) if getattr(model, "outputs", None) else tuple(model.output_shape[1:])


@kerasboost_export("kerasboost.ensemble.average_models", register=False)
def average_models(
    models: list, weights: list | None = None, mode: str = "mean", name: str = "ensemble"
) -> keras.Model:
    """One functional model whose output averages the members' outputs.

    The members become nested models of the result (the result shares their
    weights), so it trains, predicts and saves as one `.keras` file that
    loads with `safe_mode=True`. Members with the same name (snapshots of one
    model, files loaded twice) are cloned with their weights under distinct
    names.

    Args:
        models: a list of >= 2 built Keras models with one input and one
            output each, of the same shapes.
        weights: optional list of floats >= 0, one per model.
        mode: `"mean"` (default) or `"geometric"` (for probability outputs;
            see `EnsembleAverage`).
        name: the name of the result. Defaults to `"ensemble"`.

    Returns:
        A `keras.Model`.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> constant = keras.initializers.Constant
    >>> members = [keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer=constant(c))])
    ...            for c in (1.0, 3.0)]
    >>> ensemble = kerasboost.ensemble.average_models(members)
    >>> ensemble.predict(np.ones((1, 2)), verbose=0)   # (2 + 6) / 2
    array([[4.]], dtype=float32)

    ```

    References:
        - Dietterich, 2000, "Ensemble Methods in Machine Learning",
          https://doi.org/10.1007/3-540-45014-9_1
    """
    if not isinstance(models, (list, tuple)) or len(models) < 2 or not all(isinstance(m, keras.Model) for m in models):
        raise fail("models", "a list of at least 2 keras.Model instances", models)
    mode = check_choice("mode", mode, _MODES)
    _check_weights(weights, len(models))
    for m in models:
        if len(m.inputs or []) != 1 or len(m.outputs or []) != 1:
            raise fail("models", "models with one input and one output each (built, e.g. with keras.Input)", m.name)
    shapes = [_shape(m) for m in models]
    if len(set(shapes)) != 1:
        raise fail("models", "models whose outputs have the same shape", {m.name: s for m, s in zip(models, shapes)})
    in_shapes = [tuple(m.inputs[0].shape[1:]) for m in models]
    if len(set(in_shapes)) != 1:
        raise fail("models", "models whose inputs have the same shape", {m.name: s for m, s in zip(models, in_shapes)})
    members: list[keras.Model] = []
    seen: set[str] = set()
    for i, m in enumerate(models):
        if m.name in seen or any(m is other for other in members):
            clone = keras.models.clone_model(m)
            clone.set_weights(m.get_weights())
            clone.name = f"{m.name}_member_{i}"
            m = clone
        seen.add(m.name)
        members.append(m)
    inputs = keras.Input(in_shapes[0], dtype=models[0].inputs[0].dtype)
    outputs = EnsembleAverage(weights=None if weights is None else list(weights), mode=mode, name="average")(
        [m(inputs) for m in members]
    )
    return keras.Model(inputs, outputs, name=name)
