"""Looks-linear initialization for ReLU networks (Balduzzi et al. 2017)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.initializers._kernels import at_centre_tap
from kerasboost.utils.validation import check_bool, check_number, check_seed, fail


@kerasboost_export("kerasboost.initializers.LooksLinear")
class LooksLinear(keras.initializers.Initializer):
    """Mirrored orthogonal weights: a deep ReLU network starts as a linear map.

    Since `relu(u) - relu(-u) = u`, a layer whose pre-activations come in
    mirrored pairs `[u, -u]` can pass `u` on exactly. With a random orthogonal
    `W0` of shape `(in/2, out/2)`, the kernel

        [[ W0, -W0],
         [-W0,  W0]]          (input_mirrored=True, hidden layers)

    maps `relu([u, -u])` to `[W0 u, -W0 u]`, and the first layer's kernel
    `[W, -W]` (`input_mirrored=False`, `W` orthogonal of shape `(in, out/2)`)
    creates the mirrored pairs from raw inputs. At initialization the whole
    ReLU stack then computes an orthogonal linear map: perfect dynamical
    isometry, no vanishing or exploding signal at any depth. Balduzzi et al.
    trained 200-layer plain ReLU networks this way; in `benchmarks/depth.py`
    100-layer plain ReLU MLPs train to over 95% on digits with it
    (`benchmarks/results/depth.md`).

    Use it on every ReLU (or leaky ReLU) Dense/Conv layer of a deep plain
    network: `input_mirrored=False` on the first one (it sees the raw input),
    the default on the others. Convolution kernels get the structure at their
    centre tap and zeros elsewhere (as `DeltaOrthogonal`). The layer widths
    (and the input width, with `input_mirrored=True`) must be even.

    Args:
        input_mirrored: bool, whether the layer's input is the output of a
            looks-linear ReLU layer. Defaults to True.
        gain: float > 0, scales the kernel. Defaults to 1.0 (norm-preserving).
        seed: int or None.

    Example:

    ```python
    >>> import keras, numpy as np
    >>> from kerasboost.initializers import LooksLinear
    >>> model = keras.Sequential([keras.Input((10,)),
    ...     keras.layers.Dense(32, "relu", kernel_initializer=LooksLinear(input_mirrored=False, seed=0))]
    ...     + [keras.layers.Dense(32, "relu", kernel_initializer=LooksLinear(seed=i)) for i in range(1, 50)])
    >>> x = np.random.default_rng(0).normal(size=(4, 10)).astype("float32")
    >>> y = np.asarray(model(x))
    >>> bool(np.allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-4))
    True

    ```

    References:
        - Balduzzi et al., 2017, "The Shattered Gradients Problem: If resnets are
          the answer, then what is the question?", https://arxiv.org/abs/1702.08591
    """

    def __init__(self, input_mirrored: bool = True, gain: float = 1.0, seed: int | None = None) -> None:
        self.input_mirrored = check_bool("input_mirrored", input_mirrored)
        self.gain = check_number("gain", gain, low=0.0, low_inclusive=False)
        self.seed = check_seed("seed", seed)
        self._orthogonal = keras.initializers.Orthogonal(gain=self.gain, seed=seed)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (2, 3, 4, 5):
            raise fail("shape", "a Dense or Conv kernel shape (..., in, out)", shape)
        fan_in, units = shape[-2], shape[-1]
        if units % 2 or (self.input_mirrored and fan_in % 2):
            need = "out" if units % 2 else "in"
            raise fail(
                "shape",
                f"a kernel with an even number of {need}put units (mirrored pairs"
                + (", input_mirrored=True" if need == "in" else "")
                + ")",
                shape,
            )
        if self.input_mirrored:
            w0 = self._orthogonal((fan_in // 2, units // 2), dtype=dtype)
            top = ops.concatenate([w0, -w0], axis=1)
            matrix = ops.concatenate([top, -top], axis=0)
        else:
            w = self._orthogonal((fan_in, units // 2), dtype=dtype)
            matrix = ops.concatenate([w, -w], axis=1)
        return at_centre_tap(matrix, shape)

    def get_config(self) -> dict:
        return {"input_mirrored": self.input_mirrored, "gain": self.gain, "seed": self.seed}
