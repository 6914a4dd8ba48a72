"""ActivationStatistics: the numbers of activation_report in logs; dead and saturated alerts."""

import keras
import numpy as np
import pytest

from kerasboost.callbacks import ActivationStatistics
from kerasboost.diagnostics import activation_report


def test_logs_match_the_report_and_dead_relus_are_named():
    x = np.abs(np.random.default_rng(0).normal(size=(64, 4))).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                6, activation="relu", name="dead_layer", kernel_initializer=keras.initializers.Constant(-1.0)
            ),
            keras.layers.Dense(6, activation="tanh", name="tanh_layer"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", jit_compile=True)
    stats = ActivationStatistics(x[:32], every_n_epochs=2)
    with pytest.warns(RuntimeWarning, match="dead_units .* dead_layer"):
        history = model.fit(x, np.zeros((64, 1)), epochs=4, callbacks=[stats], verbose=0)
    assert sorted(stats.reports) == [1, 3]  # every 2nd epoch
    report = activation_report(model, x[:32])
    assert history.history["dead_fraction/dead_layer"] == [1.0, 1.0]  # negative weights, positive inputs
    np.testing.assert_allclose(history.history["activation_std/tanh_layer"][-1], report[1].std, rtol=1e-6)
    assert [a["layers"] for a in stats.alerts if a["kind"] == "dead_units"] == [["dead_layer"], ["dead_layer"]]


def test_bad_arguments():
    with pytest.raises(ValueError, match="every_n_epochs=0"):
        ActivationStatistics(np.ones((2, 2)), every_n_epochs=0)
    with pytest.raises(ValueError, match="x_probe"):
        ActivationStatistics([])
