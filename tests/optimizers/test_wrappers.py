import keras
import numpy as np
import pytest

from kerasboost.optimizers import (
    AdaptiveGradientClipping,
    GradientCentralization,
    GradientNoise,
    Lookahead,
    SkipNonFinite,
)
from kerasboost.schedules import OneCycle


@pytest.fixture(params=["cond", "where"])
def update_path(request, monkeypatch):
    """Run a test through both of `run_if`'s paths: the cond (TensorFlow) and the `where`
    restore (JAX, tf.distribute replicas), whatever the backend."""
    import kerasboost.optimizers.skip_non_finite as skip_module
    import kerasboost.optimizers.wrapper as wrapper_module

    if request.param == "where":
        monkeypatch.setattr(wrapper_module, "cond_skips_work", lambda: False)
        monkeypatch.setattr(skip_module, "cond_skips_work", lambda: False)
    return request.param


def sgd(lr=1.0):
    return keras.optimizers.SGD(learning_rate=lr)


# ----------------------------------------------------------------------------- Lookahead


def test_lookahead_sync_rule_step_by_step(update_path):
    a = np.array([1.0, 3.0])
    w0 = np.array([2.0, -1.0])
    optimizer = Lookahead(sgd(0.1), sync_period=3, slow_step_size=0.5)
    w = keras.Variable(w0.astype("float32"))
    fast, slow = w0.copy(), w0.copy()
    for step in range(1, 11):
        optimizer.apply([w * a.astype("float32")], [w])
        fast = fast - 0.1 * a * fast
        if step % 3 == 0:
            slow = slow + 0.5 * (fast - slow)
            fast = slow.copy()
        np.testing.assert_allclose(np.asarray(w), fast, rtol=1e-6, err_msg=f"step {step}")
    np.testing.assert_allclose(np.asarray(optimizer._slow_weights[0]), slow, rtol=1e-6)
    assert int(optimizer.iterations) == 10


def test_wrappers_report_the_inner_learning_rate_and_iterations():
    schedule = OneCycle(0.1, total_steps=20)
    optimizer = Lookahead(GradientNoise(keras.optimizers.Adam(schedule), seed=0))
    w = keras.Variable(np.ones(3, "float32"))
    for _ in range(4):
        optimizer.apply([keras.ops.ones(3)], [w])
    assert int(optimizer.iterations) == 4
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(4)), rel=1e-6)
    plain = Lookahead(keras.optimizers.SGD(0.5))
    plain.learning_rate = 0.25
    assert float(plain.optimizer.learning_rate) == pytest.approx(0.25)


# ----------------------------------------------------------------------------- GradientNoise


@pytest.mark.parametrize("eta,gamma", [(0.3, 0.55), (1.0, 1.0)])
def test_gradient_noise_variance_schedule(eta, gamma):
    n = 200_000
    optimizer = GradientNoise(sgd(1.0), eta=eta, gamma=gamma, seed=1)
    w = keras.Variable(np.zeros(n, "float32"))
    previous = np.zeros(n)
    for t in range(6):
        optimizer.apply([keras.ops.zeros(n)], [w])  # zero gradient: the update is minus the noise
        current = np.asarray(w, "float64")
        noise = previous - current
        assert np.mean(noise) == pytest.approx(0.0, abs=5 * np.sqrt(eta / n))
        assert np.var(noise) == pytest.approx(eta / (1 + t) ** gamma, rel=0.02), f"step {t}"
        previous = current


def test_gradient_noise_is_seeded_and_independent_across_steps():
    def draws(seed):
        optimizer = GradientNoise(sgd(1.0), eta=1.0, seed=seed)
        w = keras.Variable(np.zeros(1000, "float32"))
        out = []
        for _ in range(2):
            optimizer.apply([keras.ops.zeros(1000)], [w])
            out.append(np.asarray(w).copy())
        return out

    a, b = draws(3), draws(3)
    np.testing.assert_array_equal(a[1], b[1])
    assert abs(np.corrcoef(a[0], a[1] - a[0])[0, 1]) < 0.1


# ----------------------------------------------------------------------------- AGC


def test_adaptive_gradient_clipping_by_hand():
    kernel = keras.Variable(np.array([[3.0, 0.0], [4.0, 0.0]], "float32"), name="kernel")  # column norms 5, 0
    bias = keras.Variable(np.array([2.0, -1.0], "float32"), name="bias")
    g_kernel = np.array([[0.6, 0.003], [0.8, 0.004]], "float32")  # column norms 1.0, 0.005
    g_bias = np.array([0.01, -0.5], "float32")
    agc = AdaptiveGradientClipping(sgd(1.0), clip_factor=0.1, eps=1e-3)
    agc.build([kernel, bias])
    gk, gb = (np.asarray(g) for g in agc.transform_gradients([g_kernel, g_bias], [kernel, bias]))
    # column 1: 1.0 > 0.1 * 5 -> scaled to norm 0.5; column 2: 0.005 > 0.1 * max(0, 1e-3) -> norm 1e-4
    np.testing.assert_allclose(gk[:, 0], [0.3, 0.4], rtol=1e-5)
    np.testing.assert_allclose(gk[:, 1], [0.6e-4, 0.8e-4], rtol=1e-4)
    # bias, one unit (Brock et al.'s reference code, optax, timm): ||g|| = sqrt(0.2501) >
    # 0.1 * ||w|| = 0.1 * sqrt(5): the whole vector rescaled to norm 0.1 * sqrt(5)
    np.testing.assert_allclose(gb, np.array([0.01, -0.5]) * 0.1 * np.sqrt(5.0) / np.sqrt(0.2501), rtol=1e-5)
    # a bias inside the bound is kept as it is
    _, kept = agc.transform_gradients([g_kernel, np.array([0.1, -0.1], "float32")], [kernel, bias])
    np.testing.assert_allclose(np.asarray(kept), [0.1, -0.1], rtol=1e-6)


