"""kerasboost.doctor.diagnose: the planted sick models, the fixes, what is never proposed, the command."""

import json
import math

import keras
import matplotlib
import numpy as np
import pytest

from kerasboost.diagnostics.problems import PROBLEMS, THRESHOLDS
from kerasboost.doctor import diagnose
from kerasboost.doctor import fixes as _fixes
from kerasboost.doctor import probe as _probe
from kerasboost.doctor import rules as _findings
from kerasboost.testing.sick_models import CASES, digits

matplotlib.use("Agg")


# One planted model per fix kind is also re-probed with its fix here; the benchmark
# (benchmarks/doctor.py) tries every fix on every case over several seeds.
TRIED = (
    "relu_output_probability_loss",
    "unscaled_inputs_sgd",
    "tanh_large_gain",
    "learning_rate_10x_too_high",
    "nan_in_inputs",
)


# The inner tier diagnoses two planted models (one sick, one healthy control) and the label faults
# Keras cannot train through (found before any probe: a second each); the slow tier all.
INNER = ("cnn_dead_relu_block", "healthy_mlp", "integer_labels_categorical_loss", "labels_beyond_the_output")


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.name, marks=() if c.name in INNER else pytest.mark.slow) for c in CASES]
)
def test_planted_case_is_named_and_given_the_fix_for_its_cause(case, tmp_path):
    # without XLA: this checks the diagnosis; the doctor under XLA is test_demo.py's (the demo's network)
    model, x, y, validation = case.build(0, jit_compile=False)
    weights = [np.array(w) for w in model.get_weights()]
    tried = case.name in TRIED
    diagnosis = diagnose(model, x, y, validation_data=validation, steps=160, try_fixes=tried)
    assert diagnosis.problems[0] == case.expected[0], str(diagnosis)
    assert set(case.expected) <= set(diagnosis.problems), str(diagnosis)
    assert set(diagnosis.problems) <= set(PROBLEMS)
    first = diagnosis.findings[0]
    assert (first.fix.name if first.fix else None) == case.fix, str(diagnosis)
    if case.expected == ("healthy",):
        assert diagnosis.problems == ["healthy"] and not diagnosis.trials
    else:
        assert "healthy" not in diagnosis.problems
        global_problems = ("nonfinite", "overfitting", "unscaled_inputs", "invalid_targets")  # the data, the model
        assert first.layers or first.problem in global_problems or "learning_rate" in first.problem
        assert first.evidence and first.remedy
    if case.name == "residual_without_normalization":
        # the report that motivated the doctor: warmup on, gradients exploding - the cause is forward
        assert first.evidence["max_grad_norm"] > THRESHOLDS["exploding_norm"]  # the symptom, explained
        assert diagnosis.range_test is None  # the learning rate was never put on trial
    if tried:  # the fix, re-probed on a fresh copy, lowers the validation loss, and the report says by how much
        before, after = first.trial["values"]["val_loss"]
        assert math.isfinite(after) and after < before and first.trial["improved"], (before, after)
        paths = diagnosis.plot(str(tmp_path))
        assert (tmp_path / "fixes.png").exists() and (tmp_path / "gradient_flow.png").exists(), paths
        text = str(diagnosis)
        said = "% validation loss" if math.isfinite(before) else "validation loss finite again"
        assert f"1. {case.expected[0]}" in text and "tried on a copy: val_loss" in text and said in text
    # the user's model is untouched: weights, and an optimizer that never stepped
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0
    json.dumps(diagnosis.to_dict(), default=str)


# ------------------------------------------------------------------ the rules on constructed probes


def _mlp(optimizer):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu", name="hidden"), keras.layers.Dense(2, name="out")],
        name="small",
    )
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _probe_with(model, grad_norm, nonfinite=0.0, loss=(2.3, 2.0, 1.5, 1.2), val=(2.3, 2.1, 1.7, 1.4)):
    layers = ["small/hidden", "small/out"]
    records = [
        {"grad_norm": grad_norm, "grad_nonfinite": nonfinite, **{f"grad_norm/{n}": grad_norm / 2 for n in layers}}
        for _ in range(6)
    ]
    return _probe.Probe(
        history={"loss": list(loss[1:]), "val_loss": list(val[1:])},
        initial={"loss": loss[0], "val_loss": val[0]},
        final={"loss": val[-1]},
        records=records,
        layers=layers,
        before=None,
        after=None,
        steps=6,
        seconds=0.0,
        learning_rate=1e-3,
        model=model,
    )


