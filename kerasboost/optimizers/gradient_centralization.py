"""Gradient centralization (Yong et al. 2020)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.wrapper import OptimizerWrapper


@kerasboost_export("kerasboost.optimizers.GradientCentralization")
class GradientCentralization(OptimizerWrapper):
    """Remove the mean from each output unit's gradient of every kernel.

    For every gradient of rank >= 2 (Dense and convolution kernels):

        g <- g - mean(g over all axes but the last)

    i.e. per output unit (column of a Dense kernel, output channel of a
    convolution) the gradient is projected onto the hyperplane of zero-mean
    weight changes; biases and normalization parameters are left alone. Yong
    et al. show it regularizes both the weight space and the output feature
    space, smooths the loss landscape and speeds up training; it has no
    hyperparameter.

    Args:
        optimizer: the inner optimizer (instance, config or name).
        name: the optimizer's name.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> optimizer = kerasboost.optimizers.GradientCentralization(keras.optimizers.SGD(0.1, momentum=0.9))

    ```

    References:
        - Yong, Huang, Hua & Zhang, 2020, "Gradient Centralization: A New
          Optimization Technique for Deep Neural Networks",
          https://arxiv.org/abs/2004.01461
    """

    def __init__(self, optimizer: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(optimizer, name=name, **kwargs)

    def transform_gradients(self, grads, variables):
        centred = []
        for g in grads:
            if g is None or len(g.shape) < 2:
                centred.append(g)
            else:
                axes = tuple(range(len(g.shape) - 1))
                centred.append(g - ops.mean(g, axis=axes, keepdims=True))
        return centred
