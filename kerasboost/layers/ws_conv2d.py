"""Weight-standardized 2-D convolution (Qiao et al. 2019)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import init_conv
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.layers.WSConv2D")
class WSConv2D(keras.layers.Conv2D):
    """A `Conv2D` whose kernel is standardized per output channel before use.

    Each output channel's kernel is shifted to zero mean and scaled to unit
    variance over its fan-in (kernel height x width x input channels):

        W_hat = (W - mean(W)) / sqrt(var(W) + epsilon)

    The stored variable stays `W`; the standardization is part of the
    forward pass, so gradients flow through it. Weight standardization
    smooths the loss landscape and, with Group or Instance normalization,
    matches batch normalization at micro-batch sizes. Takes every
    `keras.layers.Conv2D` argument.

    Args:
        *args: `keras.layers.Conv2D`'s positional arguments (`filters`, `kernel_size`, ...).
        epsilon: float > 0 added to the variance. Defaults to `1e-5`.
        **kwargs: `keras.layers.Conv2D`'s other arguments (`padding`, `activation`, ...).

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([
    ...     keras.Input((8, 8, 3)),
    ...     kerasboost.layers.WSConv2D(8, 3, padding="same"),
    ...     keras.layers.GroupNormalization(groups=4),
    ... ])
    >>> model.output_shape
    (None, 8, 8, 8)

    ```

    References:
        - Qiao, Wang, Liu, Shen & Yuille, 2019, "Micro-Batch Training with
          Batch-Channel Normalization and Weight Standardization",
          https://arxiv.org/abs/1903.10520
    """

    def __init__(self, *args: Any, epsilon: float = 1e-5, **kwargs: Any) -> None:
        init_conv(super().__init__, self, args, kwargs)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)

    def standardized_kernel(self, kernel=None):
        """The kernel the convolution applies (from `kernel`, default this layer's)."""
        kernel = ops.convert_to_tensor(self.kernel if kernel is None else kernel)
        dtype, kernel = kernel.dtype, ops.cast(kernel, "float32")
        mean, variance = ops.moments(kernel, axes=(0, 1, 2), keepdims=True)
        return ops.cast((kernel - mean) * ops.rsqrt(variance + self.epsilon), dtype)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, self.standardized_kernel(kernel))

    def get_config(self) -> dict:
        return {**super().get_config(), "epsilon": self.epsilon}
