"""Orthogonal initialization with the activation's gain."""

from __future__ import annotations

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.initializers.variance_for import activation_gain, check_activation
from kerasboost.utils.validation import check_number, check_seed


@kerasboost_export("kerasboost.initializers.OrthogonalFor")
class OrthogonalFor(keras.initializers.Orthogonal):
    """An orthogonal matrix times the activation's gain.

    Keras's `Orthogonal(gain=calculate_gain(activation))`, with the gain kept
    in step with the activation (and serialized by name). The kernel (flattened
    to `(fan_in, units)` for convolutions) has orthonormal columns times `gain`
    when `fan_in >= units`, orthonormal rows otherwise. Orthogonal weights keep
    every singular value equal, so signals neither shrink nor grow along any
    direction: deep plain networks train where Gaussian weights fail
    (Saxe et al. 2014).

    Args:
        activation: the layer's activation name. Defaults to `"linear"`.
        negative_slope: float >= 0 for `"leaky_relu"`; None means Keras's 0.2.
        seed: int or None.

    Example:

    ```python
    >>> import numpy as np
    >>> from kerasboost.initializers import OrthogonalFor
    >>> w = np.asarray(OrthogonalFor("relu", seed=1)((64, 32)))
    >>> bool(np.allclose(w.T @ w, 2.0 * np.eye(32), atol=1e-5))  # W^T W = gain^2 I
    True

    ```

    References:
        - Saxe et al., 2014, "Exact solutions to the nonlinear dynamics of
          learning in deep linear neural networks", https://arxiv.org/abs/1312.6120
    """

    def __init__(
        self, activation: str = "linear", negative_slope: float | None = None, seed: int | None = None
    ) -> None:
        self.activation = check_activation(activation)
        self.negative_slope = check_number("negative_slope", negative_slope, low=0.0, high=1e6, allow_none=True)
        check_seed("seed", seed)
        super().__init__(gain=activation_gain(self.activation, self.negative_slope), seed=seed)

    def get_config(self) -> dict:
        return {
            "activation": self.activation,
            "negative_slope": self.negative_slope,
            "seed": super().get_config()["seed"],
        }
