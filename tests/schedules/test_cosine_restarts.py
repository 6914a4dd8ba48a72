import math

import keras
import numpy as np
import pytest

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import CosineRestarts


@pytest.mark.parametrize("t_mul,m_mul", [(1.0, 1.0), (2.0, 1.0), (2.0, 0.5), (1.5, 0.8)])
def test_equals_keras_cosine_decay_restarts_without_warmup(t_mul, m_mul):
    ours = CosineRestarts(0.1, first_cycle_steps=20, cycle_multiplier=t_mul, cycle_decay=m_mul)
    keras_lr = keras.optimizers.schedules.CosineDecayRestarts(0.1, 20, t_mul=t_mul, m_mul=m_mul)
    steps = [s for s in range(400)]
    np.testing.assert_allclose(schedule_values(ours, steps), schedule_values(keras_lr, steps), rtol=1e-4, atol=1e-7)


def test_every_cycle_starts_exactly_at_its_peak():
    # cycles of 10, 15, 22.5, 33.75, ... steps: starts 0, 10, 25, 47.5, 81.25
    lr = CosineRestarts(1.0, first_cycle_steps=10, cycle_multiplier=1.5, cycle_decay=0.5)
    np.testing.assert_allclose(schedule_values(lr, [0, 10, 25]), [1.0, 0.5, 0.25], rtol=1e-6)
    lr = CosineRestarts(1.0, first_cycle_steps=100, cycle_multiplier=2.0, cycle_decay=0.5)
    np.testing.assert_allclose(
        schedule_values(lr, [0, 100, 300, 700, 1500, 3100]), [1, 0.5, 0.25, 0.125, 0.0625, 0.03125], rtol=1e-6
    )


def test_per_cycle_warmup_min_and_cycle_limit():
    lr = CosineRestarts(1.0, first_cycle_steps=10, warmup_steps=2, min_learning_rate=0.1, max_cycles=2)
    # cycle start at the floor, peak after the warmup, cosine over the remaining 8 steps
    cosine = lambda t: 0.1 + 0.9 * (1 + math.cos(math.pi * (t - 2) / 8)) / 2  # noqa: E731
    steps = [0, 1, 2, 6, 10, 11, 12, 16, 19, 20, 35]
    expected = [0.1, 0.55, 1.0, cosine(6), 0.1, 0.55, 1.0, cosine(6), cosine(9), 0.1, 0.1]
    np.testing.assert_allclose(schedule_values(lr, steps), expected, rtol=1e-5)
