import keras
import numpy as np
import pytest

from kerasboost.optimizers import LARS
from tests.optimizers.reference import lars

RNG = np.random.default_rng(0)
KERNEL = RNG.normal(size=(4, 3))
BIAS = RNG.normal(size=(3,))
TARGET_K, TARGET_B = RNG.normal(size=(4, 3)), RNG.normal(size=(3,))


def grads(weights):
    k, b = weights
    return [2.0 * (k - TARGET_K), 2.0 * (b - TARGET_B)]


@pytest.mark.parametrize("nesterov", [False, True])
def test_trajectory_follows_the_update_rule(nesterov):
    optimizer = LARS(learning_rate=2.0, momentum=0.9, weight_decay_rate=1e-2, trust_coefficient=0.01, nesterov=nesterov)
    k, b = keras.Variable(KERNEL.astype("float32")), keras.Variable(BIAS.astype("float32"))
    expected = lars([KERNEL, BIAS], grads, 15, lr=2.0, wd=1e-2, eta=0.01, nesterov=nesterov)
    for step in range(15):
        g = grads([np.asarray(k, "float64"), np.asarray(b, "float64")])
        optimizer.apply([g[0].astype("float32"), g[1].astype("float32")], [k, b])
        np.testing.assert_allclose(np.asarray(k), expected[step][0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(np.asarray(b), expected[step][1], rtol=1e-4, atol=1e-6)


def test_trust_ratio_makes_the_step_proportional_to_the_weight_norm():
    # one step, no momentum history: ||dW|| = lr * eta * ||W|| whatever the gradient scale
    for scale in (1e-3, 1.0, 1e3):
        w = keras.Variable(KERNEL.astype("float32"))
        LARS(learning_rate=1.0, momentum=0.0, trust_coefficient=0.01).apply([(scale * TARGET_K).astype("float32")], [w])
        step = np.linalg.norm(np.asarray(w, "float64") - KERNEL)
        assert step == pytest.approx(0.01 * np.linalg.norm(KERNEL), rel=1e-5)
