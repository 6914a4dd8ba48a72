"""Maxout (Goodfellow et al. 2013)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.layers.Maxout")
class Maxout(keras.layers.Layer):
    """Split the features on `axis` into `num_units` groups and keep each group's maximum.

    A maxout unit is the maximum of `k` linear pieces, a learned convex
    piecewise-linear activation: put it after a `Dense(num_units * k)` (or a
    convolution with `num_units * k` filters). The features must divide
    evenly: group `j` holds features `j*k ... (j+1)*k - 1`. It never
    saturates and has no dead region, and Goodfellow et al. designed it to
    work with dropout.

    Args:
        num_units: int >= 1, the number of outputs on `axis`.
        axis: int, the feature axis. Defaults to `-1`.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> x = np.array([[1.0, 5.0, -2.0, 3.0, 0.0, -1.0]], "float32")
    >>> np.asarray(kerasboost.layers.Maxout(2)(x))
    array([[5., 3.]], dtype=float32)

    ```

    References:
        - Goodfellow, Warde-Farley, Mirza, Courville & Bengio, 2013, "Maxout
          Networks", https://arxiv.org/abs/1302.4389
    """

    def __init__(self, num_units: int, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_units = check_number("num_units", num_units, low=1, integer=True)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise fail("axis", "an int", axis)
        self.axis = axis

    def _axis(self, shape) -> int:
        if not -len(shape) < self.axis < len(shape) or self.axis % len(shape) == 0:
            raise fail("axis", f"a non-batch axis of the input of shape {tuple(shape)}", self.axis)
        return self.axis % len(shape)

    def build(self, input_shape):
        features = input_shape[self._axis(input_shape)]
        if features is None or features % self.num_units:
            raise fail("num_units", f"a divisor of the {features} features on axis {self.axis}", self.num_units)
        self.built = True

    def call(self, inputs):
        axis = self._axis(inputs.shape)
        features = inputs.shape[axis]
        shape = list(ops.shape(inputs))
        grouped = shape[:axis] + [self.num_units, features // self.num_units] + shape[axis + 1 :]
        return ops.max(ops.reshape(inputs, grouped), axis=axis + 1)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self._axis(input_shape)] = self.num_units
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_units": self.num_units, "axis": self.axis}