def _data():
    x = np.zeros((16, 4), "float32")
    return _probe.Data(x, np.zeros(16, "int32"), x, np.zeros(16, "int32"), train_rows=16, nonfinite_rows=0)


def test_exploding_gradients_get_clipping_unless_the_optimizer_clips_already():
    no_range_test = lambda: None  # noqa: E731
    plain = _mlp(keras.optimizers.Adam())
    found, measures, _ = _findings.find(plain, _data(), _probe_with(plain, 5e3), no_range_test, 0)
    assert [f.problem for f in found] == ["exploding_gradients"]
    assert found[0].fix.name == "clip_gradients" and found[0].evidence["max_grad_norm"] == 5e3
    clipping = _mlp(keras.optimizers.Adam(global_clipnorm=1.0))
    found, _, _ = _findings.find(clipping, _data(), _probe_with(clipping, 5e3), no_range_test, 0)
    assert [f.problem for f in found] == ["exploding_gradients"] and found[0].fix is None


def test_nonfinite_training_gets_skip_nonfinite_unless_the_optimizer_has_it():
    from kerasboost.optimizers import SkipNonFinite

    nan = (2.3, 2.0, math.nan, math.nan)
    for optimizer, fix in ((keras.optimizers.Adam(), "skip_nonfinite"), (SkipNonFinite(keras.optimizers.Adam()), None)):
        model = _mlp(optimizer)
        found, _, _ = _findings.find(model, _data(), _probe_with(model, 1.0, 3.0, nan, nan), lambda: None, 0)
        assert [f.problem for f in found] == ["nonfinite"]
        assert (found[0].fix.name if found[0].fix else None) == fix


def test_the_learning_rate_is_judged_against_the_range_test():
    model = _mlp(keras.optimizers.Adam())
    flat = (2.3, 2.3, 2.29, 2.29)  # no progress: the rate goes on trial
    rates = _probe.RangeTest([1e-4, 1e-3, 1e-2, 1e-1], [2.3, 2.0, 1.0, 3.0], {"valley": 1e-2})
    probe = _probe_with(model, 1.0, loss=flat, val=flat)
    probe.learning_rate = 1e-6
    found, _, _ = _findings.find(model, _data(), probe, lambda: rates, 0)
    assert [f.problem for f in found] == ["learning_rate_too_low"]
    assert found[0].evidence["range_test_valley"] == 1e-2 and found[0].fix.name == "learning_rate"
    probe.learning_rate = 1.0  # above the rate of the lowest loss (1e-2)
    found, _, _ = _findings.find(model, _data(), probe, lambda: rates, 0)
    assert [f.problem for f in found] == ["learning_rate_too_high"]
    # the valley (1e-2) and, tried beside it, the rate halfway to yours on a log scale (0.1)
    assert "to 0.01 (the range test's valley)" in found[0].fix.description
    (between,) = found[0].fix.alternatives
    assert between.name == "learning_rate" and "to 0.1 (halfway between" in between.description
    probe.learning_rate = 3e-3  # neither: nothing learned at a sensible rate
    found, _, _ = _findings.find(model, _data(), probe, lambda: rates, 0)
    assert [f.problem for f in found] == ["not_learning"] and found[0].fix is None


def test_overfitting_needs_a_rising_validation_loss_a_falling_training_loss_and_a_gap():
    model = _mlp(keras.optimizers.Adam())
    loss = (2.3, 1.0, 0.3, 0.1, 0.05, 0.01)
    rising = (2.3, 1.1, 0.8, 0.85, 0.9, 1.0)  # minimum 0.8 at epoch 2, +25% by the end
    found, _, _ = _findings.find(model, _data(), _probe_with(model, 1.0, loss=loss, val=rising), lambda: None, 0)
    assert [f.problem for f in found] == ["overfitting"]
    assert found[0].evidence["best_epoch"] == 2 and found[0].evidence["val_loss_rise"] == pytest.approx(0.25)
    assert found[0].fix.name == "early_stopping"
    falling = (2.3, 1.1, 0.8, 0.7, 0.65, 0.6)
    found, _, _ = _findings.find(model, _data(), _probe_with(model, 1.0, loss=loss, val=falling), lambda: None, 0)
    assert [f.problem for f in found] == ["healthy"]
    subset = _data()
    subset.train_rows = 1000  # the probe saw a subset: overfitting that subset says nothing of the whole set
    found, _, _ = _findings.find(model, subset, _probe_with(model, 1.0, loss=loss, val=rising), lambda: None, 0)
    assert [f.problem for f in found] == ["healthy"]


