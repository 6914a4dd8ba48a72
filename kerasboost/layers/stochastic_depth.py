"""Stochastic depth for residual blocks (Huang et al. 2016)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers.drop_path import DropPath
from kerasboost.utils.validation import fail


@kerasboost_export("kerasboost.layers.StochasticDepth")
class StochasticDepth(DropPath):
    """Residual addition whose branch is dropped per sample: `shortcut + keep * branch`.

    Called on `[shortcut, branch]`. In training, each sample's branch
    survives with probability `1 - rate` and is then rescaled by
    `1 / (1 - rate)` (so the expected output equals `shortcut + branch`); at
    inference the output is exactly `shortcut + branch`. Huang et al. drop
    whole blocks of a very deep ResNet, which shortens the expected depth in
    training (faster, better gradient flow) and acts as an ensemble of
    shallower networks. Their rule for the rates is linear in depth:
    `kerasboost.layers.drop_path_rates(n_blocks, max_rate)`.

    The paper drops the branch for the whole mini-batch and rescales at
    inference; this layer drops per sample and rescales in training (the
    form modern residual networks use), so inference needs no scaling.

    Args:
        rate: float in [0, 1), the probability of dropping the branch.
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> inputs = keras.Input((16,))
    >>> branch = keras.layers.Dense(16, activation="relu")(inputs)
    >>> outputs = kerasboost.layers.StochasticDepth(0.2, seed=0)([inputs, branch])
    >>> keras.Model(inputs, outputs).output_shape
    (None, 16)

    ```

    References:
        - Huang, Sun, Liu, Sedra & Weinberger, 2016, "Deep Networks with
          Stochastic Depth", https://arxiv.org/abs/1603.09382
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)

    @staticmethod
    def _split(inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2 or isinstance(inputs[0], int) or inputs[0] is None:
            raise fail("inputs", "a list [shortcut, branch]", inputs)
        return inputs

    def call(self, inputs, training=False):
        shortcut, branch = self._split(inputs)
        if training:
            branch = branch * ops.cast(self.keep_mask(branch), branch.dtype)
        return shortcut + branch

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return self._split(input_shape)[0]
