import math

import numpy as np
import pytest

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import WarmupStableDecay


@pytest.mark.parametrize(
    "shape,g",
    [
        ("linear", lambda p: 1 - p),
        ("cosine", lambda p: (1 + math.cos(math.pi * p)) / 2),
        ("1-sqrt", lambda p: 1 - math.sqrt(p)),
    ],
)
def test_three_phases(shape, g):
    # decay over the last 20% of 1000 steps: from step 800 to 1000
    lr = WarmupStableDecay(
        1.0, total_steps=1000, warmup_steps=100, decay_fraction=0.2, end_learning_rate=0.1, decay_shape=shape
    )
    steps = [0, 50, 100, 500, 799, 800, 850, 900, 1000, 2000]
    expected = [0.0, 0.5, 1.0, 1.0, 1.0, 1.0] + [0.1 + 0.9 * g(p) for p in (0.25, 0.5, 1.0, 1.0)]
    np.testing.assert_allclose(schedule_values(lr, steps), expected, rtol=1e-5, atol=1e-7)


def test_no_decay_and_no_warmup_is_constant():
    lr = WarmupStableDecay(0.3, total_steps=10, decay_fraction=0.0)
    np.testing.assert_allclose(schedule_values(lr, 20), np.full(20, 0.3), rtol=1e-7)
