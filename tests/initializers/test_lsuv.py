import keras
import numpy as np
import pytest

from kerasboost.initializers import lsuv


def _x(shape, n=256, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype("float32")


def _pre_activation_stds(model, x):
    """Independent check: each kernel layer's input, times kernel, plus bias."""
    stds = {}
    for layer in model.layers:
        if not hasattr(layer, "kernel"):
            continue
        inputs = np.asarray(keras.Model(model.inputs[0], layer.input)(x))
        kernel, bias = np.asarray(layer.kernel), np.asarray(layer.bias)
        stds[layer.name] = float(np.std(inputs @ kernel + bias))
    return stds


def test_every_dense_pre_activation_gets_unit_std_and_architecture_is_kept():
    model = keras.Sequential(
        [keras.Input((30,))]
        + [keras.layers.Dense(40, activation=a) for a in ("relu", "tanh", "sigmoid", "relu", "selu")]
        + [keras.layers.Dropout(0.5), keras.layers.Dense(3)]
    )
    config = model.get_config()
    x = _x((30,))
    results = lsuv(model, x, tol=0.02, seed=0)
    assert [r.layer for r in results] == [l.name for l in model.layers if hasattr(l, "kernel")]
    assert all(r.converged for r in results)
    for name, std in _pre_activation_stds(model, x).items():
        assert std == pytest.approx(1.0, abs=0.02), name
    assert model.get_config() == config


def test_target_std_and_orthogonal_pre_init():
    model = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dense(16, use_bias=False), keras.layers.Dense(8, use_bias=False)]
    )
    x = _x((16,))
    results = lsuv(model, x, target_std=0.5, tol=0.01, seed=0)
    assert all(abs(r.final_std - 0.5) <= 0.005 for r in results)
    # linear layers without bias: one rescaling is exact; the kernel stays a scaled orthogonal matrix
    assert results[0].iterations == 1
    w = np.asarray(model.layers[0].kernel, "float64")
    np.testing.assert_allclose(w.T @ w, results[0].scale ** 2 * np.eye(16), atol=1e-5)


def test_functional_conv_model_skips_layers_without_kernel():
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, activation="tanh")(x)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    results = lsuv(model, _x((12, 12, 3), n=64), tol=0.02)
    assert len(results) == 3 and all(r.converged for r in results)


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        ({"x_batch": np.zeros((8, 5), "float32")}, "x_batch"),
        ({"tol": 0.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"target_std": -1.0}, "target_std"),
    ],
)
def test_bad_arguments(kwargs, argument):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    arguments = {"x_batch": _x((4,)), **kwargs}
    with pytest.raises(ValueError, match=argument):
        lsuv(model, **arguments)


def test_center_gives_each_unit_zero_mean_and_the_layer_unit_spread():
    # a sigmoid stack: every output has mean ~0.5, so uncentred pre-activations carry per-unit offsets
    model = keras.Sequential(
        [keras.Input((10,))]
        + [keras.layers.Dense(24, activation="sigmoid") for _ in range(4)]
        + [keras.layers.Dense(3)]
    )
    x = _x((10,)) + 3.0  # inputs far from zero mean
    results = lsuv(model, x, tol=0.01, seed=0, center=True)
    assert all(r.converged for r in results)
    for layer in model.layers:  # independent check: input @ kernel + bias, per unit
        inputs = np.asarray(keras.Model(model.inputs[0], layer.input)(x), "float64")
        pre = inputs @ np.asarray(layer.kernel, "float64") + np.asarray(layer.bias, "float64")
        np.testing.assert_allclose(pre.mean(axis=0), 0.0, atol=1e-4)
        assert np.std(pre) == pytest.approx(1.0, abs=0.01), layer.name
    with pytest.raises(ValueError, match="center"):
        lsuv(model, x, center="yes")
