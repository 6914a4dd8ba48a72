"""Random speed change by resampling, per sample."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import RandomLayer, check_range, check_time_input, gather_time


@kerasboost_export("kerasboost.layers.RandomSpeed")
class RandomSpeed(RandomLayer):
    """Play each sample faster or slower by a random rate, keeping its length.

    With rate `r ~ U[min_rate, max_rate]`, `out[t] = x(t * r)` by linear
    interpolation along time (axis 1): `r > 1` speeds up (and raises the
    pitch, as in speed perturbation; it is not a time stretch), the end is
    zero-filled; `r < 1` slows down and the end is cut. Inputs are
    `(batch, time, ...)`; XLA-friendly (two gathers); identity at inference.

    Args:
        min_rate: float > 0. Defaults to `0.9`.
        max_rate: float >= `min_rate`. Defaults to `1.1`.
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> x = np.arange(8, dtype="float32")[None]
    >>> np.asarray(kerasboost.layers.RandomSpeed(2.0, 2.0)(x, training=True))
    array([[0., 2., 4., 6., 0., 0., 0., 0.]], dtype=float32)

    ```

    References:
        - Ko, Peddinti, Povey & Khudanpur, 2015, "Audio Augmentation for Speech
          Recognition", Interspeech 2015 (speed perturbation with rates 0.9,
          1.0, 1.1)
    """

    def __init__(self, min_rate: float = 0.9, max_rate: float = 1.1, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.min_rate, self.max_rate = check_range(
            "min_rate", min_rate, "max_rate", max_rate, low=0.0, low_inclusive=False, high=100.0
        )

    def build(self, input_shape):
        check_time_input(self, input_shape)
        self.built = True

    def augment(self, inputs):
        rate = self.uniform((ops.shape(inputs)[0], 1), self.min_rate, self.max_rate)
        positions = ops.arange(inputs.shape[1], dtype="float32")[None, :] * rate
        return gather_time(inputs, positions)

    def get_config(self) -> dict:
        return {**super().get_config(), "min_rate": self.min_rate, "max_rate": self.max_rate}
