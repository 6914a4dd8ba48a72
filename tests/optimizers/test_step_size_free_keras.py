"""Prodigy, D-Adaptation and DoG in Keras: first steps by the papers' formulas, a compiled fit
with a schedule and the logged step size, composition with the wrappers, a zero learning rate.
(Their trajectories against the reference implementations: test_step_size_free.py.)"""

import keras
import numpy as np
import pytest
from keras import ops

from kerasboost import optimizers, schedules
from kerasboost.callbacks import LearningRateLogger

X0 = np.array([1.0, -2.0, 0.5], "float32")
G = np.array([0.3, -0.1, 0.2], "float32")


def _one_step(optimizer, x0=X0, g=G):
    variable = keras.Variable(x0)
    optimizer.apply([ops.convert_to_tensor(g)], [variable])
    return np.asarray(variable)


def test_dog_first_step_is_reps_rel_times_one_plus_norm_over_gradient_norm():
    reps_rel, eps = 1e-2, 1e-8
    eta = reps_rel * (1 + np.linalg.norm(X0)) / np.sqrt(np.sum(G**2) + eps)
    optimizer = optimizers.DoG(reps_rel=reps_rel, epsilon=eps)
    np.testing.assert_allclose(_one_step(optimizer), X0 - eta * G, rtol=1e-6)
    np.testing.assert_allclose(float(optimizer.step_size), eta, rtol=1e-6)


def test_dog_second_step_uses_the_distance_travelled_and_the_summed_squares():
    optimizer = optimizers.DoG(reps_rel=1e-2, epsilon=0.0)
    variable = keras.Variable(X0)
    optimizer.apply([ops.convert_to_tensor(G)], [variable])
    x1 = np.asarray(variable)
    g2 = np.array([-0.2, 0.4, 0.1], "float32")
    optimizer.apply([ops.convert_to_tensor(g2)], [variable])
    rbar = max(1e-2 * (1 + np.linalg.norm(X0)), np.linalg.norm(x1 - X0))
    eta = rbar / np.sqrt(np.sum(G**2) + np.sum(g2**2))
    np.testing.assert_allclose(np.asarray(variable), x1 - eta * g2, rtol=1e-6)


def test_ldog_takes_one_step_size_per_variable():
    optimizer = optimizers.LDoG(reps_rel=1e-2, epsilon=0.0)
    a, b = keras.Variable(X0), keras.Variable(np.array([3.0, 4.0], "float32"))
    gb = np.array([1.0, 0.0], "float32")
    optimizer.apply([ops.convert_to_tensor(G), ops.convert_to_tensor(gb)], [a, b])
    eta_a = 1e-2 * (1 + np.linalg.norm(X0)) / np.linalg.norm(G)
    eta_b = 1e-2 * (1 + 5.0) / 1.0
    np.testing.assert_allclose(np.asarray(optimizer.eta), [eta_a, eta_b], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(b), [3.0 - eta_b, 4.0], rtol=1e-6)
    assert float(optimizer.step_size) == pytest.approx(max(eta_a, eta_b), rel=1e-6)


def test_prodigy_first_step_is_adam_with_the_initial_estimate():
    # step 1: the numerator is 0, so d stays d0; m = d0 (1 - b1) g, v = d0^2 (1 - b2) g^2, and
    # x1 = x0 - d0 m / (sqrt(v) + d0 eps) = x0 - d0 (1 - b1) g / (sqrt(1 - b2) |g| + eps)
    d0, eps = 1e-3, 1e-8
    optimizer = optimizers.Prodigy(d0=d0, epsilon=eps)
    expected = X0 - d0 * 0.1 * G / (np.sqrt(0.001) * np.abs(G) + eps)
    np.testing.assert_allclose(_one_step(optimizer), expected, rtol=1e-5)
    assert float(optimizer.d) == pytest.approx(d0)


def test_dadapt_adam_first_step_is_adam_with_the_initial_estimate():
    # the first update: m = d0 lr (1 - b1) g, v = (1 - b2) g^2, x1 = x0 - m / (sqrt(v) + eps)
    d0 = 1e-3
    optimizer = optimizers.DAdaptAdam(d0=d0, epsilon=1e-8)
    expected = X0 - d0 * 0.1 * G / (np.sqrt(0.001) * np.abs(G) + 1e-8)
    np.testing.assert_allclose(_one_step(optimizer), expected, rtol=1e-5)


