import numpy as np

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import StepDecay


def test_drops_by_factor_every_drop_every_steps():
    lr = StepDecay(0.1, drop_every=30, factor=0.1)
    np.testing.assert_allclose(
        schedule_values(lr, [0, 29, 30, 59, 60, 95]), [0.1, 0.1, 0.01, 0.01, 1e-3, 1e-4], rtol=1e-5
    )


def test_never_below_the_floor():
    lr = StepDecay(1.0, drop_every=1, factor=0.5, min_learning_rate=0.1)
    np.testing.assert_allclose(schedule_values(lr, [0, 1, 2, 3, 4, 100]), [1.0, 0.5, 0.25, 0.125, 0.1, 0.1], rtol=1e-6)
