"""Thresholded linear unit (Singh & Krishnan 2020)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import fail


@kerasboost_export("kerasboost.layers.TLU")
class TLU(keras.layers.Layer):
    """`y = max(x, tau)` with a learned per-channel threshold `tau`.

    The activation the paper pairs with `FilterResponseNormalization`: FRN
    does not center its output, and a ReLU (threshold fixed at 0) can then
    leave units dead; a learned threshold avoids it. With `tau = 0` it is a
    ReLU.

    Args:
        axis: int, the channel axis. Defaults to `-1`.
        tau_initializer: initializer of `tau`. Defaults to `"zeros"`.
        tau_regularizer: optional regularizer of `tau`.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> np.asarray(kerasboost.layers.TLU()(np.array([[-1.0, 2.0]], "float32")))
    array([[0., 2.]], dtype=float32)

    ```

    References:
        - Singh & Krishnan, 2020, "Filter Response Normalization Layer:
          Eliminating Batch Dependence in the Training of Deep Neural
          Networks", https://arxiv.org/abs/1911.09737
    """

    def __init__(
        self, axis: int = -1, tau_initializer: Any = "zeros", tau_regularizer: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise fail("axis", "an int", axis)
        self.axis = axis
        try:
            self.tau_initializer = keras.initializers.get(tau_initializer)
        except (ValueError, TypeError) as e:
            raise fail("tau_initializer", "a Keras initializer, its name or its config", tau_initializer) from e
        try:
            self.tau_regularizer = keras.regularizers.get(tau_regularizer)
        except (ValueError, TypeError) as e:
            raise fail("tau_regularizer", "None, a Keras regularizer, its name or its config", tau_regularizer) from e
        self.supports_masking = True

    def build(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or input_shape[self.axis] is None:
            raise fail("axis", f"an axis with a known size of the input of shape {input_shape}", self.axis)
        self.tau = self.add_weight(
            name="tau",
            shape=(input_shape[self.axis],),
            initializer=self.tau_initializer,
            regularizer=self.tau_regularizer,
        )
        self.built = True

    def call(self, inputs):
        shape = [1] * len(inputs.shape)
        shape[self.axis] = -1
        return ops.maximum(inputs, ops.reshape(ops.cast(self.tau, inputs.dtype), shape))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "tau_initializer": keras.initializers.serialize(self.tau_initializer),
            "tau_regularizer": keras.regularizers.serialize(self.tau_regularizer),
        }
