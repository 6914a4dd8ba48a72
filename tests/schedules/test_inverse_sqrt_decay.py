import numpy as np
import pytest

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import InverseSqrtDecay


def test_transformer_schedule():
    d_model, warmup = 512, 4000
    lr = InverseSqrtDecay(scale=d_model**-0.5, warmup_steps=warmup)
    steps = np.array([0, 1, 999, 3998, 3999, 4000, 10_000, 99_999])
    n = steps + 1.0
    expected = d_model**-0.5 * np.minimum(n**-0.5, n * warmup**-1.5)
    np.testing.assert_allclose(schedule_values(lr, steps), expected, rtol=1e-5)
    assert schedule_values(lr, [3999])[0] == pytest.approx((d_model * warmup) ** -0.5, rel=1e-5)
    assert np.argmax(schedule_values(lr, 8000)) == 3999


def test_without_warmup_decays_from_scale():
    lr = InverseSqrtDecay(scale=0.1)
    np.testing.assert_allclose(schedule_values(lr, [0, 3, 99]), [0.1, 0.05, 0.01], rtol=1e-6)
