"""InstanceNormalization, FilterResponseNormalization + TLU, WSConv2D, ScaledStdConv2D against their formulas."""

import math

import keras
import numpy as np
import pytest

from kerasboost.layers import TLU, FilterResponseNormalization, InstanceNormalization, ScaledStdConv2D, WSConv2D


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_instance_normalization_equals_group_normalization_minus_one():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(4, 7, 5)).astype("float32")
    ours, keras_gn = InstanceNormalization(), keras.layers.GroupNormalization(groups=-1)
    ours(x), keras_gn(x)
    weights = [rng.normal(size=w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights), keras_gn.set_weights(weights)
    np.testing.assert_allclose(_np(ours(x)), _np(keras_gn(x)), rtol=1e-6, atol=1e-6)
    plain = _np(InstanceNormalization(epsilon=1e-5)(x))
    expected = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(plain, expected, rtol=1e-4, atol=1e-4)


def test_frn_matches_its_formula():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 5, 3)).astype("float32")
    layer = FilterResponseNormalization(epsilon=1e-3)
    layer(x)
    gamma, beta = rng.normal(size=3).astype("float32"), rng.normal(size=3).astype("float32")
    layer.gamma.assign(gamma), layer.beta.assign(beta)
    nu2 = (x**2).mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(_np(layer(x)), gamma * x / np.sqrt(nu2 + 1e-3) + beta, rtol=1e-5, atol=1e-5)


def test_frn_learned_epsilon_channels_first_and_rank_two():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 6)).astype("float32")
    layer = FilterResponseNormalization(axis=1, epsilon=1e-3, learned_epsilon=True)
    layer(x)
    layer.eps_l.assign(-0.5)  # |eps_l| is added
    nu2 = (x**2).mean(axis=2, keepdims=True)
    np.testing.assert_allclose(_np(layer(x)), x / np.sqrt(nu2 + 0.501), rtol=1e-5, atol=1e-5)
    flat = rng.normal(size=(4, 3)).astype("float32")  # no spatial axes: nu2 = x^2
    np.testing.assert_allclose(_np(FilterResponseNormalization()(flat)), flat / np.sqrt(flat**2 + 1e-6), rtol=1e-4)


def test_tlu_is_a_max_with_a_per_channel_threshold():
    x = np.array([[-1.0, 0.5, 2.0], [3.0, -2.0, 0.0]], "float32")
    layer = TLU()
    layer(x)
    layer.tau.assign(np.array([0.0, 1.0, -1.0], "float32"))
    np.testing.assert_array_equal(_np(layer(x)), np.maximum(x, [0.0, 1.0, -1.0]))


def _conv(x, kernel):
    return _np(keras.ops.conv(x, kernel, padding="valid"))


def test_ws_conv2d_standardizes_each_output_channel():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    layer = WSConv2D(4, 3, use_bias=False)
    layer(x)
    kernel = rng.normal(2.0, 5.0, size=(3, 3, 3, 4)).astype("float32")
    layer.kernel.assign(kernel)
    mean = kernel.mean(axis=(0, 1, 2), keepdims=True)
    std = np.sqrt(kernel.var(axis=(0, 1, 2), keepdims=True) + 1e-5)
    standardized = _np(layer.standardized_kernel())
    np.testing.assert_allclose(standardized, (kernel - mean) / std, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(standardized.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(standardized.std(axis=(0, 1, 2)), 1.0, atol=1e-4)
    np.testing.assert_allclose(_np(layer(x)), _conv(x, (kernel - mean) / std), rtol=1e-4, atol=1e-4)


def test_scaled_std_conv2d_preserves_variance_times_gain():
    rng = np.random.default_rng(4)
    relu_gamma = math.sqrt(2 / (1 - 1 / math.pi))
    layer = ScaledStdConv2D(8, 3, gamma=relu_gamma, use_bias=False)
    x = rng.normal(size=(64, 9, 9, 5)).astype("float32")
    layer(x)
    layer.kernel.assign(rng.normal(1.0, 3.0, size=(3, 3, 5, 8)).astype("float32"))
    gain = rng.uniform(0.5, 2.0, size=8).astype("float32")
    layer.gain.assign(gain)
    kernel = _np(layer.standardized_kernel())
    # per output channel: zero mean, squared norm = (gain * gamma)^2, so unit-variance iid inputs
    # give outputs of variance (gain * gamma)^2
    np.testing.assert_allclose(kernel.sum(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose((kernel**2).sum(axis=(0, 1, 2)), (gain * relu_gamma) ** 2, rtol=1e-4)
    out = _np(layer(x))
    np.testing.assert_allclose(out.var(axis=(0, 1, 2)) / (gain * relu_gamma) ** 2, 1.0, atol=0.1)


def test_bad_channel_configuration_raises():
    with pytest.raises(ValueError, match="axis"):
        TLU(axis=3)(np.ones((2, 4), "float32"))
