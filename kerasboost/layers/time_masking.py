"""SpecAugment time masking (Park et al. 2019)."""

from __future__ import annotations

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._masking import BandMasking


@kerasboost_export("kerasboost.layers.TimeMasking")
class TimeMasking(BandMasking):
    """Mask `num_masks` random bands of consecutive time steps, per sample.

    For each mask, a width `w` is drawn uniformly from `0..max_width` and a
    start `t0` uniformly from `0..size - w`; the band `[t0, t0 + w)` on the
    time axis (axis 1) is set to `mask_value`. Bands may overlap. Inputs are
    `(batch, time, ...)`: waveforms or spectrograms; identity at inference. SpecAugment (time warping,
    frequency masking, time masking) set the state of the art on
    LibriSpeech with no other change to the model.

    Args:
        max_width: int >= 1, the widest band (at most the time size).
        num_masks: int >= 1, bands per sample. Defaults to `1`.
        mask_value: float written into the bands. Defaults to `0.0` (use
            the mean for normalized log-spectrograms).
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> x = np.ones((1, 10, 4), "float32")   # (batch, time, frequency)
    >>> y = np.asarray(kerasboost.layers.TimeMasking(max_width=3, seed=0)(x, training=True))
    >>> int((y[0, :, 0] == 0).sum()) <= 3 and bool((y[0] == y[0, :, :1]).all())   # whole time steps
    True

    ```

    References:
        - Park, Chan, Zhang, Chiu, Zoph, Cubuk & Le, 2019, "SpecAugment: A
          Simple Data Augmentation Method for Automatic Speech Recognition",
          https://arxiv.org/abs/1904.08779
    """

    AXIS = 1
    AXIS_NAME = "time"
