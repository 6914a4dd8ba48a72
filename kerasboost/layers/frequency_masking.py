"""SpecAugment frequency masking (Park et al. 2019)."""

from __future__ import annotations

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._masking import BandMasking


@kerasboost_export("kerasboost.layers.FrequencyMasking")
class FrequencyMasking(BandMasking):
    """Mask `num_masks` random bands of consecutive frequency steps, per sample.

    For each mask, a width `w` is drawn uniformly from `0..max_width` and a
    start `t0` uniformly from `0..size - w`; the band `[t0, t0 + w)` on the
    frequency axis (axis 2) is set to `mask_value`. Bands may overlap. Inputs are
    `(batch, time, frequency, ...)` spectrograms; identity at inference. SpecAugment (time warping,
    frequency masking, time masking) set the state of the art on
    LibriSpeech with no other change to the model.

    Args:
        max_width: int >= 1, the widest band (at most the frequency size).
        num_masks: int >= 1, bands per sample. Defaults to `1`.
        mask_value: float written into the bands. Defaults to `0.0` (use
            the mean for normalized log-spectrograms).
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> x = np.ones((1, 10, 4), "float32")   # (batch, time, frequency)
    >>> y = np.asarray(kerasboost.layers.FrequencyMasking(max_width=2, seed=0)(x, training=True))
    >>> int((y[0, 0] == 0).sum()) <= 2 and bool((y[0] == y[0, :1]).all())   # whole frequency bins
    True

    ```

    References:
        - Park, Chan, Zhang, Chiu, Zoph, Cubuk & Le, 2019, "SpecAugment: A
          Simple Data Augmentation Method for Automatic Speech Recognition",
          https://arxiv.org/abs/1904.08779
    """

    AXIS = 2
    AXIS_NAME = "frequency"
