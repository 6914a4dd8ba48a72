"""kerasboost.utils: the random draws and the finiteness test the components rely on."""

import keras
import numpy as np
import pytest
from scipy import stats

from kerasboost.optimizers.wrapper import all_finite
from kerasboost.utils import random


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


# ----------------------------------------------------------------------------- finiteness


@pytest.mark.parametrize("position", [0, 15, 16, 20, 64, 70])  # in the slices, and in the tail
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_one_bad_entry_anywhere(position, bad):
    g = np.ones(71, "float32")
    assert bool(all_finite([g, None, np.zeros((2, 3), "float32")]))
    g[position] = bad
    assert not bool(all_finite([np.zeros((2, 3), "float32"), None, g]))
    assert not bool(_compiled(lambda a, b: all_finite([a, b]))(np.zeros((2, 3), "float32"), g))
    assert bool(all_finite([None]))
