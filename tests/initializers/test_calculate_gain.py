import math

import keras
import numpy as np
import pytest

from kerasboost.initializers import calculate_gain

TORCH_TABLE = {
    "linear": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
    "sigmoid": 1.0,
    "tanh": 5 / 3,
    "relu": math.sqrt(2),
    "selu": 0.75,
}


@pytest.mark.parametrize("name,gain", TORCH_TABLE.items())
def test_pytorch_table(name, gain):
    assert calculate_gain(name) == pytest.approx(gain, rel=1e-12)


@pytest.mark.parametrize("slope", [None, 0.0, 0.2, 1.0])
def test_leaky_relu_gain(slope):
    a = 0.01 if slope is None else slope
    assert calculate_gain("leaky_relu", slope) == pytest.approx(math.sqrt(2 / (1 + a * a)), rel=1e-12)


def test_matches_pytorch_itself():
    torch = pytest.importorskip("torch")
    for name in list(TORCH_TABLE) + ["leaky_relu"]:
        assert calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-7)
    assert calculate_gain("leaky_relu", 0.3) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.3))


def _reference_gain(phi):
    """1 / sqrt(E[phi(z)^2]), z ~ N(0, 1), by Gauss-Hermite quadrature on closed forms."""
    z, w = np.polynomial.hermite_e.hermegauss(300)
    w = w / w.sum()
    return 1 / math.sqrt(float(np.sum(w * phi(z) ** 2)))


_sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
_erf = np.vectorize(math.erf)
CLOSED_FORMS = {
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "gelu": lambda z: 0.5 * z * (1 + _erf(z / math.sqrt(2))),
    "silu": lambda z: z * _sig(z),
    "swish": lambda z: z * _sig(z),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "mish": lambda z: z * np.tanh(np.log1p(np.exp(z))),
    "hard_sigmoid": lambda z: np.clip(z / 6 + 0.5, 0, 1),
}


@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_keras_activations_get_the_second_moment_gain(name):
    assert calculate_gain(name) == pytest.approx(_reference_gain(CLOSED_FORMS[name]), rel=2e-4)


def test_the_derivation_gives_he_for_relu():
    from kerasboost.initializers.calculate_gain import _second_moment_gain

    assert _second_moment_gain("relu") == pytest.approx(math.sqrt(2), rel=1e-5)


@pytest.mark.parametrize("name", list(CLOSED_FORMS) + ["relu"])
def test_one_layer_maps_unit_variance_to_unit_variance(name):
    rng = np.random.default_rng(0)
    gain = calculate_gain(name)
    a = np.asarray(keras.activations.get(name)(rng.normal(size=(2000, 500)).astype("float32")))
    # the second moment of the next pre-activation, averaged over 10 weight draws
    moments = [
        np.mean((a @ rng.normal(0, gain / math.sqrt(500), size=(500, 1000)).astype("float32")) ** 2) for _ in range(10)
    ]
    assert float(np.mean(moments)) == pytest.approx(1.0, abs=0.04)


@pytest.mark.parametrize("name", ["elu", "relu"])
def test_stable_fixed_point_keeps_unit_variance_through_depth(name):
    # 30 random layers of width 1000: pre-activations stay near unit std (the variance map's
    # slope at 1 is <= 1 for these; the docstring lists those for which it is not)
    rng = np.random.default_rng(0)
    phi = keras.activations.get(name)
    gain = calculate_gain(name)
    z = rng.normal(size=(500, 1000)).astype("float32")
    for _ in range(30):
        w = rng.normal(0, gain / math.sqrt(1000), size=(1000, 1000)).astype("float32")
        z = np.asarray(phi(z)) @ w
    assert 0.8 < float(np.std(z)) < 1.25


def test_accepts_keras_functions_and_none():
    assert calculate_gain(keras.activations.relu) == pytest.approx(math.sqrt(2))
    assert calculate_gain(None) == 1.0


@pytest.mark.parametrize("bad", ["relux", "softmax", 3])
def test_rejects_unknown_or_non_elementwise(bad):
    with pytest.raises(ValueError, match="nonlinearity"):
        calculate_gain(bad)


def test_rejects_negative_slope():
    with pytest.raises(ValueError, match="param=-0.1"):
        calculate_gain("leaky_relu", -0.1)
