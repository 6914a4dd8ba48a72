import math

import keras
import matplotlib
import numpy as np
import pytest

from kerasboost.diagnostics import activation_report, plot_activations

matplotlib.use("Agg")


def _dense(units, activation, kernel=None, bias=None):
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.Constant(kernel) if kernel is not None else "glorot_uniform",
        bias_initializer=keras.initializers.Constant(bias) if bias is not None else "zeros",
    )


def test_constructed_dead_and_saturated_layers():
    x = np.abs(np.random.default_rng(0).normal(size=(64, 4))).astype("float32") + 0.1  # positive inputs
    model = keras.Sequential(
        [
            keras.Input((4,)),
            _dense(4, "relu", kernel=np.diag([1.0, -1.0, 1.0, -1.0])),  # units 2 and 4 always negative: dead
            _dense(5, "tanh", kernel=100.0),  # huge weights: saturated wherever the input is non-zero
            _dense(2, "sigmoid", kernel=0.0, bias=0.0),  # exactly 0.5: not saturated
            _dense(3, None),
        ]
    )
    report = activation_report(model, x)
    assert [r.activation for r in report] == ["relu", "tanh", "sigmoid", "linear"]
    relu, tanh, sigmoid, linear = report
    assert relu.dead == 0.5 and math.isnan(relu.saturated)
    assert tanh.saturated == 1.0 and math.isnan(tanh.dead)
    assert sigmoid.saturated == 0.0 and sigmoid.mean == pytest.approx(0.5) and sigmoid.std == pytest.approx(0.0)
    assert math.isnan(linear.saturated) and math.isnan(linear.dead)
    outputs = keras.Model(model.inputs[0], model.layers[0].output)(x)
    assert relu.mean == pytest.approx(float(np.mean(outputs)), rel=1e-6)


def test_sigmoid_saturation_on_both_sides_and_conv_units():
    rng = np.random.default_rng(1)
    x = (rng.choice([-1.0, 1.0], size=(10, 4)) * rng.uniform(0.5, 1.0, size=(10, 4))).astype("float32")
    model = keras.Sequential([keras.Input((4,)), _dense(4, "sigmoid", kernel=np.diag([100.0, 100.0, 0.0, 0.0]))])
    (row,) = activation_report(model, x)
    assert row.saturated == pytest.approx(0.5)  # units 1-2 at 0 or 1, units 3-4 at 0.5

    images = np.ones((3, 6, 6, 2), "float32")
    conv = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(
                4,
                3,
                activation="relu",
                kernel_initializer=keras.initializers.Constant(np.array([1.0, -1.0, 1.0, -1.0])),
            ),
        ]
    )
    (row,) = activation_report(conv, images)
    assert row.units == 4 and row.dead == 0.5


def test_dataframe_plot_and_text():
    pytest.importorskip("pandas")
    model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(8, activation="tanh") for _ in range(12)])
    report = activation_report(model, np.ones((16, 4), "float32"))
    frame = report.to_dataframe()
    assert list(frame.columns) == ["layer", "activation", "mean", "std", "saturated", "dead", "units"]
    assert len(frame) == 12
    fig = plot_activations(report, percentiles=(10, 50, 90))
    top, bottom = fig.axes
    median = top.lines[0].get_ydata()
    np.testing.assert_allclose(median, [np.percentile(row.values, 50) for row in report], rtol=1e-6)
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["10-90th percentile", "median"]
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), [row.saturated for row in report])  # tanh: no dead units
    with pytest.raises(ValueError, match="percentiles"):
        plot_activations(report, percentiles=(50, 10, 90))
    assert "saturated" in str(report).splitlines()[0]


def test_bad_arguments():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")])
    with pytest.raises(ValueError, match="x"):
        activation_report(model, np.ones((2, 7), "float32"))
    with pytest.raises(ValueError, match="batch_size"):
        activation_report(model, np.ones((2, 4), "float32"), batch_size=0)
    with pytest.raises(ValueError, match="model"):
        activation_report("model", np.ones((2, 4)))
