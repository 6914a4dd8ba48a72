import keras
import numpy as np
import pytest

from kerasboost.optimizers import SAM

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * RNG.normal(size=(32, 1))).astype("float32")
W0 = np.array([[0.3], [0.2], [-0.4]])
# XLA on TensorFlow and JAX; PyTorch trains eagerly (Keras's torch.compile path is not SAM's)
JIT = keras.backend.backend() != "torch"


def grad(w):
    """Gradient of the mean squared error of the linear model X w."""
    return 2.0 / len(X) * X.T.astype("float64") @ (X.astype("float64") @ w - Y)


def reference(steps, lr, rho, adaptive):
    w = W0.copy()
    for _ in range(steps):
        g = grad(w)
        if adaptive:
            e = rho * w**2 * g / np.linalg.norm(np.abs(w) * g)
        else:
            e = rho * g / np.linalg.norm(g)
        w = w - lr * grad(w + e)
    return w


@pytest.mark.parametrize("adaptive", [False, True])
def test_update_uses_the_gradient_at_the_perturbed_weights(adaptive):
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    net.layers[0].kernel.assign(W0.astype("float32"))
    model = SAM(net, rho=0.3, adaptive=adaptive)
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=JIT)
    model.fit(X, Y, batch_size=32, epochs=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(np.asarray(net.layers[0].kernel), reference(4, 0.1, 0.3, adaptive), rtol=1e-5)


def test_differs_from_plain_sgd_and_reports_the_first_pass_loss():
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    net.layers[0].kernel.assign(W0.astype("float32"))
    model = SAM(net, rho=0.3)
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=JIT)
    history = model.fit(X, Y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    first_loss = float(np.mean((X @ W0 - Y) ** 2))
    assert history.history["loss"][0] == pytest.approx(first_loss, rel=1e-5)
    plain = W0 - 0.1 * grad(W0)
    assert not np.allclose(np.asarray(net.layers[0].kernel), plain, rtol=1e-3)


@pytest.mark.parametrize(
    "kwargs,argument", [({"rho": 0.0}, "rho"), ({"adaptive": "yes"}, "adaptive"), ({"model": "mlp"}, "model")]
)
def test_bad_arguments(kwargs, argument):
    arguments = {"model": keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), **kwargs}
    with pytest.raises(ValueError, match=argument):
        SAM(**arguments)