def test_an_oscillating_loss_that_does_not_trend_down_gets_a_tenth_of_the_rate_on_trial():
    model = _mlp(keras.optimizers.Adam())
    flat = (2.3, 2.2, 2.25, 2.2)  # slow progress: the rate goes on trial, but the range test is off
    probe = _probe_with(model, 1.0, loss=flat, val=flat)
    probe.step_losses = np.array([1.0, 3.0] * 50)  # median swing 2 over a median level of 2: 1.0
    found, measures, _ = _findings.find(model, _data(), probe, lambda: None, 0)
    assert measures["oscillation"] == pytest.approx(1.0)
    assert measures["step_fall"] == pytest.approx(1 - 51 / 49)  # quarters of 25 steps: means 49/25 and 51/25
    assert [f.problem for f in found] == ["oscillating_loss"]
    assert found[0].fix.name == "learning_rate" and "a tenth of the probe's peak rate" in found[0].fix.description
    assert found[0].evidence["learning_rate"] == pytest.approx(1e-3)
    # the same swings on a loss that falls (noisy minibatches on the way down) are not oscillation
    steps = np.arange(100)
    probe.step_losses = 2.3 * np.exp(-steps / 30) * (1 + 0.8 * (-1.0) ** steps)
    found, measures, _ = _findings.find(model, _data(), probe, lambda: None, 0)
    assert measures["oscillation"] > THRESHOLDS["oscillation_swing"] and measures["step_fall"] > 0.9
    assert "oscillating_loss" not in [f.problem for f in found]
    # small swings around a flat loss are not oscillation either (that is not learning)
    probe.step_losses = 2.3 + 0.01 * (-1.0) ** steps
    found, measures, _ = _findings.find(model, _data(), probe, lambda: None, 0)
    assert measures["oscillation"] == pytest.approx(0.02 / 2.3, rel=1e-3)
    assert [f.problem for f in found] == ["healthy"]  # progress 4%: above no_progress, below slow_progress


def test_too_few_or_nonfinite_step_losses_are_not_read_as_oscillation():
    assert _findings.oscillation(np.array([1.0, 3.0] * 9)) == {}  # 18 steps
    assert _findings.oscillation(np.array([1.0, 3.0] * 20 + [math.nan])) == {}
    assert set(_findings.oscillation(np.array([1.0, 3.0] * 10))) == {"oscillation", "step_fall"}


def test_a_falling_loss_with_the_validation_accuracy_at_the_largest_class_share_is_metric_at_chance():
    model = _mlp(keras.optimizers.Adam())
    true = np.array([0, 1] * 50)
    probe = _probe_with(model, 1.0)  # training loss 2.3 -> 1.2: 48% progress
    probe.classes = {"true": true, "predicted": np.zeros(100, "int64"), "train_counts": {0: 60, 1: 40}}
    probe.initial["val_accuracy"] = 0.5
    # the second half's median (0.61) within 2 points of the largest class's 60%; one lucky epoch (0.66) is not learning
    probe.history["val_accuracy"] = [0.55, 0.66, 0.58, 0.61, 0.6, 0.62]
    found, _, _ = _findings.find(model, _data(), probe, lambda: None, 0)
    assert [f.problem for f in found] == ["metric_at_chance"] and found[0].fix is None
    evidence = found[0].evidence
    assert evidence["val_accuracy_late"] == 0.61 and evidence["best_val_accuracy"] == 0.66
    assert evidence["largest_class_share"] == 0.6
    probe.history["val_accuracy"] = [0.55, 0.6, 0.62, 0.63, 0.66, 0.7]  # above chance: the metric moved with the loss
    found, _, _ = _findings.find(model, _data(), probe, lambda: None, 0)
    assert [f.problem for f in found] == ["healthy"]


