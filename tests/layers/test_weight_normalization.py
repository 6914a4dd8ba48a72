"""WeightNormalization: w = g v / ||v||, data-dependent init once, in the compiled step."""

import keras
import numpy as np
import pytest

from kerasboost.layers import WeightNormalization


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _unit(v):
    axes = tuple(range(v.ndim - 1))
    return v / np.sqrt(np.maximum((v**2).sum(axis=axes, keepdims=True), 1e-6))


def test_dense_output_equals_dense_with_effective_kernel():
    rng = np.random.default_rng(0)
    layer = WeightNormalization(keras.layers.Dense(4, activation="tanh"), data_init=False)
    x = rng.normal(size=(5, 3)).astype("float32")
    layer(x)
    layer.g.assign(rng.uniform(0.5, 2.0, size=4).astype("float32"))
    layer.layer.bias.assign(rng.normal(size=4).astype("float32"))
    v = _np(layer.layer.kernel)
    w = _np(layer.g) * _unit(v)
    np.testing.assert_allclose(_np(layer.effective_kernel()), w, rtol=1e-6, atol=1e-6)
    expected = np.tanh(x @ w + _np(layer.layer.bias))
    np.testing.assert_allclose(_np(layer(x)), expected, rtol=1e-5, atol=1e-6)


def test_without_data_init_the_wrapped_layer_starts_unchanged():
    dense = keras.layers.Dense(4)
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    dense(x)
    kernel, bias = (_np(w) for w in dense.weights)
    layer = WeightNormalization(dense, data_init=False)
    np.testing.assert_allclose(_np(layer(x)), x @ kernel + bias, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("value", [0.05, 1e-5])  # ||v||^2 above and below epsilon = 1e-6
def test_without_data_init_a_small_kernel_starts_exactly_as_it_was(value):
    # the direction's normalizer and the initial g cancel: 0.05, not 0.04999 (||v||^2 + eps)
    layer = WeightNormalization(
        keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(value)), data_init=False
    )
    out = _np(layer(np.ones((1, 4), "float32")))
    np.testing.assert_allclose(out, [[4 * value]], rtol=2e-7)


@pytest.mark.parametrize("seed", range(8))
def test_without_data_init_a_seeded_conv2d_starts_as_the_unwrapped_layer(seed):
    x = np.random.default_rng(seed).normal(size=(2, 6, 6, 3)).astype("float32")
    keras.utils.set_random_seed(seed)
    plain = keras.layers.Conv2D(5, 3)
    expected = _np(plain(x))
    keras.utils.set_random_seed(seed)
    wrapped = WeightNormalization(keras.layers.Conv2D(5, 3), data_init=False)
    np.testing.assert_allclose(_np(wrapped(x)), expected, rtol=1e-6, atol=1e-6)


def test_conv2d_output_equals_convolution_with_effective_kernel():
    rng = np.random.default_rng(2)
    layer = WeightNormalization(keras.layers.Conv2D(3, 2, activation="relu"), data_init=False)
    x = rng.normal(size=(2, 5, 5, 2)).astype("float32")
    layer(x)
    layer.g.assign(rng.uniform(0.5, 2.0, size=3).astype("float32"))
    reference = keras.layers.Conv2D(3, 2, activation="relu")
    reference(x)
    reference.set_weights([_np(layer.effective_kernel()), _np(layer.layer.bias)])
    np.testing.assert_allclose(_np(layer(x)), _np(reference(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("jit_compile", [True, False])
def test_data_init_normalizes_the_first_batch_once(jit_compile):
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 3.0, size=(64, 6)).astype("float32")
    wn = WeightNormalization(keras.layers.Dense(5))
    model = keras.Sequential([keras.Input((6,)), wn])
    # learning rate 0: the only change the step makes is the initialization
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", jit_compile=jit_compile)
    assert model.jit_compile is jit_compile
    assert not bool(_np(wn.initialized))
    model.fit(x, np.zeros((64, 5)), batch_size=64, epochs=1, verbose=0)
    assert bool(_np(wn.initialized))
    pre = _np(model.predict(x, verbose=0))
    np.testing.assert_allclose(pre.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre.std(axis=0), 1.0, atol=1e-4)
    offsets = [_np(wn.g_offset), _np(wn.bias_offset)]
    # a second batch from another distribution does not re-initialize
    model.fit(x * 10.0 + 5.0, np.zeros((64, 5)), batch_size=64, epochs=1, verbose=0)
    np.testing.assert_array_equal(_np(wn.g_offset), offsets[0])
    np.testing.assert_array_equal(_np(wn.bias_offset), offsets[1])


def test_gradients_reach_direction_scale_and_bias():
    x = np.random.default_rng(4).normal(size=(16, 3)).astype("float32")
    wn = WeightNormalization(keras.layers.Dense(2, activation="tanh"))
    model = keras.Sequential([keras.Input((3,)), wn])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    before = [_np(v) for v in wn.trainable_variables]
    model.fit(x, np.ones((16, 2)), batch_size=16, epochs=2, verbose=0)
    after = [_np(v) for v in wn.trainable_variables]
    assert len(before) == 3  # kernel (v), bias, g
    assert all(np.abs(a - b).max() > 0 for a, b in zip(after, before))


def test_frozen_wrapper_keeps_working():
    wn = WeightNormalization(keras.layers.Dense(2), data_init=False)
    wn.trainable = False
    x = np.ones((1, 3), "float32")
    assert _np(wn(x)).shape == (1, 2)
    assert wn.trainable_variables == []


def test_layer_without_kernel_is_rejected():
    with pytest.raises(ValueError, match="layer"):
        WeightNormalization(keras.layers.BatchNormalization())
