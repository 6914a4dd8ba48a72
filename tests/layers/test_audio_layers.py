"""Audio / 1-D augmentation: identity at inference, per-sample randomness, the promised ranges."""

import keras
import numpy as np
import pytest

from kerasboost.layers import AddNoise, FrequencyMasking, RandomGain, RandomSpeed, RandomTimeShift, TimeMasking


def _np(x):
    return keras.ops.convert_to_numpy(x)


LAYERS = [
    lambda: RandomGain(-6.0, 6.0, seed=1),
    lambda: AddNoise(0.0, 10.0, seed=1),
    lambda: RandomTimeShift(0.3, seed=1),
    lambda: RandomSpeed(0.8, 1.2, seed=1),
    lambda: TimeMasking(4, num_masks=2, seed=1),
    lambda: FrequencyMasking(3, seed=1),
]


@pytest.mark.parametrize("make", LAYERS)
def test_identity_at_inference_seeded_and_per_sample(make):
    x = np.random.default_rng(0).normal(size=(64, 20, 6)).astype("float32")
    np.testing.assert_array_equal(_np(make()(x)), x)
    a, b = _np(make()(x, training=True)), _np(make()(x, training=True))
    np.testing.assert_array_equal(a, b)  # the same seed reproduces
    changed = [not np.array_equal(a[i], x[i]) for i in range(64)]
    assert any(changed)
    # per-sample randomness: samples are not all transformed alike
    ratios = {tuple(np.round(a[i, :, 0] - x[i, :, 0], 3)) for i in range(64)}
    assert len(ratios) > 8


def test_random_gain_is_a_per_sample_constant_within_the_db_range():
    x = np.random.default_rng(1).uniform(0.5, 1.0, size=(500, 10)).astype("float32")
    y = _np(RandomGain(-6.0, 3.0, seed=2)(x, training=True))
    gain_db = 20 * np.log10(y / x)
    np.testing.assert_allclose(gain_db, gain_db[:, :1] * np.ones((1, 10)), atol=1e-4)
    assert gain_db.min() >= -6.0 - 1e-4 and gain_db.max() <= 3.0 + 1e-4
    assert gain_db.min() < -5.0 and gain_db.max() > 2.0  # the whole range is used


def test_add_noise_snr_lies_in_the_requested_range():
    rng = np.random.default_rng(3)
    x = (rng.uniform(0.1, 3.0, size=(200, 1)) * np.sin(np.linspace(0, 300, 8000))).astype("float32")
    y = _np(AddNoise(5.0, 15.0, seed=4)(x, training=True))
    snr = 10 * np.log10((x**2).mean(axis=1) / ((y - x) ** 2).mean(axis=1))
    # the measured SNR of 8000 samples deviates from the drawn one by ~0.07 dB (std)
    assert snr.min() > 5.0 - 0.3 and snr.max() < 15.0 + 0.3
    assert snr.min() < 6.0 and snr.max() > 14.0


@pytest.mark.parametrize("fill", ["zeros", "wrap"])
def test_random_time_shift_is_an_integer_shift_within_the_bound(fill):
    x = np.arange(1, 21, dtype="float32")[None].repeat(200, axis=0)
    y = _np(RandomTimeShift(0.25, fill=fill, seed=5)(x, training=True))
    for row in y:
        shifts = [s for s in range(-5, 6) if np.array_equal(row, _shifted(x[0], s, fill))]
        assert len(shifts) == 1
    assert {len(np.unique(r)) for r in y} != {20} or fill == "wrap"


def _shifted(row, s, fill):
    if fill == "wrap":
        return np.roll(row, s)
    out = np.zeros_like(row)
    if s >= 0:
        out[s:] = row[: len(row) - s]
    else:
        out[:s] = row[-s:]
    return out


def test_random_speed_interpolates_linearly():
    x = np.arange(8, dtype="float32")[None] ** 2
    np.testing.assert_allclose(_np(RandomSpeed(1.0, 1.0)(x, training=True)), x)
    half = _np(RandomSpeed(0.5, 0.5)(x, training=True))[0]
    np.testing.assert_allclose(half, np.interp(np.arange(8) * 0.5, np.arange(8), x[0]), rtol=1e-6)
    fast = _np(RandomSpeed(1.5, 1.5)(x, training=True))[0]
    positions = np.arange(8) * 1.5
    # beyond the end the signal is zero-padded: between the last sample and the padding it fades linearly
    padded = np.append(x[0], 0.0)
    expected = np.where(positions <= 8, np.interp(positions, np.arange(9), padded), 0.0)
    np.testing.assert_allclose(fast, expected, rtol=1e-6)


@pytest.mark.parametrize("layer_cls,axis", [(TimeMasking, 1), (FrequencyMasking, 2)])
def test_masks_are_contiguous_bands_of_at_most_max_width(layer_cls, axis):
    x = np.ones((300, 12, 10, 2), "float32")
    y = _np(layer_cls(4, num_masks=1, mask_value=-1.0, seed=6)(x, training=True))
    masked = (y == -1.0).all(axis=tuple(a for a in (1, 2, 3) if a != axis))
    assert np.array_equal((y == -1.0).any(axis=tuple(a for a in (1, 2, 3) if a != axis)), masked)
    widths = masked.sum(axis=1)
    assert widths.max() <= 4 and set(widths) == {0, 1, 2, 3, 4}
    for row in masked:
        idx = np.flatnonzero(row)
        assert len(idx) == 0 or idx[-1] - idx[0] + 1 == len(idx)


def test_masking_width_larger_than_the_axis_is_rejected():
    with pytest.raises(ValueError, match="max_width=20"):
        FrequencyMasking(20)(np.ones((1, 12, 10), "float32"))
