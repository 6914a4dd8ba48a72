import numpy as np
import pytest

from kerasboost.initializers import OrthogonalFor, calculate_gain


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear", "gelu"])
def test_tall_kernel_has_orthogonal_columns_times_gain(activation):
    gain = calculate_gain(activation)
    w = np.asarray(OrthogonalFor(activation, seed=0)((96, 64)), "float64")
    np.testing.assert_allclose(w.T @ w, gain**2 * np.eye(64), atol=1e-5)


def test_wide_and_conv_kernels():
    w = np.asarray(OrthogonalFor("relu", seed=1)((32, 80)), "float64")
    np.testing.assert_allclose(w @ w.T, 2 * np.eye(32), atol=1e-5)
    k = np.asarray(OrthogonalFor("tanh", seed=1)((3, 3, 16, 32)), "float64").reshape(-1, 32)
    np.testing.assert_allclose(k.T @ k, (5 / 3) ** 2 * np.eye(32), atol=1e-5)


def test_leaky_slope_sets_the_gain():
    init = OrthogonalFor("leaky_relu", negative_slope=0.5)
    assert init.gain == pytest.approx(np.sqrt(2 / 1.25))
    assert OrthogonalFor("leaky_relu").gain == pytest.approx(np.sqrt(2 / 1.04))
