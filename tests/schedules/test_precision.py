"""Schedules in float32 against the same formula in float64, at every step: relative error <= 1e-6.

A schedule that ends at a small rate (OneCycle's `max / 25 / 1e4`, a decay to 1e-6) must reach it
exactly: `start + (end - start) * f` cancels in float32 near `f = 1` and lands 0.5% off.
"""

import math

import numpy as np
import pytest

from kerasboost.diagnostics import schedule_values
from kerasboost.schedules import CosineRestarts, LinearDecay, OneCycle, Warmup, WarmupStableDecay
from tests.schedules.reference import one_cycle_lr

RTOL = 1e-6


def assert_relative(actual, expected):
    actual, expected = np.asarray(actual, "float64"), np.asarray(expected, "float64")
    error = np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-30)
    worst = int(np.argmax(error))
    assert error[worst] <= RTOL, (
        f"step {worst}: {actual[worst]!r} vs {expected[worst]!r} (relative error {error[worst]:.2e})"
    )


def cosine64(start, end, f):
    return end + (start - end) * (1 + math.cos(math.pi * f)) / 2


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle(strategy, three_phase):
    lr = OneCycle(0.1, 100, anneal_strategy=strategy, three_phase=three_phase)
    expected = [one_cycle_lr(s, 0.1, 100, anneal_strategy=strategy, three_phase=three_phase) for s in range(100)]
    assert_relative(schedule_values(lr, 100), expected)


def test_one_cycle_reaches_its_minimum_exactly():
    # PyTorch's OneCycleLR ends at max_lr / div_factor / final_div_factor = 4e-7 at its last step
    assert schedule_values(OneCycle(0.1, 100, anneal_strategy="linear"), [99])[0] == np.float32(0.1 / 25 / 1e4)
    assert schedule_values(OneCycle(0.1, 100), [99])[0] == np.float32(0.1 / 25 / 1e4)


def test_linear_decay():
    lr = LinearDecay(0.1, 100, 1e-6)
    expected = [0.1 + (1e-6 - 0.1) * min(s / 100, 1.0) for s in range(120)]
    assert_relative(schedule_values(lr, 120), expected)
    assert schedule_values(lr, [100])[0] == np.float32(1e-6)


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
def test_warmup_stable_decay(shape):
    peak, end, total, warm, start = 0.1, 1e-6, 200, 20, 120  # decay over the last 40%
    g = {
        "linear": lambda p: 1 - p,
        "cosine": lambda p: (1 + math.cos(math.pi * p)) / 2,
        "1-sqrt": lambda p: 1 - math.sqrt(p),
    }[shape]

    def rate(s):
        if s < warm:
            return peak * s / warm
        if s < start:
            return peak
        return end + (peak - end) * g(min((s - start) / (total - start), 1.0))

    lr = WarmupStableDecay(
        peak, total_steps=total, warmup_steps=warm, decay_fraction=0.4, end_learning_rate=end, decay_shape=shape
    )
    values = schedule_values(lr, total + 5)
    assert_relative(values[1:], [rate(s) for s in range(1, total + 5)])  # step 0 is exactly 0
    assert values[0] == 0.0 and values[total] == np.float32(end)


@pytest.mark.parametrize("multiplier", [1.0, 2.0])
def test_cosine_restarts(multiplier):
    peak, floor, first, warm = 0.1, 1e-6, 20, 4
    lr = CosineRestarts(
        peak, first, cycle_multiplier=multiplier, cycle_decay=0.5, min_learning_rate=floor, warmup_steps=warm
    )

    def rate(s):
        cycle, begin, length = 0, 0, first
        while s >= begin + length:
            begin, length, cycle = begin + length, length * multiplier, cycle + 1
        t, top = s - begin, peak * 0.5**cycle
        if t < warm:
            return floor + (top - floor) * t / warm
        return cosine64(top, floor, (t - warm) / (length - warm))

    assert_relative(schedule_values(lr, 140), [rate(s) for s in range(140)])


@pytest.mark.parametrize("mode", ["linear", "polynomial"])
def test_warmup_ramp(mode):
    lr = Warmup(0.1, 50, start_learning_rate=1e-6, mode=mode, power=2.0)
    weight = (lambda f: f) if mode == "linear" else (lambda f: f**2.0)
    expected = [1e-6 + (0.1 - 1e-6) * weight(min(s / 50, 1.0)) for s in range(60)]
    assert_relative(schedule_values(lr, 60), expected)
