"""Drop path: drop a whole residual branch per sample (Huang et al. 2016; Larsson et al. 2017)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import RandomLayer, check_rate


@kerasboost_export("kerasboost.layers.DropPath")
class DropPath(RandomLayer):
    """Zero a residual branch for a random subset of samples; rescale the rest.

    Apply it to the branch before the addition: `x + DropPath(0.1)(f(x))`.
    In training each sample's branch is kept with probability `1 - rate` and
    then divided by `1 - rate`, so its expectation equals the input; at
    inference it is the identity. This is the per-sample form of stochastic
    depth used by modern residual networks (ConvNeXt, ViT); use
    `StochasticDepth` when you want the layer to take both the shortcut and
    the branch, and `drop_path_rates` for the linear rule over depth.

    It belongs on a residual branch only. In a plain stack
    (`Sequential([..., Dense, DropPath(0.1), Dense, ...])`) there is no
    shortcut to carry the dropped samples: their signal is zero for every
    later layer, so those samples' outputs no longer depend on their inputs
    (a tenth of every batch trains on nothing). For a plain stack use
    `keras.layers.Dropout` (per unit); for a residual block write
    `x + DropPath(rate)(f(x))` as in the example, or use `StochasticDepth`.

    Args:
        rate: float in [0, 1), the probability of dropping the branch.
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> inputs = keras.Input((16,))
    >>> branch = keras.layers.Dense(16, activation="relu")(inputs)
    >>> outputs = keras.layers.Add()([inputs, kerasboost.layers.DropPath(0.2, seed=0)(branch)])
    >>> keras.Model(inputs, outputs).output_shape
    (None, 16)

    ```

    References:
        - Huang, Sun, Liu, Sedra & Weinberger, 2016, "Deep Networks with
          Stochastic Depth", https://arxiv.org/abs/1603.09382
        - Larsson, Maire & Shakhnarovich, 2017, "FractalNet: Ultra-Deep Neural
          Networks without Residuals", https://arxiv.org/abs/1605.07648
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check_rate("rate", rate)

    def augment(self, inputs):
        return inputs * ops.cast(self.keep_mask(inputs), inputs.dtype)

    def keep_mask(self, inputs):
        """Per sample: `1 / (1 - rate)` with probability `1 - rate`, else 0."""
        if self.rate == 0.0:
            return ops.ones(self.per_sample_shape(inputs), "float32")
        keep = 1.0 - self.rate
        kept = ops.cast(self.uniform(self.per_sample_shape(inputs)) < keep, "float32")
        return kept / keep

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}
