import numpy as np
import pytest

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import CyclicalLearningRate
from tests.schedules.reference import cyclic_lr, torch_lrs

MODES = [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.995)]


@pytest.mark.parametrize("mode,gamma", MODES)
def test_matches_the_cyclic_lr_formulas_at_every_step(mode, gamma):
    lr = CyclicalLearningRate(1e-4, 1e-2, step_size=50, mode=mode, gamma=gamma)
    expected = [cyclic_lr(s, 1e-4, 1e-2, 50, mode, gamma) for s in range(500)]
    np.testing.assert_allclose(schedule_values(lr, 500), expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("mode,gamma", MODES)
def test_matches_pytorch_cyclic_lr(mode, gamma):
    expected = torch_lrs(
        lambda torch, opt: torch.optim.lr_scheduler.CyclicLR(
            opt, 1e-4, 1e-2, step_size_up=50, mode=mode, gamma=gamma, cycle_momentum=False
        ),
        1e-4,
        500,
    )
    lr = CyclicalLearningRate(1e-4, 1e-2, step_size=50, mode=mode, gamma=gamma)
    np.testing.assert_allclose(schedule_values(lr, 500), expected, rtol=1e-5, atol=1e-9)


def test_hand_computed_values():
    lr = CyclicalLearningRate(0.1, 1.1, step_size=10, mode="triangular2")
    # peak of cycle 1, trough, quarter into cycle 2 (half-amplitude), peak of cycle 3
    values = schedule_values(lr, [0, 10, 20, 25, 30, 50])
    np.testing.assert_allclose(values, [0.1, 1.1, 0.1, 0.1 + 0.5 * 0.5, 0.6, 0.35], rtol=1e-6)
