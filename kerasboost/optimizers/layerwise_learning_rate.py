"""Per-layer learning-rate multipliers for any optimizer."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.wrapper import OptimizerWrapper
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.optimizers.LayerwiseLearningRate")
class LayerwiseLearningRate(OptimizerWrapper):
    """Give each layer (or any variable-path prefix) its own learning-rate multiplier.

    The inner optimizer takes its step as usual; the change it makes to a
    variable is then multiplied by that variable's scale:
    `w <- w_before + scale * (w_after - w_before)`. For every optimizer whose
    step is proportional to the learning rate (SGD with or without momentum,
    RMSprop, Adagrad, Adam, AdamW with its decoupled weight decay, RAdam,
    AdaBelief, ...) this is exactly training that variable with the learning
    rate multiplied by `scale`: the slots (moments) do not depend on the rate,
    and SGD's momentum buffer, which does, stays proportional. It is what
    PyTorch's parameter groups with different `lr` give, on one Keras
    optimizer, with one saved state. `kerasboost.transfer.layerwise_lr_decay`
    builds it with `decay ** depth` per layer.

    A variable takes the scale of the longest key that is its path or a prefix
    of it at a `/` boundary (`"encoder"` covers `"encoder/dense/kernel"`);
    other variables take `default_scale`. Scales of exactly 1 cost nothing.

    Args:
        optimizer: the inner optimizer (instance, config or name).
        scales: dict from a variable path or path prefix (a layer's `path`,
            e.g. `"sequential/dense_2"`) to a float >= 0.
        default_scale: float >= 0 for variables no key covers. Defaults to 1.0.
        name: optional name.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((1,))] + [
    ...     keras.layers.Dense(1, use_bias=False, kernel_initializer="ones", name=n) for n in "ab"])
    >>> optimizer = kerasboost.optimizers.LayerwiseLearningRate(keras.optimizers.SGD(0.1), {model.layers[0].path: 0.5})
    >>> model.compile(optimizer=optimizer, loss=lambda y, p: keras.ops.mean(p))   # dL/dw = 1 for both
    >>> _ = model.fit(np.ones((1, 1)), np.ones((1, 1)), verbose=0)
    >>> [round(float(layer.kernel[0, 0]), 4) for layer in model.layers]   # 1 - 0.5 * 0.1, 1 - 0.1
    [0.95, 0.9]

    ```

    References:
        - Howard & Ruder, 2018, "Universal Language Model Fine-tuning for Text
          Classification", https://arxiv.org/abs/1801.06146 (discriminative fine-tuning)
        - Clark et al., 2020, "ELECTRA: Pre-training Text Encoders as
          Discriminators Rather Than Generators", https://arxiv.org/abs/2003.10555
          (layer-wise learning-rate decay)
    """

    def __init__(
        self, optimizer: Any, scales: dict, default_scale: float = 1.0, name: str | None = None, **kwargs: Any
    ) -> None:
        allowed = "a dict from variable paths or path prefixes (non-empty strings) to finite floats >= 0"
        if not isinstance(scales, dict) or not all(isinstance(k, str) and k for k in scales):
            raise fail("scales", allowed, scales)
        try:
            checked = {k.rstrip("/"): check_number("scales", v, low=0.0) for k, v in scales.items()}
        except ValueError:
            raise fail("scales", allowed, scales) from None
        default_scale = check_number("default_scale", default_scale, low=0.0)
        super().__init__(optimizer, name=name, **kwargs)
        self.scales, self.default_scale = checked, default_scale

    def scale_of(self, variable) -> float:
        """The multiplier of a variable (by its `path`)."""
        path = getattr(variable, "path", variable.name)
        keys = [k for k in self.scales if path == k or path.startswith(k + "/")]
        return self.scales[max(keys, key=len)] if keys else self.default_scale

    def apply_wrapped(self, grads, variables):
        scales = [self.scale_of(v) for v in variables]
        before = [None if s == 1.0 else ops.copy(v.value) for v, s in zip(variables, scales)]
        super().apply_wrapped(grads, variables)
        for v, b, s in zip(variables, before, scales):
            if b is not None:
                v.assign(b + ops.cast(s, b.dtype) * (v.value - b))

    def get_config(self):
        config = super().get_config()
        config.update({"scales": dict(self.scales), "default_scale": self.default_scale})
        return config
