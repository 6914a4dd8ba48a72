"""Variance scaling matched to the layer's activation."""

from __future__ import annotations

from typing import Any

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.initializers.calculate_gain import activation_name, calculate_gain
from kerasboost.utils.validation import check_choice, check_number, check_seed, fail

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
KERAS_LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's default negative_slope


def activation_gain(activation: str, negative_slope: float | None) -> float:
    """The gain the activation-aware initializers use.

    `calculate_gain`, except: `"leaky_relu"` defaults to Keras's slope (0.2,
    what `Dense(activation="leaky_relu")` applies), and `"selu"` gets gain 1
    (LeCun normal), which self-normalizing networks require.
    """
    if activation == "selu":
        return 1.0
    if activation == "leaky_relu":
        slope = KERAS_LEAKY_SLOPE if negative_slope is None else negative_slope
        return calculate_gain("leaky_relu", slope)
    return calculate_gain(activation)


def check_activation(activation: Any) -> str:
    try:
        name = activation_name(activation)
        calculate_gain(name)
    except ValueError as e:
        raise fail("activation", "an elementwise Keras activation name", activation) from e
    return name


@kerasboost_export("kerasboost.initializers.VarianceFor")
class VarianceFor(keras.initializers.VarianceScaling):
    """Variance scaling with the variance the activation needs (He/Glorot/LeCun by name).

    Draws weights with variance `gain**2 / fan`, `gain` from `calculate_gain`
    for `activation` (e.g. sqrt(2) for ReLU: He initialization; 5/3 for tanh;
    1 for linear/sigmoid: LeCun, Glorot with `mode="fan_avg"`). For
    `"leaky_relu"` the slope defaults to Keras's 0.2; `"selu"` gets gain 1
    (LeCun normal) as self-normalizing networks require.

    Use it wherever an activation other than the one Keras's default
    (`glorot_uniform`) was derived for is used, and in deep plain networks,
    where the wrong variance compounds layer after layer into vanishing or
    exploding signals.

    Args:
        activation: the layer's activation name (`"relu"`, `"tanh"`,
            `"leaky_relu"`, `"gelu"`, ...). Defaults to `"relu"`.
        negative_slope: float >= 0, the slope of `"leaky_relu"`; None means
            Keras's default 0.2. Ignored for other activations.
        mode: `"fan_in"` (default, preserves forward variance), `"fan_out"`
            (backward) or `"fan_avg"`.
        distribution: `"truncated_normal"` (default), `"untruncated_normal"`
            or `"uniform"`.
        seed: int or None, as for every Keras initializer.

    Example:

    ```python
    >>> import keras
    >>> from kerasboost.initializers import VarianceFor
    >>> init = VarianceFor("leaky_relu", negative_slope=0.2)
    >>> layer = keras.layers.Dense(64, activation="leaky_relu", kernel_initializer=init)
    >>> round(init.scale, 4)  # gain ** 2 = 2 / (1 + 0.2 ** 2)
    1.9231

    ```

    References:
        - He et al., 2015, "Delving Deep into Rectifiers",
          https://arxiv.org/abs/1502.01852
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS
        - Klambauer et al., 2017, "Self-Normalizing Neural Networks",
          https://arxiv.org/abs/1706.02515
    """

    def __init__(
        self,
        activation: str = "relu",
        negative_slope: float | None = None,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ) -> None:
        self.activation = check_activation(activation)
        self.negative_slope = check_number("negative_slope", negative_slope, low=0.0, high=1e6, allow_none=True)
        check_choice("mode", mode, MODES)
        check_choice("distribution", distribution, DISTRIBUTIONS)
        check_seed("seed", seed)
        gain = activation_gain(self.activation, self.negative_slope)
        super().__init__(scale=gain**2, mode=mode, distribution=distribution, seed=seed)

    def get_config(self) -> dict:
        return {
            "activation": self.activation,
            "negative_slope": self.negative_slope,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": super().get_config()["seed"],
        }
