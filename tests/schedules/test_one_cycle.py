import numpy as np
import pytest

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import OneCycle
from tests.schedules.reference import one_cycle_lr, torch_lrs

SETTINGS = [
    dict(pct_start=0.3, anneal_strategy="cos", three_phase=False),
    dict(pct_start=0.25, anneal_strategy="linear", three_phase=False),
    dict(pct_start=0.3, anneal_strategy="cos", three_phase=True),
    dict(pct_start=0.4, anneal_strategy="linear", three_phase=True, div_factor=10.0, final_div_factor=100.0),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_matches_the_one_cycle_formulas_at_every_step(settings):
    lr = OneCycle(0.01, total_steps=257, **settings)
    expected = [one_cycle_lr(s, 0.01, 257, **settings) for s in range(257)]
    np.testing.assert_allclose(schedule_values(lr, 257), expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("settings", SETTINGS)
def test_matches_pytorch_one_cycle_lr(settings):
    expected = torch_lrs(
        lambda torch, opt: torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=0.01, total_steps=257, cycle_momentum=False, **settings
        ),
        0.01,
        257,
    )
    lr = OneCycle(0.01, total_steps=257, **settings)
    np.testing.assert_allclose(schedule_values(lr, 257), expected, rtol=1e-6, atol=1e-12)


def test_phase_boundaries_by_hand():
    lr = OneCycle(1e-2, total_steps=1000)  # initial 4e-4, minimum 4e-8
    values = schedule_values(lr, [0, 299, 999, 1000, 5000])
    np.testing.assert_allclose(values, [4e-4, 1e-2, 4e-8, 4e-8, 4e-8], rtol=1e-5)


def test_three_phase_returns_to_the_initial_rate():
    lr = OneCycle(1e-2, total_steps=1000, three_phase=True)
    # phase 2 ends at 2 * 0.3 * 1000 - 2 = 598 at the initial rate, then decays to the minimum
    np.testing.assert_allclose(schedule_values(lr, [299, 598, 999]), [1e-2, 4e-4, 4e-8], rtol=1e-5)
