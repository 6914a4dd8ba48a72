import keras
import numpy as np
import pytest

from kerasboost.initializers import LooksLinear


def test_hidden_kernel_is_mirrored_orthogonal():
    k = np.asarray(LooksLinear(gain=1.3, seed=0)((20, 16)), "float64")
    w0 = k[:10, :8]
    np.testing.assert_array_equal(k, np.block([[w0, -w0], [-w0, w0]]))
    np.testing.assert_allclose(w0.T @ w0, 1.3**2 * np.eye(8), atol=1e-5)  # (10, 8): orthonormal columns


def test_first_layer_kernel_is_w_minus_w():
    k = np.asarray(LooksLinear(input_mirrored=False, seed=1)((7, 12)), "float64")
    np.testing.assert_array_equal(k[:, 6:], -k[:, :6])
    np.testing.assert_allclose(k[:, :6].T @ k[:, :6], np.eye(6), atol=1e-5)


def test_deep_relu_stack_computes_a_linear_map_at_init():
    depth = 100
    layers = [
        keras.layers.Dense(32, "relu", kernel_initializer=LooksLinear(input_mirrored=i > 0, seed=i))
        for i in range(depth)
    ]
    model = keras.Sequential([keras.Input((16,))] + layers)
    x = np.random.default_rng(0).normal(size=(64, 16)).astype("float32")
    y = np.asarray(model(x), "float64")
    # relu([b, -b]) keeps b: the top half minus the bottom half is the linear image of x
    linear = np.asarray(layers[0].kernel, "float64")[:, :16]
    for layer in layers[1:]:
        linear = linear @ np.asarray(layer.kernel, "float64")[:16, :16]
    np.testing.assert_allclose(y[:, :16] - y[:, 16:], x @ linear, atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-3)


def test_conv_kernel_has_the_structure_at_its_centre():
    k = np.asarray(LooksLinear(seed=2)((3, 3, 8, 8)), "float64")
    centre = k[1, 1]
    w0 = centre[:4, :4]
    np.testing.assert_array_equal(centre, np.block([[w0, -w0], [-w0, w0]]))
    k[1, 1] = 0
    assert np.all(k == 0)


@pytest.mark.parametrize("shape,kwargs", [((8, 7), {}), ((7, 8), {}), ((16,), {})])
def test_odd_widths_and_bad_shapes_name_shape(shape, kwargs):
    with pytest.raises(ValueError, match=r"shape=") as info:
        LooksLinear(**kwargs)(shape)
    assert repr(shape) in str(info.value)


def test_odd_input_is_fine_for_the_first_layer():
    assert np.asarray(LooksLinear(input_mirrored=False)((7, 8))).shape == (7, 8)
