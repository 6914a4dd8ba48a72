"""Gaussian noise at a random signal-to-noise ratio, per sample."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import RandomLayer, check_range


@kerasboost_export("kerasboost.layers.AddNoise")
class AddNoise(RandomLayer):
    """Add white Gaussian noise at an SNR drawn uniformly in `[min_snr_db, max_snr_db]`.

    For each sample with power `P = mean(x^2)` (over all its values) and a
    drawn `snr` in dB, the noise has variance `P / 10 ** (snr / 10)`. Unlike
    `keras.layers.GaussianNoise` (a fixed standard deviation), the noise
    follows each sample's level, so quiet and loud recordings are degraded
    alike. Identity at inference.

    Args:
        min_snr_db: float, the lowest SNR in dB. Defaults to `10.0`.
        max_snr_db: float >= `min_snr_db`. Defaults to `30.0`.
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> x = np.sin(np.linspace(0, 100, 16000, dtype="float32"))[None]
    >>> y = np.asarray(kerasboost.layers.AddNoise(20.0, 20.0, seed=0)(x, training=True))
    >>> snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
    >>> bool(abs(snr - 20.0) < 0.2)
    True

    ```

    References:
        - Ko, Peddinti, Povey & Khudanpur, 2015, "Audio Augmentation for Speech
          Recognition", Interspeech 2015
    """

    def __init__(
        self, min_snr_db: float = 10.0, max_snr_db: float = 30.0, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.min_snr_db, self.max_snr_db = check_range(
            "min_snr_db", min_snr_db, "max_snr_db", max_snr_db, low=-60.0, high=120.0
        )

    def augment(self, inputs):
        x = ops.cast(inputs, "float32")
        axes = tuple(range(1, len(inputs.shape)))
        power = ops.mean(ops.square(x), axis=axes, keepdims=True)
        snr_db = self.uniform(self.per_sample_shape(inputs), self.min_snr_db, self.max_snr_db)
        noise = self.normal(ops.shape(inputs)) * ops.sqrt(power / ops.power(10.0, snr_db / 10.0))
        return ops.cast(x + noise, inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "min_snr_db": self.min_snr_db, "max_snr_db": self.max_snr_db}
