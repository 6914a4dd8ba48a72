import keras
import numpy as np
import pytest

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import OneCycle, Warmup


def test_linear_warmup_of_a_constant():
    lr = Warmup(0.1, warmup_steps=10)
    np.testing.assert_allclose(schedule_values(lr, [0, 1, 5, 9, 10, 500]), [0, 0.01, 0.05, 0.09, 0.1, 0.1], rtol=1e-6)


def test_start_learning_rate_is_the_value_at_step_zero():
    lr = Warmup(0.1, warmup_steps=10, start_learning_rate=0.02)
    np.testing.assert_allclose(schedule_values(lr, [0, 5]), [0.02, 0.06], rtol=1e-6)


def test_wrapped_schedule_runs_from_its_own_step_zero():
    cosine = keras.optimizers.schedules.CosineDecay(1.0, decay_steps=100, alpha=0.1)
    lr = Warmup(cosine, warmup_steps=20)
    steps = np.arange(20, 200, 7)
    np.testing.assert_allclose(schedule_values(lr, steps), schedule_values(cosine, steps - 20), rtol=1e-6)
    # the ramp ends at the wrapped schedule's value at its step 0
    assert schedule_values(lr, [10])[0] == pytest.approx(0.5 * float(cosine(0)), rel=1e-6)


def test_exponential_mode_is_geometric():
    lr = Warmup(1e-2, warmup_steps=10, start_learning_rate=1e-4, mode="exponential")
    # start * (target / start) ** (step / warmup_steps)
    expected = [1e-4 * 100 ** (s / 10) for s in (0, 2, 5, 8)]
    np.testing.assert_allclose(schedule_values(lr, [0, 2, 5, 8]), expected, rtol=1e-5)


def test_polynomial_mode_uses_power():
    lr = Warmup(1.0, warmup_steps=10, mode="polynomial", power=2.0)
    np.testing.assert_allclose(schedule_values(lr, [0, 5, 10]), [0.0, 0.25, 1.0], rtol=1e-6)


def test_zero_warmup_steps_is_the_wrapped_schedule():
    inner = OneCycle(0.01, total_steps=50)
    np.testing.assert_allclose(schedule_values(Warmup(inner, 0), 60), schedule_values(inner, 60), rtol=1e-7)


def test_nested_kerasboost_schedule_and_config_round_trip():
    lr = Warmup(OneCycle(0.01, total_steps=50), warmup_steps=5)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lr))
    assert isinstance(restored.schedule, OneCycle)
    np.testing.assert_array_equal(schedule_values(restored, 80), schedule_values(lr, 80))
    np.testing.assert_allclose(schedule_values(lr, [5, 20]), schedule_values(lr.schedule, [0, 15]), rtol=1e-7)


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_returns_float32_for_any_step_dtype(dtype):
    value = Warmup(0.1, 10)(keras.ops.convert_to_tensor(3, dtype))
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
