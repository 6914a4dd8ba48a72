"""StochasticDepth, DropPath, drop_path_rates and DropBlock2D: statistics and structure."""

import keras
import numpy as np
import pytest

from kerasboost.layers import DropBlock2D, DropPath, StochasticDepth, drop_path_rates
from kerasboost.layers.drop_block2d import seed_probability


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_drop_path_rates_follow_the_linear_rule():
    assert drop_path_rates(4, 0.5) == [0.125, 0.25, 0.375, 0.5]
    assert drop_path_rates(1, 0.2) == [0.2]
    with pytest.raises(ValueError, match="n_blocks=0"):
        drop_path_rates(0, 0.5)
    with pytest.raises(ValueError, match="max_rate=1.0"):
        drop_path_rates(3, 1.0)


def test_stochastic_depth_is_exact_at_inference_and_unbiased_in_training():
    rng = np.random.default_rng(0)
    n, rate = 20000, 0.3
    shortcut = rng.normal(size=(n, 4)).astype("float32")
    branch = rng.normal(size=(n, 4)).astype("float32")
    layer = StochasticDepth(rate, seed=1)
    np.testing.assert_array_equal(_np(layer([shortcut, branch])), shortcut + branch)
    out = _np(layer([shortcut, branch], training=True))
    # each sample: the whole branch kept (scaled by 1/(1-rate)) or dropped
    kept = np.isclose(out, shortcut + branch / (1 - rate), rtol=1e-5, atol=1e-5).all(axis=1)
    dropped = np.isclose(out, shortcut, rtol=1e-6, atol=1e-6).all(axis=1)
    assert np.all(kept ^ dropped)
    keep_fraction = kept.mean()
    assert abs(keep_fraction - (1 - rate)) < 4 * np.sqrt(rate * (1 - rate) / n)
    # the expectation of the output equals shortcut + branch: E[keep / (1 - rate)] = 1
    assert abs(keep_fraction / (1 - rate) - 1.0) < 4 * np.sqrt(rate / (1 - rate) / n)


def test_drop_path_per_sample_and_seeded():
    x = np.ones((1000, 3), "float32")
    a = _np(DropPath(0.5, seed=3)(x, training=True))
    b = _np(DropPath(0.5, seed=3)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 2.0}
    assert 0 < (a[:, 0] == 0).mean() < 1  # per sample, not per batch
    np.testing.assert_array_equal(_np(DropPath(0.5)(x)), x)


def _expected_drop_fraction(h, w, b, gamma):
    def cover(size):
        return np.array([min(r, size - b) - max(0, r - b + 1) + 1 for r in range(size)])

    counts = np.outer(cover(h), cover(w))
    return float(np.mean(1 - (1 - gamma) ** counts))


@pytest.mark.parametrize(
    "shape,block,rate", [((12, 12), 3, 0.1), ((7, 9), 2, 0.3), ((5, 5), 5, 0.2), ((8, 8), 1, 0.25)]
)
def test_seed_probability_gives_the_requested_expected_drop_rate(shape, block, rate):
    gamma = seed_probability(*shape, block, rate)
    assert abs(_expected_drop_fraction(*shape, block, gamma) - rate) < 1e-9
    if block == 1:
        assert abs(gamma - rate) < 1e-9  # per-unit dropout


def test_drop_block_empirical_rate_contiguity_and_identity():
    rate, block = 0.2, 3
    x = np.ones((400, 10, 10, 2), "float32")
    layer = DropBlock2D(rate, block, seed=5)
    np.testing.assert_array_equal(_np(layer(x)), x)
    out = _np(layer(x, training=True))
    dropped = out == 0
    kept_values = np.unique(out[~dropped])
    np.testing.assert_allclose(kept_values, 1 / (1 - rate), rtol=1e-6)
    # per (sample, channel) drop fractions are independent draws: mean within 4 standard errors
    per_map = dropped.mean(axis=(1, 2)).ravel()
    assert abs(per_map.mean() - rate) < 4 * per_map.std() / np.sqrt(per_map.size)
    # contiguity: every dropped unit lies in a fully dropped block x block square
    for sample in dropped[:50]:
        for c in range(2):
            m = sample[:, :, c]
            covered = np.zeros_like(m)
            for i in range(10 - block + 1):
                for j in range(10 - block + 1):
                    if m[i : i + block, j : j + block].all():
                        covered[i : i + block, j : j + block] = True
            np.testing.assert_array_equal(covered, m)


def test_drop_block_channels_first_and_bad_sizes():
    x = np.ones((4, 2, 6, 6), "float32")
    out = _np(DropBlock2D(0.3, 2, data_format="channels_first", seed=1)(x, training=True))
    assert out.shape == x.shape and (out == 0).any()
    with pytest.raises(ValueError, match="block_size=7"):
        DropBlock2D(0.1, 7)(np.ones((1, 6, 6, 1), "float32"))