def test_step_losses_undo_keras_running_mean_with_a_short_last_batch():
    # a model that predicts 0 and never moves (learning rate 0): each step's loss is the mean of y^2 over its batch
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.0), "mse", jit_compile=True)
    y = np.arange(1.0, 11.0, dtype="float32")  # 10 rows in batches of 4, 4, 2
    recorder = _probe.StepLosses(rows=10, batch_size=4)
    model.fit(np.zeros((10, 3), "float32"), y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    batches = [y[:4], y[4:8], y[8:]]
    expected = [float(np.mean(b**2)) for b in batches] * 2
    np.testing.assert_allclose(recorder.losses, expected, rtol=1e-5)


# ------------------------------------------------------------------ the pieces


def test_residual_branch_ends_follow_each_branch_back_to_its_last_kernel():
    from kerasboost.layers import DropPath

    inputs = keras.Input((6,))
    h = keras.layers.Dense(6, name="stem")(inputs)
    for i in range(3):
        b = keras.layers.Dense(6, activation="relu", name=f"branch_{i}")(h)
        b = DropPath(0.1, name=f"drop_{i}")(keras.layers.Activation("relu", name=f"act_{i}")(b))
        h = keras.layers.Add(name=f"add_{i}")([h, b])
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(h))
    assert _fixes.residual_branch_ends(model) == ["branch_0", "branch_1", "branch_2"]
    assert _fixes.residual_branch_ends(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])) == []


def test_copy_optimizer_changes_the_innermost_config_and_keeps_the_original():
    from kerasboost.optimizers import Lookahead
    from kerasboost.schedules import Warmup

    original = Lookahead(keras.optimizers.AdamW(Warmup(0.01, warmup_steps=5), weight_decay=0.1), sync_period=3)
    copy = _probe.copy_optimizer(original, learning_rate=0.5, global_clipnorm=2.0)
    assert isinstance(copy, Lookahead) and copy.sync_period == 3 and copy is not original
    assert float(keras.ops.convert_to_numpy(copy.optimizer.learning_rate)) == 0.5
    assert copy.optimizer.global_clipnorm == 2.0 and copy.optimizer.weight_decay == pytest.approx(0.1)
    assert isinstance(_probe.learning_rate_of(original), Warmup) and original.optimizer.global_clipnorm is None
    assert _probe.peak_learning_rate(original, 10) == pytest.approx(0.01)


def test_nonfinite_rows_are_found_in_inputs_and_targets():
    x = np.ones((6, 2, 2), "float32")
    x[1, 0, 1] = np.nan
    y = np.ones(6, "float32")
    y[4] = np.inf
    assert _probe.nonfinite_rows(x, y).tolist() == [False, True, False, False, True, False]
    assert _probe.nonfinite_rows({"a": x}, np.arange(6)).sum() == 1  # integer targets cannot hold NaN


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"steps": 2}, "steps"),
        ({"epochs": 2}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_split": 1.0}, "validation_split"),
        ({"lr_range_test": "sometimes"}, "lr_range_test"),
        ({"try_fixes": "yes"}, "try_fixes"),
        ({"seed": -1}, "seed"),
        ({"validation_data": np.zeros(3)}, "validation_data"),
        ({"y": np.zeros(3)}, "y"),
    ],
)
def test_bad_arguments(kwargs, name):
    model = _mlp(keras.optimizers.Adam())
    arguments = {"y": np.zeros(16, "int32"), **kwargs}
    with pytest.raises(ValueError, match=name):
        diagnose(model, np.zeros((16, 4), "float32"), **arguments)


def test_an_uncompiled_model_is_refused_by_name():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="raw")
    with pytest.raises(ValueError, match="compiled model.*raw"):
        diagnose(model, np.zeros((16, 4), "float32"), np.zeros(16))


def test_doctor_command_prints_the_report_and_writes_figures_and_json(tmp_path, capsys):
    from kerasboost.cli import main

    x, y, x_val, y_val = digits(0, rows=256)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)], name="user_model"
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x=x, labels=y, x_val=x_val, y_val=y_val)
    out = tmp_path / "report"
    args = ["doctor", str(tmp_path / "model.keras"), str(tmp_path / "data.npz"), "--target", "labels"]
    assert main([*args, "--steps", "64", "--epochs", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "kerasboost doctor: user_model" in printed and "1. healthy" in printed
    report = json.loads((out / "diagnosis.json").read_text())
    assert report["problems"] == ["healthy"] and report["model"] == "user_model"
    assert (out / "gradient_flow.png").exists() and (out / "activations.png").exists()
    with pytest.raises(SystemExit, match="no array 'target'"):
        main([*args[:3], "--target", "target"])
