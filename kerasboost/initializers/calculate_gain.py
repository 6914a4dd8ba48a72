"""The recommended initialization gain for an activation function."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_number, fail

# PyTorch's torch.nn.init.calculate_gain table (the values users know).
_LINEAR = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu", "leaky_relu": "leaky_relu", None: "linear"}
# Keras activations with no gain: they are not applied elementwise to a layer's units.
_NOT_ELEMENTWISE = ("softmax", "log_softmax", "glu", "sparsemax")


def activation_name(activation: Any) -> str:
    """The Keras name of an activation given as a string, a Keras function or None."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        name = activation.lower()
        return _ALIASES.get(name, name)
    if callable(activation):
        name = keras.activations.serialize(activation)
        if isinstance(name, str):
            return _ALIASES.get(name, name)
    raise fail("nonlinearity", "an activation name or a built-in Keras activation", activation)


def _gaussian_grid() -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(-12.0, 12.0, 240_001)
    weights = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) * (z[1] - z[0])
    return z, weights


@functools.cache
def _second_moment_gain(name: str) -> float:
    """`1 / sqrt(E[phi(z)^2])` for `z ~ N(0, 1)` (fine-grid quadrature)."""
    try:
        function: Callable = keras.activations.get(name)
    except (ValueError, TypeError) as e:
        raise fail("nonlinearity", "a Keras activation name", name) from e
    z, weights = _gaussian_grid()
    values = np.asarray(keras.ops.convert_to_numpy(function(keras.ops.convert_to_tensor(z, "float32"))), "float64")
    if values.shape != z.shape or not np.all(np.isfinite(values)):
        raise fail("nonlinearity", "an elementwise activation", name)
    moment = float(np.sum(weights * values * values))
    return 1.0 / math.sqrt(moment)


@kerasboost_export("kerasboost.initializers.calculate_gain", register=False)
def calculate_gain(nonlinearity: Any, param: float | None = None) -> float:
    """The gain to scale a layer's initial weights by, for its activation.

    For the names in PyTorch's table the values are PyTorch's
    (`torch.nn.init.calculate_gain`):

    | nonlinearity | gain |
    | --- | --- |
    | linear, identity, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid | 1 |
    | tanh | 5/3 |
    | relu | sqrt(2) |
    | leaky_relu | sqrt(2 / (1 + negative_slope ** 2)), slope `param` (default 0.01, PyTorch's) |
    | selu | 3/4 |

    Every other elementwise Keras activation (`"elu"`, `"gelu"`, `"silu"` /
    `"swish"`, `"softplus"`, `"softsign"`, `"relu6"`, `"mish"`,
    `"hard_sigmoid"`, `"hard_silu"`, ...) gets the variance-preserving gain of
    He et al.'s derivation: with weights of variance `gain**2 / fan_in`, the
    next pre-activation has variance `gain**2 * E[phi(z)**2]`, so
    `gain = 1 / sqrt(E[phi(z)**2])` with `z ~ N(0, 1)` keeps unit-variance
    pre-activations at unit variance. (For ReLU this gives sqrt(2), He's
    value.) It is computed by quadrature on the Keras function itself;
    rounded: elu 1.2452, gelu 1.5335, silu 1.6765, softplus 1.0419,
    softsign 2.3374, relu6 1.4142, mish 1.4869, hard_sigmoid 1.8978,
    hard_silu 1.7365.

    Unit variance is then a fixed point of the layer-to-layer variance map,
    but for gelu, silu/swish, mish and hard_silu it is a repelling one (the
    map's slope there is 1.08-1.22): small deviations grow with depth. For
    deep plain networks of those, re-scale with data (`lsuv`) or normalize.

    Args:
        nonlinearity: an activation name (`"tanh"`, `"leaky_relu"`, ...), a
            built-in Keras activation function, or None (linear).
        param: the negative slope of `"leaky_relu"` (float >= 0); ignored
            otherwise. Defaults to None (0.01 as in PyTorch; note that Keras's
            `"leaky_relu"` activation uses 0.2 - pass it).

    Returns:
        The gain, a float.

    Example:

    ```python
    >>> from kerasboost.initializers import calculate_gain
    >>> round(calculate_gain("tanh"), 4), round(calculate_gain("leaky_relu", 0.2), 4)
    (1.6667, 1.3868)

    ```

    References:
        - He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
          Performance on ImageNet Classification", https://arxiv.org/abs/1502.01852
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS
    """
    name = activation_name(nonlinearity)
    if name in _LINEAR or name == "sigmoid":
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else check_number("param", param, low=0.0)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if name == "selu":
        return 3.0 / 4.0
    if name in _NOT_ELEMENTWISE:
        raise fail("nonlinearity", "an elementwise activation (softmax and glu have no gain)", nonlinearity)
    return _second_moment_gain(name)
