"""Shared pieces of the kerasboost kernel initializers."""

from __future__ import annotations

import numpy as np
from keras import ops


def at_centre_tap(matrix, shape: tuple[int, ...]):
    """A convolution kernel of `shape` holding `matrix` at its centre tap, zeros elsewhere.

    `shape` is `(spatial..., in, out)`; the centre is `k // 2` on each spatial
    axis. A 2-D `shape` (a Dense kernel) returns `matrix` itself.
    """
    if len(shape) == 2:
        return matrix
    spatial = shape[:-2]
    centre = np.zeros(spatial + (1, 1), "float32")
    centre[tuple(k // 2 for k in spatial)] = 1.0
    return ops.cast(ops.convert_to_tensor(centre), matrix.dtype) * matrix
