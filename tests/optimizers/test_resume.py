"""Saving and loading restores every slot: a resumed run equals an uninterrupted one."""

import keras
import numpy as np
import pytest

from kerasboost import optimizers

MAKERS = {
    "RectifiedAdam": lambda: optimizers.RectifiedAdam(0.01),
    "AdaBelief": lambda: optimizers.AdaBelief(0.01),
    "LARS": lambda: optimizers.LARS(1.0, trust_coefficient=0.01),
    "Prodigy": lambda: optimizers.Prodigy(use_bias_correction=True),
    "DAdaptSGD": lambda: optimizers.DAdaptSGD(momentum=0.9),
    "LDoG": lambda: optimizers.LDoG(reps_rel=1e-3),
    "Lookahead(Adam)": lambda: optimizers.Lookahead(keras.optimizers.Adam(0.01), sync_period=4),
    "Lookahead(GradientNoise(AGC(RAdam)))": lambda: optimizers.Lookahead(
        optimizers.GradientNoise(optimizers.AdaptiveGradientClipping(optimizers.RectifiedAdam(0.01)), seed=2),
        sync_period=4,
    ),
    "GradientCentralization(SGD)": lambda: optimizers.GradientCentralization(keras.optimizers.SGD(0.05, momentum=0.9)),
    "SkipNonFinite(Adam)": lambda: optimizers.SkipNonFinite(keras.optimizers.Adam(0.01)),
}


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(2)])
    model.compile(optimizer, "mse", jit_compile=True)
    return model


# the nested wrapper stack (~11 s) resumes in the slow tier; the single optimizers and Lookahead in both
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow if n.count("(") > 2 else ()) for n in MAKERS])
def test_resumed_run_equals_uninterrupted_run(name, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(48, 5)).astype("float32"), rng.normal(size=(48, 2)).astype("float32")
    fit = dict(batch_size=8, shuffle=False, verbose=0)  # 6 steps per epoch: crosses sync periods

    straight = _model(MAKERS[name]())
    straight.fit(x, y, epochs=2, **fit)

    first = _model(MAKERS[name]())
    first.fit(x, y, epochs=1, **fit)
    first.save(tmp_path / "m.keras")
    resumed = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(resumed.optimizer) is type(first.optimizer)
    resumed.fit(x, y, epochs=1, **fit)

    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6, err_msg=a.path)
