"""Swish with a (trainable) beta (Ramachandran et al. 2017)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.layers.Swish")
class Swish(keras.layers.Layer):
    """`y = x * sigmoid(beta * x)` with a learned scalar `beta`.

    Ramachandran et al. found swish by automated search; with `beta = 1` it
    is SiLU (`keras.activations.silu`), as `beta -> inf` it tends to ReLU and
    at `beta = 0` it is `x / 2`. Learning `beta` lets each layer pick its own
    point on that family. Pass `trainable=False` for a fixed beta.

    Args:
        beta: float, the initial `beta`. Defaults to `1.0`.
        **kwargs: base layer arguments (`trainable=False` freezes `beta`).

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> y = kerasboost.layers.Swish(beta=1.0)(np.array([[0.0, 2.0]], "float32"))
    >>> np.round(np.asarray(y), 4)
    array([[0.    , 1.7616]], dtype=float32)

    ```

    References:
        - Ramachandran, Zoph & Le, 2017, "Searching for Activation Functions",
          https://arxiv.org/abs/1710.05941
    """

    def __init__(self, beta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.beta_value = check_number("beta", beta)
        self.supports_masking = True

    def build(self, input_shape):
        self.beta = self.add_weight(name="beta", shape=(), initializer=keras.initializers.Constant(self.beta_value))
        self.built = True

    def call(self, inputs):
        return inputs * ops.sigmoid(ops.cast(self.beta, inputs.dtype) * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "beta": self.beta_value}
