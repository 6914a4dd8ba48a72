"""kerasboost.utils: the random draws and the vectorized reductions every component relies on."""

import keras
import numpy as np
import pytest
from scipy import stats

from kerasboost.optimizers.wrapper import all_finite
from kerasboost.utils import random
from kerasboost.utils.reductions import FOLD, norm, split, squared_norm, totals


def _compiled(fn):
    """`fn` traced and compiled with XLA (tf.function(jit_compile=True) / jax.jit)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    return fn


# ----------------------------------------------------------------------------- random


def test_normal_is_standard_normal():
    generator = keras.random.SeedGenerator(7)
    z = np.concatenate([np.asarray(random.normal((50_000,), "float32", generator)) for _ in range(4)])
    assert np.all(np.isfinite(z))
    # 200k draws: standard errors of mean / variance are 0.0022 / 0.0032; 5 sigma bounds
    assert abs(z.mean()) < 0.011
    assert abs(z.var() - 1.0) < 0.016
    assert abs(stats.skew(z)) < 0.03
    assert abs(stats.kurtosis(z)) < 0.06
    assert stats.kstest(z, "norm").pvalue > 1e-4
    # the tails are there: P(|z| > 3) = 0.0027
    assert 0.0020 < np.mean(np.abs(z) > 3.0) < 0.0034


def test_normal_is_seeded_advances_and_casts():
    a = random.normal((1000,), "float32", keras.random.SeedGenerator(3))
    generator = keras.random.SeedGenerator(3)
    b = random.normal((1000,), "float32", generator)
    c = random.normal((1000,), "float32", generator)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(np.asarray(b), np.asarray(c))
    assert np.corrcoef(np.asarray(b), np.asarray(c))[0, 1] < 0.15
    half = random.normal((8, 4), "bfloat16", keras.random.SeedGenerator(3))
    assert keras.backend.standardize_dtype(half.dtype) == "bfloat16"
    assert tuple(half.shape) == (8, 4)


def test_normal_and_uniform_compile_with_xla():
    generator = keras.random.SeedGenerator(0)

    def draw():
        return random.normal((64, 3), "float32", generator), random.uniform((5,), "float32", generator, 2.0, 3.0)

    if keras.backend.backend() == "jax":
        pytest.skip("a SeedGenerator's state is a variable: jax.jit of it runs inside Keras's stateless scope")
    z, u = _compiled(draw)()
    assert np.all(np.isfinite(np.asarray(z)))
    assert np.all((np.asarray(u) >= 2.0) & (np.asarray(u) < 3.0))


# ----------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (63,), (64,), (65,), (71,), (3, 5, 7), (64, 256), (1001, 3)])
def test_reductions_match_numpy(shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    parts = split(x)
    sizes = [int(np.prod(p.shape)) for p in parts.slices]
    tail = 0 if parts.tail is None else int(parts.tail.shape[0])
    assert sum(sizes) + tail == x.size  # every entry in exactly one part ...
    assert len(set(sizes)) == 1 and tail < FOLD  # ... equal slices, a short tail
    assert len(sizes) == (FOLD if x.size >= FOLD * FOLD else 1)
    np.testing.assert_allclose(float(squared_norm(x)), float(np.sum(x.astype("float64") ** 2)), rtol=1e-5)
    np.testing.assert_allclose(float(norm(x)), float(np.linalg.norm(x.ravel())), rtol=1e-5)
    if x.size:
        y = np.cos(x)  # a second tensor of the same shape
        out = totals(
            [x, y], sums=(lambda a, b: a * b, lambda a, b: a), maxima=(lambda a, b: keras.ops.abs(a), lambda a, b: -a)
        )
        np.testing.assert_allclose(
            np.asarray(out)[:2], [np.sum(x.astype("float64") * y), np.sum(x.astype("float64"))], rtol=1e-4, atol=1e-4
        )
        np.testing.assert_allclose(
            np.asarray(out)[2:], [np.abs(x).max(), -x.min()], rtol=1e-6
        )  # maxima: position matters
        assert float(totals([x], maxima=(keras.ops.abs,))[0]) == pytest.approx(float(np.abs(x).max()))
        compiled = _compiled(lambda v: norm(v))
        np.testing.assert_allclose(float(compiled(x)), float(np.linalg.norm(x.ravel())), rtol=1e-5)


@pytest.mark.parametrize("position", [0, 8, 63, 64, 70])  # first / middle / last slice of 71, and the tail
def test_reductions_count_and_max_every_position(position):
    x = np.zeros(71, "float32")
    x[position] = -3.0
    zeros, top = np.asarray(
        totals([x], sums=(lambda v: keras.ops.cast(keras.ops.equal(v, 0), "float32"),), maxima=(keras.ops.abs,))
    )
    assert (zeros, top) == (70.0, 3.0)


def test_totals_rejects_mismatched_shapes_and_no_function():
    with pytest.raises(ValueError, match="one shape"):
        totals([np.zeros(3), np.zeros(4)], sums=(lambda a, b: a,))
    with pytest.raises(ValueError, match="at least one"):
        totals([np.zeros(3)])


@pytest.mark.parametrize("position", [0, 15, 16, 20, 64, 70])  # in the slices, and in the tail
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_entry_anywhere(position, bad):
    g = np.ones(71, "float32")
    assert bool(all_finite([g, None, np.zeros((2, 3), "float32")]))
    g[position] = bad
    assert not bool(all_finite([np.zeros((2, 3), "float32"), None, g]))
    assert not bool(_compiled(lambda a, b: all_finite([a, b]))(np.zeros((2, 3), "float32"), g))
    assert bool(all_finite([None]))
