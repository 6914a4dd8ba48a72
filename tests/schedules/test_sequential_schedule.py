import keras
import numpy as np

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import OneCycle, SequentialSchedule, Warmup


def test_each_schedule_starts_at_its_own_step_zero():
    cosine = keras.optimizers.schedules.CosineDecay(1.0, decay_steps=90)
    one_cycle = OneCycle(0.5, total_steps=50)
    lr = SequentialSchedule([Warmup(1.0, 10), cosine, 0.01, one_cycle], boundaries=[10, 100, 120])
    np.testing.assert_allclose(schedule_values(lr, [0, 5]), [0.0, 0.5], rtol=1e-6)
    np.testing.assert_allclose(schedule_values(lr, range(10, 100)), schedule_values(cosine, range(0, 90)), rtol=1e-6)
    np.testing.assert_allclose(schedule_values(lr, [100, 119]), [0.01, 0.01], rtol=1e-6)
    np.testing.assert_allclose(
        schedule_values(lr, range(120, 200)), schedule_values(one_cycle, range(0, 80)), rtol=1e-6
    )


def test_single_schedule_needs_no_boundaries():
    np.testing.assert_allclose(schedule_values(SequentialSchedule([0.2], []), 5), np.full(5, 0.2), rtol=1e-7)
