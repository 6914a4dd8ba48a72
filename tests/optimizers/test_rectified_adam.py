import keras
import numpy as np
import pytest

from kerasboost.optimizers import RectifiedAdam
from tests.optimizers.reference import radam

A = np.array([1.0, 0.5, 2.0, 4.0, 0.1])
W0 = np.array([1.0, -2.0, 0.5, 0.3, 3.0])


def run(optimizer, steps, w0=W0, a=A):
    w = keras.Variable(w0.astype("float32"))
    path = []
    for _ in range(steps):
        optimizer.apply([w * a.astype("float32")], [w])
        path.append(np.asarray(w, "float64"))
    return np.array(path)


def test_trajectory_follows_the_update_rule():
    ours = run(RectifiedAdam(learning_rate=0.05), 40)
    np.testing.assert_allclose(ours, radam(W0, A, 40, lr=0.05), rtol=1e-4, atol=1e-6)


def test_first_steps_are_momentum_steps():
    # rho_t <= 5 for t <= 5 (beta_2 = 0.999): w -= lr * m_hat, and m_hat = g at t = 1
    ours = run(RectifiedAdam(learning_rate=0.1), 1)
    np.testing.assert_allclose(ours[0], W0 - 0.1 * A * W0, rtol=1e-6)


def test_matches_pytorch_radam():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt = torch.optim.RAdam([w], lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    expected = []
    for _ in range(40):
        opt.zero_grad()
        (0.5 * (torch.tensor(A) * w * w).sum()).backward()
        opt.step()
        expected.append(w.detach().numpy().copy())
    ours = run(RectifiedAdam(learning_rate=0.05, epsilon=1e-8), 40)
    np.testing.assert_allclose(ours, np.array(expected), rtol=1e-4, atol=1e-6)
