"""Random gain in decibels, per sample (audio / 1-D augmentation)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import RandomLayer, check_range


@kerasboost_export("kerasboost.layers.RandomGain")
class RandomGain(RandomLayer):
    """Multiply each sample by a random gain drawn uniformly in decibels.

    Each sample gets `x * 10 ** (g / 20)` with `g ~ U[min_gain_db, max_gain_db]`,
    so the network sees the same sound at different loudness. Works on any
    `(batch, ...)` input (waveforms, spectrogram magnitudes); identity at
    inference.

    Args:
        min_gain_db: float, the lowest gain in dB. Defaults to `-6.0`.
        max_gain_db: float >= `min_gain_db`. Defaults to `6.0`.
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> layer = kerasboost.layers.RandomGain(-6.0, -6.0)
    >>> y = layer(np.ones((2, 4), "float32"), training=True)
    >>> np.round(np.asarray(y)[0, 0], 4)   # -6 dB: 10 ** (-6 / 20)
    np.float32(0.5012)

    ```

    References:
        - Ko, Peddinti, Povey & Khudanpur, 2015, "Audio Augmentation for Speech
          Recognition", Interspeech 2015 (volume and speed perturbation)
    """

    def __init__(
        self, min_gain_db: float = -6.0, max_gain_db: float = 6.0, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.min_gain_db, self.max_gain_db = check_range(
            "min_gain_db", min_gain_db, "max_gain_db", max_gain_db, low=-120.0, high=120.0
        )

    def augment(self, inputs):
        gain_db = self.uniform(self.per_sample_shape(inputs), self.min_gain_db, self.max_gain_db)
        return inputs * ops.cast(ops.power(10.0, gain_db / 20.0), inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "min_gain_db": self.min_gain_db, "max_gain_db": self.max_gain_db}
