"""Parity with optax's optimizers, step by step on the same gradients (skipped without optax).

Each optimizer runs 12 steps on three variables (a matrix, a vector, a convolution kernel) of a
separable quadratic `0.5 * a * w^2 - b * w`, whose gradient `a * w - b` is computed in NumPy from
the current weights on both sides, so both see the same gradients as long as they agree.
"""

import keras
import numpy as np
import pytest

from kerasboost.optimizers import LARS, AdaBelief, AdaptiveGradientClipping, Lookahead, RectifiedAdam

optax = pytest.importorskip("optax")
jnp = pytest.importorskip("jax.numpy")

SHAPES = [(3, 4), (4,), (2, 2, 3, 4)]
RNG = np.random.default_rng(0)
W0 = [RNG.normal(size=s).astype("float32") for s in SHAPES]
A = [RNG.uniform(0.5, 3.0, size=s).astype("float32") for s in SHAPES]
B = [RNG.normal(size=s).astype("float32") for s in SHAPES]
STEPS = 12


def gradients(weights):
    return [(a * np.asarray(w, "float32") - b).astype("float32") for a, b, w in zip(A, B, weights)]


def run_kerasboost(optimizer, steps=STEPS):
    variables = [keras.Variable(w, name=f"w{i}") for i, w in enumerate(W0)]
    optimizer.build(variables)
    for _ in range(steps):
        optimizer.apply(gradients([keras.ops.convert_to_numpy(v) for v in variables]), variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


def run_optax(transform, steps=STEPS):
    params = [jnp.asarray(w) for w in W0]
    state = transform.init(params)
    for _ in range(steps):
        updates, state = transform.update([jnp.asarray(g) for g in gradients(params)], state, params)
        params = optax.apply_updates(params, updates)
    return [np.asarray(p) for p in params]


def assert_same(ours, theirs, rtol=1e-5, atol=1e-6):
    moved = max(float(np.max(np.abs(t - w))) for t, w in zip(theirs, W0))
    assert moved > 1e-3  # the optimizer did move the weights
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=rtol, atol=atol)


def test_ada_belief_matches_optax():
    ours = run_kerasboost(AdaBelief(0.05, epsilon=1e-16))
    theirs = run_optax(optax.adabelief(0.05, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16))
    # the same formula; where a gradient sits on its running mean, s_t is near 0 and the step
    # divides by its root: the two float32 roundings of the moment updates show as 5e-6 there
    assert_same(ours, theirs, rtol=1e-4, atol=2e-5)


def test_rectified_adam_matches_optax_before_the_rectification():
    # Steps 1-5 (rho_t < 5: bias-corrected momentum) agree. From step 6 they part: optax
    # evaluates rho_t = 1999 - 2 t beta_2^t / (1 - beta_2^t) in float32, where the difference of
    # two numbers near 2000 keeps few digits (in NumPy float32: 5.975 at t = 6, float64 5.994,
    # the rectification factor 0.6% lower); its step 6 is 1.2% shorter, and after 20 steps the
    # weights differ by up to 0.8%. kerasboost evaluates rho_t as PyTorch's RAdam does (in
    # float64 there) and matches it exactly here (tests/optimizers/test_rectified_adam.py).
    ours = run_kerasboost(RectifiedAdam(0.05, epsilon=1e-8), steps=5)
    theirs = run_optax(optax.radam(0.05, b1=0.9, b2=0.999, eps=1e-8, threshold=5.0), steps=5)
    assert_same(ours, theirs)


def test_lars_matches_optax():
    # optax scales by the trust ratio of every parameter; kerasboost's default leaves vectors out
    ours = run_kerasboost(LARS(0.5, momentum=0.9, trust_coefficient=0.01, exclude_vectors=False))
    theirs = run_optax(optax.lars(0.5, trust_coefficient=0.01, momentum=0.9))
    assert_same(ours, theirs)


@pytest.mark.parametrize("steps", [8, 10])  # ending on a synchronization and between two
def test_lookahead_matches_optax(steps):
    ours = run_kerasboost(Lookahead(keras.optimizers.SGD(0.1), sync_period=4, slow_step_size=0.5), steps)
    params = optax.LookaheadParams.init_synced([jnp.asarray(w) for w in W0])
    transform = optax.lookahead(optax.sgd(0.1), sync_period=4, slow_step_size=0.5)
    state = transform.init(params)
    for _ in range(steps):
        updates, state = transform.update([jnp.asarray(g) for g in gradients(params.fast)], state, params)
        params = optax.apply_updates(params, updates)
    assert_same(ours, [np.asarray(p) for p in params.fast])


def test_adaptive_gradient_clipping_matches_optax():
    # a 2-D kernel (units = columns), a vector (one unit) and a 4-D convolution kernel (units =
    # output channels): the ranks on which optax's unit-wise norm and kerasboost's agree
    ours = run_kerasboost(AdaptiveGradientClipping(keras.optimizers.SGD(0.1), clip_factor=0.05, eps=1e-3))
    theirs = run_optax(optax.chain(optax.adaptive_grad_clip(0.05, eps=1e-3), optax.sgd(0.1)))
    assert_same(ours, theirs)