def test_dadapt_sgd_first_step_moves_d0_along_the_normalized_gradient():
    d0 = 1e-2
    expected = X0 - d0 * G / np.linalg.norm(G)
    np.testing.assert_allclose(_one_step(optimizers.DAdaptSGD(d0=d0)), expected, rtol=1e-6)


def _problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(512, 1))).astype("float32")
    return x, y


def _fit(optimizer, epochs=6):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", jit_compile=True)
    x, y = _problem()
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[LearningRateLogger()])
    return model, history.history


@pytest.mark.parametrize("make", [optimizers.Prodigy, optimizers.DAdaptAdam], ids=["Prodigy", "DAdaptAdam"])
def test_compiled_fit_with_warmup_and_cosine_estimates_a_step_size_and_learns(make):
    schedule = schedules.Warmup(keras.optimizers.schedules.CosineDecay(1.0, 384), warmup_steps=32)
    model, history = _fit(make(schedule))
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    # the estimate grew from d0 = 1e-6 to an Adam rate of the usual size
    assert 1e-4 < float(model.optimizer.d) < 1.0
    expected = float(model.optimizer.d) * history["learning_rate"][-1]
    assert history["step_size"][-1] == pytest.approx(expected, rel=1e-5)


def test_a_zero_learning_rate_step_changes_nothing():
    # Warmup from 0: the references skip a step whose rate is 0, moments and estimate included
    optimizer = optimizers.Prodigy(schedules.Warmup(1.0, warmup_steps=4))
    variable = keras.Variable(X0)
    optimizer.apply([ops.convert_to_tensor(G)], [variable])
    np.testing.assert_array_equal(np.asarray(variable), X0)
    assert float(optimizer.updates) == 0.0 and float(optimizer.d) == pytest.approx(1e-6)
    (velocity,) = [v for v in optimizer.variables if "velocity" in v.path]
    assert not np.any(np.asarray(velocity))
    optimizer.apply([ops.convert_to_tensor(G)], [variable])  # rate 0.25: a step
    assert not np.array_equal(np.asarray(variable), X0)


def test_skip_non_finite_leaves_the_estimate_untouched_on_a_bad_step():
    optimizer = optimizers.SkipNonFinite(optimizers.DAdaptAdam())
    variable = keras.Variable(X0)
    for _ in range(3):
        optimizer.apply([ops.convert_to_tensor(G)], [variable])
    before = [np.asarray(v).copy() for v in optimizer.variables]
    weights = np.asarray(variable).copy()
    optimizer.apply([ops.convert_to_tensor(np.array([np.nan, 0.0, 0.0], "float32"))], [variable])
    np.testing.assert_array_equal(np.asarray(variable), weights)
    for a, v in zip(before, optimizer.variables):
        if "iteration" not in v.path and "skipped" not in v.path:
            np.testing.assert_array_equal(np.asarray(v), a, err_msg=v.path)


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.Lookahead(optimizers.Prodigy(), sync_period=4),
        lambda: optimizers.AdaptiveGradientClipping(optimizers.DoG(reps_rel=1e-4)),
        lambda: optimizers.LDoG(global_clipnorm=1.0, use_ema=True),
    ],
    ids=["Lookahead(Prodigy)", "AdaptiveGradientClipping(DoG)", "LDoG+clipnorm+EMA"],
)
def test_composes_with_wrappers_clipping_and_ema(make):
    model, history = _fit(make(), epochs=4)
    assert np.isfinite(history["loss"]).all() and history["loss"][-1] < history["loss"][0]
    assert history["step_size"][-1] > 0


def test_growth_rate_bounds_the_growth_of_d_per_step():
    optimizer = optimizers.Prodigy(growth_rate=1.1)
    variable = keras.Variable(X0)
    ds = []
    rng = np.random.default_rng(1)
    for _ in range(30):
        optimizer.apply([ops.convert_to_tensor(G + 0.01 * rng.normal(size=3).astype("float32"))], [variable])
        ds.append(float(optimizer.d))
    ratios = np.array(ds[1:]) / np.array(ds[:-1])
    # the first rise from d0 jumps to the estimate (the reference's rule); later ones are bounded
    raised = int(np.argmax(ratios > 1.0))
    assert ratios[raised + 1 :].max() <= 1.1 * (1 + 1e-6) and ratios.min() >= 1.0
    assert ds[-1] > 2 * ds[0]  # it grew
