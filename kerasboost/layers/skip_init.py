"""SkipInit: a learnable residual-branch scalar initialised at zero (De & Smith 2020)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.layers.SkipInit")
class SkipInit(keras.layers.Layer):
    """Multiply a residual branch by a learned scalar `alpha` that starts at 0.

    Use it on the branch: `x + SkipInit()(f(x))`. At initialization every
    residual block is then the identity, so a very deep residual network
    starts as a shallow one and trains without normalization layers. De &
    Smith show this is what batch normalization does for deep ResNets
    (it shrinks the residual branch relative to the skip path).

    Args:
        alpha: float, the initial value of `alpha`. Defaults to `0.0`.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> inputs = keras.Input((8,))
    >>> branch = keras.layers.Dense(8, activation="relu")(inputs)
    >>> model = keras.Model(inputs, keras.layers.Add()([inputs, kerasboost.layers.SkipInit()(branch)]))
    >>> x = keras.ops.ones((2, 8))
    >>> bool(keras.ops.all(model(x) == x))   # the identity at initialization
    True

    ```

    References:
        - De & Smith, 2020, "Batch Normalization Biases Residual Blocks Towards
          the Identity Function in Deep Networks", https://arxiv.org/abs/2002.10444
    """

    def __init__(self, alpha: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_value = check_number("alpha", alpha)
        self.supports_masking = True

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=(), initializer=keras.initializers.Constant(self.alpha_value))
        self.built = True

    def call(self, inputs):
        return inputs * ops.cast(self.alpha, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha_value}
