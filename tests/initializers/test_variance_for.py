import math

import keras
import numpy as np
import pytest

from kerasboost.initializers import VarianceFor, calculate_gain


@pytest.mark.parametrize(
    "activation,kwargs,gain",
    [
        ("relu", {}, math.sqrt(2)),
        ("tanh", {}, 5 / 3),
        ("linear", {}, 1.0),
        ("leaky_relu", {}, math.sqrt(2 / 1.04)),  # Keras's default slope 0.2
        ("leaky_relu", {"negative_slope": 0.01}, math.sqrt(2 / 1.0001)),
        ("selu", {}, 1.0),  # LeCun normal for self-normalizing networks
        ("gelu", {}, calculate_gain("gelu")),
    ],
)
def test_sample_std_is_gain_over_sqrt_fan_in(activation, kwargs, gain):
    init = VarianceFor(activation, distribution="untruncated_normal", seed=3, **kwargs)
    w = np.asarray(init((800, 600)))
    assert init.scale == pytest.approx(gain**2)
    assert np.std(w) == pytest.approx(gain / math.sqrt(800), rel=0.01)


def test_modes_and_uniform():
    w = np.asarray(VarianceFor("relu", mode="fan_out", distribution="uniform", seed=1)((300, 1200)))
    limit = math.sqrt(3 * 2 / 1200)  # uniform(-l, l) has variance l^2 / 3
    assert np.max(np.abs(w)) <= limit
    assert np.std(w) == pytest.approx(math.sqrt(2 / 1200), rel=0.01)
    w = np.asarray(VarianceFor("tanh", mode="fan_avg", seed=1)((3, 3, 64, 128)))
    # truncated normal: Keras corrects the std for the truncation
    assert np.std(w) == pytest.approx((5 / 3) / math.sqrt((9 * 64 + 9 * 128) / 2), rel=0.02)


def test_usable_by_string_and_serializable():
    layer = keras.layers.Dense(4, kernel_initializer="kerasboost>VarianceFor")
    assert isinstance(layer.kernel_initializer, VarianceFor)
    config = keras.initializers.serialize(VarianceFor("swish", seed=5))
    restored = keras.initializers.deserialize(config)
    assert restored.activation == "silu" and restored.scale == pytest.approx(calculate_gain("silu") ** 2)
