import keras
import numpy as np
import pytest

from kerasboost.initializers import DeltaOrthogonal


@pytest.mark.parametrize("shape", [(5, 8, 8), (3, 3, 4, 12), (3, 3, 3, 6, 6)])
def test_orthogonal_centre_and_zeros_elsewhere(shape):
    w = np.asarray(DeltaOrthogonal(gain=1.5, seed=0)(shape), "float64")
    centre = tuple(k // 2 for k in shape[:-2])
    h = w[centre]
    np.testing.assert_allclose(h @ h.T, 1.5**2 * np.eye(shape[-2]), atol=1e-5)
    w[centre] = 0.0
    assert np.all(w == 0.0)


def test_convolution_preserves_every_position_norm():
    conv = keras.layers.Conv2D(24, 3, padding="same", use_bias=False, kernel_initializer=DeltaOrthogonal(seed=1))
    x = np.random.default_rng(0).normal(size=(2, 7, 7, 8)).astype("float32")
    y = np.asarray(conv(x))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)


@pytest.mark.parametrize("shape,why", [((3, 3, 16, 8), "out_channels >= in_channels"), ((16, 32), "kernel shape")])
def test_bad_shapes_are_explained(shape, why):
    with pytest.raises(ValueError, match="shape") as info:
        DeltaOrthogonal()(shape)
    assert why in str(info.value) and repr(shape) in str(info.value)
