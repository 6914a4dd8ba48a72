"""Random draws for kerasboost's own ops, fast under XLA on every backend."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _tf_seed(seed):
    if isinstance(seed, keras.random.SeedGenerator):
        seed = seed.next()
    return ops.cast(ops.mod(seed, 2**31 - 1), "int32")


def draw(seed_generator: keras.random.SeedGenerator):
    """The next seed of `seed_generator`, for `normal` / `uniform` inside `ops.cond`.

    A branch of a compiled conditional must not assign the generator's state, so the seed is
    drawn before it (TensorFlow, JAX). On other backends (eager) the generator itself is
    returned, and the draw in the branch advances it.
    """
    if keras.backend.backend() in ("tensorflow", "jax"):
        return seed_generator.next()
    return seed_generator


def normal(shape, dtype, seed_generator):
    """Standard normal samples, advancing `seed_generator` (or from a seed taken with `draw`).

    On TensorFlow: `sqrt(2) * erfinv(u)` with `u` uniform on `(-1, 1)` from Philox, the
    inverse-CDF method that `jax.random.normal` uses. Under XLA on CPU it is several times
    faster than `tf.random.stateless_normal(alg="philox")` (Box-Muller: its sine and cosine are
    slow on XLA's CPU backend) and than `keras.random.normal` (`alg="auto_select"`); the
    measurements are in `benchmarks/results/kernels.md` (`python benchmarks/kernels.py --only
    normal`). Samples are computed in float32 and cast to `dtype`. Other backends use
    `keras.random.normal`.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        low = np.nextafter(np.float32(-1.0), np.float32(0.0))  # erfinv(-1) = -inf
        u = tf.random.stateless_uniform(
            shape, seed=_tf_seed(seed_generator), minval=low, maxval=np.float32(1.0), dtype="float32", alg="philox"
        )
        return ops.cast(np.float32(np.sqrt(2.0)) * tf.math.erfinv(u), dtype)
    return keras.random.normal(shape, dtype=dtype, seed=seed_generator)


def uniform(shape, dtype, seed_generator, minval=0.0, maxval=1.0):
    """Uniform samples in `[minval, maxval)`, advancing `seed_generator` (or from a seed taken with
    `draw`; Philox on TensorFlow, as `normal`)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.random.stateless_uniform(
            shape, seed=_tf_seed(seed_generator), minval=minval, maxval=maxval, dtype=dtype, alg="philox"
        )
    return keras.random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed_generator)
