import keras
import matplotlib
import numpy as np
import pytest

from kerasboost.diagnostics import plot_schedule, schedule_values
from kerasboost.schedules import OneCycle, Warmup

matplotlib.use("Agg")


def test_vectorised_values_equal_step_by_step_values():
    lr = Warmup(OneCycle(0.01, total_steps=40), warmup_steps=5)
    one_by_one = [float(lr(keras.ops.convert_to_tensor(s, "int64"))) for s in range(50)]
    np.testing.assert_allclose(schedule_values(lr, 50), one_by_one, rtol=1e-6)  # vector vs scalar cos kernels


def test_float_learning_rate_is_constant():
    np.testing.assert_array_equal(schedule_values(0.5, [0, 10]), np.array([0.5, 0.5], "float32"))


def test_plot_draws_the_values(tmp_path):
    lr = OneCycle(0.01, total_steps=100)
    fig = plot_schedule(lr, 100, log_scale=True)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(100))
    np.testing.assert_array_equal(line.get_ydata(), schedule_values(lr, 100))
    assert line.get_label() == "OneCycle"
    assert fig.axes[0].get_yscale() == "log"
    fig.savefig(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 1000


@pytest.mark.parametrize("steps", [0, -3, [], "ten", 2.5])
def test_bad_steps_are_rejected(steps):
    with pytest.raises(ValueError, match="steps"):
        schedule_values(0.1, steps)
