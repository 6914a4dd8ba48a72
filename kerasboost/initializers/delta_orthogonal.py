"""Delta-orthogonal initialization for convolution kernels (Xiao et al. 2018)."""

from __future__ import annotations

from typing import Any

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.initializers._kernels import at_centre_tap
from kerasboost.utils.validation import check_number, check_seed, fail


@kerasboost_export("kerasboost.initializers.DeltaOrthogonal")
class DeltaOrthogonal(keras.initializers.Initializer):
    """A convolution kernel that is orthogonal at its centre and zero elsewhere.

    For a kernel of shape `(k_1, ..., k_d, in_channels, out_channels)` the tap
    at the centre (`k_i // 2` on each spatial axis) is `gain` times a random
    matrix with orthonormal rows, `H H^T = I` (shape `(in_channels,
    out_channels)`); every other tap is zero. At initialization the
    convolution is then an orthogonal 1x1 map of the channels, norm-preserving
    for every input: Xiao et al. trained 10,000-layer plain CNNs with it
    (tanh, with a gain near the critical point).

    Works for Conv1D, Conv2D and Conv3D kernels. `out_channels` must be at
    least `in_channels` (a map onto fewer channels cannot preserve every input's
    norm), and the kernel must have spatial axes; both are checked when the
    kernel is created, with a `ValueError` naming `shape`.

    Args:
        gain: float > 0, the scale of the orthogonal centre. Defaults to 1.0.
        seed: int or None.

    Example:

    ```python
    >>> import keras, numpy as np
    >>> from kerasboost.initializers import DeltaOrthogonal
    >>> conv = keras.layers.Conv2D(16, 3, kernel_initializer=DeltaOrthogonal(seed=0))
    >>> conv.build((None, 8, 8, 16))
    >>> w = np.asarray(conv.kernel)
    >>> bool(np.allclose(w[1, 1] @ w[1, 1].T, np.eye(16), atol=1e-5)), float(np.abs(w[0]).sum())
    (True, 0.0)

    ```

    References:
        - Xiao et al., 2018, "Dynamical Isometry and a Mean Field Theory of CNNs:
          How to Train 10,000-Layer Vanilla Convolutional Neural Networks",
          https://arxiv.org/abs/1806.05393
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain = check_number("gain", gain, low=0.0, low_inclusive=False)
        self.seed = check_seed("seed", seed)
        self._orthogonal = keras.initializers.Orthogonal(gain=self.gain, seed=seed)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (3, 4, 5):
            raise fail(
                "shape",
                "a Conv1D/2D/3D kernel shape (spatial..., in_channels, out_channels)",
                shape,
            )
        in_channels, out_channels = shape[-2], shape[-1]
        if out_channels < in_channels:
            raise fail(
                "shape",
                f"a kernel with out_channels >= in_channels (here {out_channels} < "
                f"{in_channels}): a delta-orthogonal kernel needs H H^T = I, "
                f"which a map onto fewer channels cannot have",
                shape,
            )
        return at_centre_tap(self._orthogonal((in_channels, out_channels), dtype=dtype), shape)

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}
