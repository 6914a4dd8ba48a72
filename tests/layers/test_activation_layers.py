"""Maxout, Swish and SkipInit against their definitions."""

import keras
import numpy as np
import pytest

from kerasboost.layers import Maxout, SkipInit, Swish


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_maxout_takes_the_max_of_consecutive_groups_on_any_axis():
    x = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
    np.testing.assert_array_equal(_np(Maxout(2)(x)), x.reshape(3, 6, 2, 2).max(axis=-1))
    np.testing.assert_array_equal(_np(Maxout(3, axis=1)(x)), x.reshape(3, 3, 2, 4).max(axis=2))
    assert Maxout(3, axis=1).compute_output_shape((None, 6, 4)) == (None, 3, 4)


def test_maxout_groups_must_divide_the_features():
    with pytest.raises(ValueError, match="num_units=4"):
        Maxout(4)(np.ones((2, 6), "float32"))
    with pytest.raises(ValueError, match="axis=0"):
        Maxout(2, axis=0)(np.ones((2, 6), "float32"))


def test_swish_formula_and_trainable_beta():
    x = np.linspace(-4, 4, 9, dtype="float32")[None]
    layer = Swish(beta=2.0)
    np.testing.assert_allclose(_np(layer(x)), x / (1 + np.exp(-2.0 * x)), rtol=1e-6, atol=1e-7)
    assert len(layer.trainable_weights) == 1
    frozen = Swish(beta=2.0, trainable=False)
    frozen(x)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 1


def test_swish_beta_learns():
    x = np.random.default_rng(1).normal(size=(64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((1,)), Swish(beta=1.0)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse", jit_compile=True)
    model.fit(x, np.maximum(x, 0), epochs=100, batch_size=64, verbose=0)  # ReLU is beta -> inf
    assert float(_np(model.layers[0].beta)) > 2.0


def test_skip_init_starts_as_identity_block_and_learns_alpha():
    inputs = keras.Input((4,))
    branch = keras.layers.Dense(4)(inputs)
    skip = SkipInit()
    model = keras.Model(inputs, keras.layers.Add()([inputs, skip(branch)]))
    x = np.random.default_rng(2).normal(size=(32, 4)).astype("float32")
    np.testing.assert_array_equal(_np(model(x)), x)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    model.fit(x, 2 * x, epochs=1, batch_size=32, verbose=0)
    assert float(_np(skip.alpha)) != 0.0


def test_elementwise_layers_pass_masks_through():
    inputs = keras.Input((5, 2))
    masked = keras.layers.Masking(0.0)(inputs)
    for layer in (Swish(), SkipInit(alpha=1.0)):
        assert layer.compute_mask(masked, masked._keras_mask) is masked._keras_mask
