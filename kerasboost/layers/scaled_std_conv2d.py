"""Scaled weight-standardized 2-D convolution (Brock et al. 2021)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import init_conv
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.layers.ScaledStdConv2D")
class ScaledStdConv2D(keras.layers.Conv2D):
    """The normalizer-free networks' convolution: scaled weight standardization with a learned gain.

    Each output channel's kernel is standardized over its fan-in `N`
    (kernel height x width x input channels), scaled by `1/sqrt(N)` so that
    the convolution preserves the variance of its input, and by the
    activation's gain `gamma` and a learned per-channel `gain`:

        W_hat = gain * gamma * (W - mean(W)) / sqrt(max(N * var(W), epsilon))

    For ReLU, `gamma = sqrt(2 / (1 - 1/pi)) ~= 1.7139` keeps a ReLU network's
    signal at unit variance (Brock et al., Appendix D); for a linear
    next-layer use `1.0`. Takes every `keras.layers.Conv2D` argument.

    Args:
        *args: `keras.layers.Conv2D`'s positional arguments (`filters`, `kernel_size`, ...).
        gamma: float > 0, the fixed activation gain. Defaults to `1.0`.
        epsilon: float > 0, the floor of `N * var(W)`. Defaults to `1e-4`.
        gain_initializer: initializer of the learned per-channel `gain`.
            Defaults to `"ones"`.
        **kwargs: `keras.layers.Conv2D`'s other arguments (`padding`, `activation`, ...).

    Example:

    ```python
    >>> import math, keras, kerasboost
    >>> relu_gamma = math.sqrt(2 / (1 - 1 / math.pi))
    >>> conv = kerasboost.layers.ScaledStdConv2D(8, 3, gamma=relu_gamma, activation="relu")
    >>> tuple(conv(keras.ops.ones((1, 5, 5, 3))).shape)
    (1, 3, 3, 8)

    ```

    References:
        - Brock, De & Smith, 2021, "Characterizing signal propagation to close
          the performance gap in unnormalized ResNets",
          https://arxiv.org/abs/2101.08692
        - Brock, De, Smith & Simonyan, 2021, "High-Performance Large-Scale
          Image Recognition Without Normalization", https://arxiv.org/abs/2102.06171
    """

    def __init__(
        self, *args: Any, gamma: float = 1.0, epsilon: float = 1e-4, gain_initializer: Any = "ones", **kwargs: Any
    ) -> None:
        init_conv(super().__init__, self, args, kwargs)
        self.gamma = check_number("gamma", gamma, low=0.0, low_inclusive=False)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
        try:
            self.gain_initializer = keras.initializers.get(gain_initializer)
        except (ValueError, TypeError) as e:
            raise fail("gain_initializer", "a Keras initializer, its name or its config", gain_initializer) from e

    def build(self, input_shape):
        super().build(input_shape)
        self.gain = self.add_weight(name="gain", shape=(self.filters,), initializer=self.gain_initializer)

    # keras' convolutions save and load only kernel and bias; save every variable (the gain too)
    save_own_variables = keras.layers.Layer.save_own_variables
    load_own_variables = keras.layers.Layer.load_own_variables

    def standardized_kernel(self, kernel=None):
        """The kernel the convolution applies (from `kernel`, default this layer's)."""
        kernel = ops.convert_to_tensor(self.kernel if kernel is None else kernel)
        dtype, kernel = kernel.dtype, ops.cast(kernel, "float32")
        fan_in = kernel.shape[0] * kernel.shape[1] * kernel.shape[2]
        mean, variance = ops.moments(kernel, axes=(0, 1, 2), keepdims=True)
        scale = ops.rsqrt(ops.maximum(variance * fan_in, self.epsilon))
        return ops.cast((kernel - mean) * scale * (ops.cast(self.gain, "float32") * self.gamma), dtype)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, self.standardized_kernel(kernel))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "epsilon": self.epsilon,
            "gain_initializer": keras.initializers.serialize(self.gain_initializer),
        }
