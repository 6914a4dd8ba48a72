"""DropBlock: structured dropout of contiguous regions (Ghiasi et al. 2018)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import RandomLayer, check_rate
from kerasboost.utils.validation import check_choice, check_number, fail


def _covering_seeds(size: int, block_size: int) -> list[int]:
    """For each position along one axis: how many valid block starts cover it."""
    last = size - block_size
    return [min(r, last) - max(0, r - block_size + 1) + 1 for r in range(size)]


def seed_probability(height: int, width: int, block_size: int, rate: float) -> float:
    """The seed probability `gamma` whose expected fraction of dropped units is exactly `rate`.

    A unit covered by `n` possible block starts is dropped with probability
    `1 - (1 - gamma)^n`; the mean over the feature map is increasing in
    `gamma`, so bisection finds the `gamma` giving `rate`.
    """
    counts = [a * b for a in _covering_seeds(height, block_size) for b in _covering_seeds(width, block_size)]

    def drop_fraction(gamma: float) -> float:
        return sum(1.0 - (1.0 - gamma) ** n for n in counts) / len(counts)

    low, high = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if drop_fraction(mid) < rate else (low, mid)
    return 0.5 * (low + high)


@kerasboost_export("kerasboost.layers.DropBlock2D")
class DropBlock2D(RandomLayer):
    """Drop contiguous `block_size x block_size` regions of each feature map.

    Dropout on convolutional features barely regularizes, because
    neighbouring activations carry the same information. DropBlock zeroes
    whole square regions instead: block starts ("seeds") are drawn with
    probability `gamma` at every position where a block fits inside the
    feature map, each seed zeroes the `block_size x block_size` square it
    starts, and the kept units are scaled by `1 / (1 - rate)`. Masks are
    drawn per sample and per channel. Identity at inference.

    Ghiasi et al. set `gamma = rate / block_size^2 * HW / ((H - b + 1)(W - b + 1))`,
    which ignores overlapping blocks and so drops less than `rate`. Here
    `gamma` is solved (by bisection, once per input shape) so that the
    expected fraction of dropped units is exactly `rate`, which also makes
    the expected mean activation equal the input's. The paper increases
    `rate` linearly during training; `block_size=7` at `rate=0.1` worked best
    for ResNet-50 on ImageNet. `block_size=1` is per-unit dropout.

    Args:
        rate: float in [0, 1), the expected fraction of units dropped.
        block_size: int >= 1, the side of the dropped squares (at most the
            feature map's height and width).
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([
    ...     keras.Input((16, 16, 3)),
    ...     keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
    ...     kerasboost.layers.DropBlock2D(rate=0.1, block_size=3, seed=0),
    ... ])
    >>> model.output_shape
    (None, 16, 16, 8)

    ```

    References:
        - Ghiasi, Lin & Le, 2018, "DropBlock: A regularization method for
          convolutional networks", https://arxiv.org/abs/1810.12890
    """

    def __init__(
        self, rate: float, block_size: int, data_format: str | None = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check_rate("rate", rate)
        self.block_size = check_number("block_size", block_size, low=1, integer=True)
        data_format = keras.config.image_data_format() if data_format is None else data_format
        self.data_format = check_choice("data_format", data_format, ("channels_last", "channels_first"))

    def _spatial(self, input_shape) -> tuple:
        if len(input_shape) != 4:
            raise fail("input_shape", "a 4-D shape (batch, height, width, channels)", tuple(input_shape))
        return tuple(input_shape[1:3]) if self.data_format == "channels_last" else tuple(input_shape[2:4])

    def build(self, input_shape):
        height, width = self._spatial(input_shape)
        if height is None or width is None:
            raise fail("input_shape", "a shape with known height and width", tuple(input_shape))
        if self.block_size > min(height, width):
            raise fail("block_size", f"at most the feature map's height and width ({height}x{width})", self.block_size)
        self.gamma = seed_probability(height, width, self.block_size, self.rate)
        self.built = True

    def augment(self, inputs):
        if self.rate == 0.0:
            return inputs
        x = inputs if self.data_format == "channels_last" else ops.transpose(inputs, (0, 2, 3, 1))
        height, width = x.shape[1], x.shape[2]
        b = self.block_size
        seeds_shape = (ops.shape(x)[0], height - b + 1, width - b + 1, x.shape[3])
        seeds = ops.cast(self.uniform(seeds_shape) < self.gamma, "float32")
        padded = ops.pad(seeds, ((0, 0), (b - 1, b - 1), (b - 1, b - 1), (0, 0)))
        dropped = ops.max_pool(padded, pool_size=b, strides=1, padding="valid", data_format="channels_last")
        keep = (1.0 - dropped) / (1.0 - self.rate)
        x = x * ops.cast(keep, x.dtype)
        return x if self.data_format == "channels_last" else ops.transpose(x, (0, 3, 1, 2))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "block_size": self.block_size,
            "data_format": self.data_format,
        }