def test_adaptive_gradient_clipping_of_same_shaped_variables_clips_each_on_its_own():
    # variables of one shape are clipped stacked: each must still follow the formula alone
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (3, 4), (4,), (3, 4), (4,), (2, 3, 4), (1, 4)]
    weights = [
        keras.Variable(rng.normal(size=s).astype("float32") * (i + 1), name=f"w{i}") for i, s in enumerate(shapes)
    ]
    grads = [
        (rng.normal(size=s) * np.geomspace(1e-3, 1.0, s[-1])).astype("float32") for s in shapes
    ]  # small to large units
    agc = AdaptiveGradientClipping(sgd(1.0), clip_factor=0.05, eps=1e-3)
    agc.build(weights)
    out = agc.transform_gradients(grads, weights)
    clipped, kept = 0, 0
    for w, g, o in zip(weights, grads, out):
        # a vector (one axis longer than 1) is one unit, otherwise a unit per last-axis index
        axes = tuple(range(g.ndim)) if np.squeeze(g).ndim <= 1 else tuple(range(g.ndim - 1))
        w_norm = np.sqrt((np.asarray(w) ** 2).sum(axis=axes, keepdims=True))
        g_norm = np.sqrt((g**2).sum(axis=axes, keepdims=True))
        max_norm = 0.05 * np.maximum(w_norm, 1e-3)
        expected = np.where(g_norm > max_norm, g * max_norm / g_norm, g)
        clipped, kept = clipped + int((g_norm > max_norm).sum()), kept + int((g_norm <= max_norm).sum())
        np.testing.assert_allclose(np.asarray(o), expected, rtol=1e-5, atol=1e-7)
    assert clipped and kept  # the case mixes clipped and kept units


def test_adaptive_gradient_clipping_applies_and_excludes():
    kernel = keras.Variable(np.eye(2, dtype="float32"), name="classifier_kernel")
    optimizer = AdaptiveGradientClipping(sgd(1.0), clip_factor=0.01, exclude=["classifier"])
    optimizer.apply([np.full((2, 2), 5.0, "float32")], [kernel])
    np.testing.assert_allclose(np.asarray(kernel), np.eye(2) - 5.0)


# ----------------------------------------------------------------------------- GC


def test_gradient_centralization_removes_the_per_unit_mean():
    kernel = keras.Variable(np.zeros((3, 3, 2, 4), "float32"))
    bias = keras.Variable(np.zeros(4, "float32"))
    g = np.random.default_rng(0).normal(size=(3, 3, 2, 4)).astype("float32")
    gb = np.arange(4, dtype="float32")
    GradientCentralization(sgd(1.0)).apply([g, gb], [kernel, bias])
    expected = -(g - g.mean(axis=(0, 1, 2), keepdims=True))
    np.testing.assert_allclose(np.asarray(kernel), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(kernel).mean(axis=(0, 1, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(bias), -gb)  # rank 1: untouched


# ----------------------------------------------------------------------------- SkipNonFinite


def test_skip_non_finite_changes_nothing_on_a_bad_step(update_path):
    def grads(step):
        g = np.array([0.5, -1.0, 2.0], "float32") * (step + 1)
        return g

    wrapped = SkipNonFinite(keras.optimizers.Adam(0.1))
    plain = keras.optimizers.Adam(0.1)
    w, v = keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones(3, "float32"))
    for step in range(5):
        wrapped.apply([grads(step)], [w])
        plain.apply([grads(step)], [v])
        if step == 2:
            before = [np.asarray(x).copy() for x in [w] + wrapped.optimizer.variables]
            for bad in (np.nan, np.inf):
                wrapped.apply([np.array([1.0, bad, 1.0], "float32")], [w])
            after = [np.asarray(x) for x in [w] + wrapped.optimizer.variables]
            for b, a in zip(before, after):
                np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.asarray(w), np.asarray(v), rtol=1e-6)
    assert int(wrapped.skipped_steps) == 2
    assert int(wrapped.iterations) == 5


def test_skip_non_finite_in_fit_with_nan_inputs(update_path):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    x[8] = np.nan  # one NaN sample spoils the second batch of 8
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    optimizer = SkipNonFinite(keras.optimizers.SGD(0.1))
    model.compile(optimizer, "mse", jit_compile=True)
    model.fit(x, np.zeros((32, 2), "float32"), batch_size=8, shuffle=False, epochs=2, verbose=0)
    assert int(optimizer.skipped_steps) == 2
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert int(optimizer.iterations) == 6


# ----------------------------------------------------------------------------- all wrappers


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        ({"optimizer": "sgdx"}, "optimizer"),
        ({"optimizer": 1}, "optimizer"),
        ({"global_clipnorm": 1.0}, "global_clipnorm"),
    ],
)
def test_wrapper_arguments(kwargs, argument):
    arguments = {"optimizer": "sgd", **kwargs}
    with pytest.raises(ValueError, match=argument):
        Lookahead(**arguments)
