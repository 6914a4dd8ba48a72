"""Instance normalization (Ulyanov et al. 2016)."""

from __future__ import annotations

from typing import Any

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_bool, check_number, fail


@kerasboost_export("kerasboost.layers.InstanceNormalization")
class InstanceNormalization(keras.layers.GroupNormalization):
    """Normalize each channel of each sample over its spatial (or time) axes.

    Every (sample, channel) pair is shifted to zero mean and scaled to unit
    variance over all remaining axes, then a learned per-channel `gamma` and
    `beta` are applied. No batch statistics: the same in training and
    inference, independent of the batch size - the usual choice for style
    transfer and generative models, and for small-batch training.

    It computes exactly `keras.layers.GroupNormalization(groups=-1)` (one group
    per channel); this class gives it its own name, documentation and a
    stable serialization key. Channels are on `axis`.

    Args:
        axis: int, the channel axis. Defaults to `-1`.
        epsilon: float added to the variance. Defaults to `1e-3`.
        center: bool, learn the offset `beta`. Defaults to `True`.
        scale: bool, learn the scale `gamma`. Defaults to `True`.
        beta_initializer: initializer of `beta`. Defaults to `"zeros"`.
        gamma_initializer: initializer of `gamma`. Defaults to `"ones"`.
        beta_regularizer: optional regularizer of `beta`.
        gamma_regularizer: optional regularizer of `gamma`.
        beta_constraint: optional constraint of `beta`.
        gamma_constraint: optional constraint of `gamma`.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 16, 4)).astype("float32")
    >>> y = kerasboost.layers.InstanceNormalization()(x)
    >>> bool(np.allclose(np.asarray(y).mean(axis=1), 0.0, atol=1e-5))
    True

    ```

    References:
        - Ulyanov, Vedaldi & Lempitsky, 2016, "Instance Normalization: The
          Missing Ingredient for Fast Stylization", https://arxiv.org/abs/1607.08022
    """

    def __init__(
        self,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        groups = kwargs.pop("groups", -1)
        if groups != -1:
            raise fail("groups", "-1 (one group per channel; use keras.layers.GroupNormalization for others)", groups)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise fail("axis", "an int", axis)
        epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
        center, scale = check_bool("center", center), check_bool("scale", scale)
        super().__init__(
            groups=-1,
            axis=axis,
            epsilon=epsilon,
            center=center,
            scale=scale,
            beta_initializer=beta_initializer,
            gamma_initializer=gamma_initializer,
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            **kwargs,
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("groups")
        return config
