import keras
import numpy as np

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import OneCycle, Scaled


def test_multiplies_every_step_by_the_factor():
    base = OneCycle(0.1, total_steps=20)
    steps = list(range(21))
    np.testing.assert_allclose(
        schedule_values(Scaled(base, 0.25), steps), 0.25 * schedule_values(base, steps), rtol=1e-6
    )


def test_float_and_keras_schedules_nest_and_round_trip():
    assert float(Scaled(0.2, 0.5)(7)) == np.float32(0.1)
    lr = Scaled(keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5), 2.0)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lr))
    np.testing.assert_allclose(schedule_values(again, [0, 1, 2]), [0.2, 0.1, 0.05], rtol=1e-6)
