import numpy as np

from kerasboost.optimizers import AdaBelief
from tests.optimizers.reference import adabelief
from tests.optimizers.test_rectified_adam import W0, A, run


def test_trajectory_follows_the_update_rule():
    ours = run(AdaBelief(learning_rate=0.01, epsilon=1e-12), 30)
    np.testing.assert_allclose(ours, adabelief(W0, A, 30, lr=0.01, eps=1e-12), rtol=1e-4, atol=1e-6)


def test_step_size_follows_belief_not_magnitude():
    # a constant gradient is fully "believed": (g - m)^2 shrinks, so AdaBelief steps
    # grow towards lr / sqrt(eps-floor) ... while Adam's stay at lr. Check the first step by hand:
    # m1 = 0.1 g, s1 = 0.001 (0.9 g)^2 + eps -> m_hat = g, s_hat = 0.81 g^2 -> step = lr / 0.9
    ours = run(AdaBelief(learning_rate=0.01, epsilon=0.0), 1, w0=np.array([2.0]), a=np.array([1.0]))
    np.testing.assert_allclose(ours[0], [2.0 - 0.01 / 0.9], rtol=1e-6)
