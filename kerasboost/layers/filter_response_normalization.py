"""Filter response normalization (Singh & Krishnan 2020)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_bool, check_number, fail


@kerasboost_export("kerasboost.layers.FilterResponseNormalization")
class FilterResponseNormalization(keras.layers.Layer):
    """Normalize each channel by its mean square over the spatial axes (no mean subtraction).

    For every sample and channel, with `nu2 = mean(x^2)` over the spatial
    (or time) axes:

        y = gamma * x / sqrt(nu2 + |epsilon|) + beta

    No batch statistics, so it behaves the same for any batch size, in
    training and inference. The paper pairs it with `TLU` (a learned
    threshold), because FRN does not center its output: use
    `FilterResponseNormalization()` followed by `TLU()` in place of
    BatchNormalization + ReLU. With `learned_epsilon=True`, epsilon becomes
    `epsilon + |eps_l|` with a trainable `eps_l` (the paper's choice for
    1x1 feature maps). On a 2-D input (no spatial axes) `nu2 = x^2`.

    Args:
        axis: int, the channel axis (`-1` channels-last or `1`
            channels-first). Defaults to `-1`.
        epsilon: float > 0. Defaults to `1e-6`.
        learned_epsilon: bool. Defaults to `False`.
        beta_initializer: initializer of `beta`. Defaults to `"zeros"`.
        gamma_initializer: initializer of `gamma`. Defaults to `"ones"`.
        beta_regularizer: optional regularizer of `beta`.
        gamma_regularizer: optional regularizer of `gamma`.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([
    ...     keras.Input((8, 8, 3)),
    ...     keras.layers.Conv2D(4, 3),
    ...     kerasboost.layers.FilterResponseNormalization(),
    ...     kerasboost.layers.TLU(),
    ... ])
    >>> model.output_shape
    (None, 6, 6, 4)

    ```

    References:
        - Singh & Krishnan, 2020, "Filter Response Normalization Layer:
          Eliminating Batch Dependence in the Training of Deep Neural
          Networks", https://arxiv.org/abs/1911.09737
    """

    def __init__(
        self,
        axis: int = -1,
        epsilon: float = 1e-6,
        learned_epsilon: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if axis not in (-1, 1) or isinstance(axis, bool):
            raise fail("axis", "-1 (channels last) or 1 (channels first)", axis)
        self.axis = axis
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
        self.learned_epsilon = check_bool("learned_epsilon", learned_epsilon)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.supports_masking = True

    def _param_shape(self, rank):
        shape = [1] * rank
        shape[self.axis] = -1
        return shape

    def build(self, input_shape):
        channels = input_shape[self.axis]
        if channels is None:
            raise fail("input_shape", f"a known channel dimension on axis {self.axis}", input_shape)
        self.gamma = self.add_weight(
            name="gamma", shape=(channels,), initializer=self.gamma_initializer, regularizer=self.gamma_regularizer
        )
        self.beta = self.add_weight(
            name="beta", shape=(channels,), initializer=self.beta_initializer, regularizer=self.beta_regularizer
        )
        if self.learned_epsilon:
            self.eps_l = self.add_weight(name="eps_l", shape=(), initializer="zeros")
        self.built = True

    def call(self, inputs):
        rank = len(inputs.shape)
        channel = self.axis % rank
        axes = tuple(a for a in range(1, rank) if a != channel)
        x = ops.cast(inputs, "float32")
        nu2 = ops.mean(ops.square(x), axis=axes, keepdims=True) if axes else ops.square(x)
        epsilon = self.epsilon
        if self.learned_epsilon:
            epsilon = epsilon + ops.abs(ops.cast(self.eps_l, "float32"))
        y = x * ops.rsqrt(nu2 + epsilon)
        shape = self._param_shape(rank)
        y = ops.cast(y, self.compute_dtype)
        return y * ops.reshape(self.gamma, shape) + ops.reshape(self.beta, shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "learned_epsilon": self.learned_epsilon,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "beta_regularizer": keras.regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": keras.regularizers.serialize(self.gamma_regularizer),
        }
