import numpy as np

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import LinearDecay


def test_linear_then_constant():
    lr = LinearDecay(1.0, decay_steps=100, end_learning_rate=0.1)
    np.testing.assert_allclose(schedule_values(lr, [0, 25, 50, 100, 1000]), [1.0, 0.775, 0.55, 0.1, 0.1], rtol=1e-6)
