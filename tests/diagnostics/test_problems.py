"""The vocabulary of problems: one definition of each name, threshold and remedy, spoken alike by
the callbacks' alerts and the doctor's findings."""

import inspect
import math
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasboost.callbacks import ActivationStatistics, GradientStatistics
from kerasboost.callbacks._gradients.records import find_alerts
from kerasboost.diagnostics import problems
from kerasboost.diagnostics.problems import PROBLEMS, THRESHOLD_NOTES, THRESHOLDS
from kerasboost.doctor import fixes, rules

PACKAGE = Path(problems.__file__).resolve().parents[1]


def test_every_problem_is_described_and_its_thresholds_and_fixes_exist():
    # the program first, then the data; healthy last
    program = ["output_loss_mismatch", "target_loss_mismatch", "output_range_mismatch", "linear_model"]
    assert list(PROBLEMS)[:5] == program + ["nonfinite"] and list(PROBLEMS)[-1] == "healthy"
    for name, problem in PROBLEMS.items():
        assert problem.name == name and problem.meaning and problem.remedy
        assert set(problem.thresholds) <= set(THRESHOLDS), name
        for fix in problem.fixes:  # each a factory of kerasboost.doctor.fixes making a Fix of that name
            assert inspect.isfunction(getattr(fixes, fix, None)), fix
    for name, note in THRESHOLD_NOTES.items():
        assert note.name == name and note.value == THRESHOLDS[name] and note.meaning and note.source
    assert {t for p in PROBLEMS.values() for t in p.thresholds} == set(THRESHOLDS)  # none unused


def test_each_remedy_text_is_written_once_in_the_package():
    sources = {p: p.read_text() for p in PACKAGE.rglob("*.py")}
    for name, problem in PROBLEMS.items():
        probe = problem.remedy[:60]
        holders = [p.relative_to(PACKAGE).as_posix() for p, text in sources.items() if probe in text]
        assert holders == ["diagnostics/problems.py"], (name, holders)


def test_vanishing_layers_by_ratio_and_by_floor_golden():
    # ratio 1e-3 of the last layer's norm (1.0): 1e-5 is below, 1e-2 is not
    assert problems.vanishing_layers({"a": 1e-5, "b": 1e-2, "c": 1.0}) == ["a"]
    # the floor: below 1e-8 whatever the last layer's norm (here 0: no ratio to compare with)
    assert problems.vanishing_layers({"a": 1e-9, "b": 0.0}) == ["a", "b"]
    assert problems.vanishing_layers({"only": 1e-9}) == ["only"] and problems.vanishing_layers({"only": 1.0}) == []
    assert problems.vanishing_layers({"a": math.nan, "b": 1.0}) == []  # non-finite steps only: never vanishing
    assert problems.vanishing_layers({"a": 0.05, "b": 1.0}, ratio=0.1) == ["a"]
    assert problems.exploding(1001.0) and not problems.exploding(1000.0)
    assert problems.layers_at_or_above([("x", 0.5), ("y", 0.49), ("z", math.nan)], 0.5) == ["x"]


def test_the_callbacks_default_to_the_vocabularys_thresholds():
    defaults = inspect.signature(GradientStatistics).parameters
    assert defaults["vanishing_ratio"].default == THRESHOLDS["vanishing_ratio"]
    assert defaults["vanishing_floor"].default == THRESHOLDS["vanishing_floor"]
    assert defaults["exploding_threshold"].default == THRESHOLDS["exploding_norm"]
    stats = ActivationStatistics(np.zeros((4, 2), "float32"))
    assert stats._thresholds == {
        "dead_units": THRESHOLDS["dead_fraction"],
        "saturated_units": THRESHOLDS["saturated_fraction"],
    }
    assert ActivationStatistics(np.zeros((4, 2), "float32"), alert_fraction=0.2)._thresholds["dead_units"] == 0.2
    with pytest.raises(ValueError, match="alert_fraction"):
        ActivationStatistics(np.zeros((4, 2), "float32"), alert_fraction=0.0)


def _records(norms, grad_norm, nonfinite=0.0):
    layers = list(norms)
    record = {"step": 1, "grad_norm": grad_norm, "grad_nonfinite": nonfinite}
    for name, value in norms.items():
        record[f"grad_norm/{name}"] = value
        record[f"nonfinite/{name}"] = nonfinite if name == layers[0] else 0.0
    return [record], layers


def test_an_alert_and_a_finding_of_one_condition_share_name_layers_and_remedy():
    from tests.diagnostics.test_doctor import _data, _mlp, _probe_with

    # exploding: the global norm 5e3 over the threshold, in both
    model = _mlp(keras.optimizers.Adam())
    found, _, _ = rules.find(model, _data(), _probe_with(model, 5e3), lambda: None, 0)
    records, layers = _records({"small/hidden": 2.5e3, "small/out": 2.5e3}, 5e3)
    (alert,) = find_alerts(records, layers, THRESHOLDS["vanishing_ratio"], THRESHOLDS["vanishing_floor"], 1e3)
    assert found[0].problem == alert["kind"] == "exploding_gradients"
    assert found[0].remedy == alert["remedy"] == problems.remedy("exploding_gradients")
    # vanishing: the same layers named by the callback's rule and the doctor's
    norms = {"small/hidden": 1e-6, "small/out": 1.0}
    records, layers = _records(norms, 1.0)
    (alert,) = find_alerts(records, layers, THRESHOLDS["vanishing_ratio"], THRESHOLDS["vanishing_floor"], 1e3)
    probe = _probe_with(model, 1.0)
    for record in probe.records:
        record.update({f"grad_norm/{n}": v for n, v in norms.items()})
    found, _, _ = rules.find(model, _data(), probe, lambda: None, 0)
    assert found[0].problem == alert["kind"] == "vanishing_gradients"
    assert found[0].layers == ["hidden"] and alert["layers"] == ["small/hidden"]  # the doctor drops the model name
    assert found[0].remedy == alert["remedy"]
    # every alert kind a callback can raise is a problem of the vocabulary
    records, layers = _records({"a": 1e-9, "b": 1.0}, 5e3, nonfinite=1.0)
    kinds = {a["kind"] for a in find_alerts(records, layers, 1e-3, 1e-8, 1e3)}
    assert kinds == {"nonfinite", "vanishing_gradients", "exploding_gradients"} and kinds <= set(PROBLEMS)


def test_the_rules_table_reads_causes_before_symptoms():
    names = [stage.name for stage in rules.STAGES]
    assert names[:2] == ["program", "data"]
    assert names.index("forward pass at initialization") < names.index("learning rate")
    assert names.index("learning rate") < names.index("symptoms") < names.index("generalization")
    assert [s.every for s in rules.STAGES] == [False, False, True, False, False, False]  # forward: every rule
    assert all(callable(rule) for stage in rules.STAGES for rule in stage.rules)


def test_the_guide_table_is_generated_from_the_vocabulary():
    table = problems.markdown_table()
    for name, problem in PROBLEMS.items():
        assert f"| `{name}` | {problem.meaning} |" in table
    guide = (PACKAGE.parent / "docs" / "guides" / "doctor.md").read_text()
    assert "<!-- problems table -->" in guide  # mkdocs_hooks.py puts the table there at build time
    import mkdocs_hooks

    page = mkdocs_hooks.on_page_markdown("before\n<!-- problems table -->\nafter", None, None, None)
    assert page == f"before\n{table}\nafter"


def test_a_new_problem_is_one_vocabulary_entry_and_one_rule(monkeypatch):
    """docs/architecture.md's worked example, done at run time: a Problem entry and one rule in
    STAGES are all the doctor needs to name it, with the vocabulary's remedy, and the guide's table."""
    from tests.diagnostics.test_doctor import _data, _mlp, _probe_with

    new = problems.Problem(
        "loss_plateau",
        "the training loss stops falling over the last probe epochs",
        "lower the learning rate when the loss stalls (kerasboost.callbacks.ReduceLROnPlateau)",
        (),
        ("learning_rate",),
    )
    assert new.name not in PROBLEMS
    entries = dict(PROBLEMS)
    healthy = entries.pop("healthy")
    monkeypatch.setattr(problems, "PROBLEMS", {**entries, new.name: new, "healthy": healthy})
    monkeypatch.setattr(problems, "_PROBLEMS", tuple(problems.PROBLEMS.values()))

    def loss_plateau(s):
        loss = s.probe.series("loss")[-3:]
        change = float(abs(loss[0] - loss[-1]) / loss[0])
        return rules.finding(new.name, [], {"change": change}) if change < 0.01 else None

    stages = list(rules.STAGES)
    stages.insert(len(stages) - 1, rules.Stage("plateau", (loss_plateau,)))
    monkeypatch.setattr(rules, "STAGES", tuple(stages))
    model = _mlp(keras.optimizers.Adam())
    probe = _probe_with(model, 1.0, loss=(2.3, 1.5, 1.2, 1.2, 1.2), val=(2.3, 1.6, 1.3, 1.3, 1.3))
    found, _, _ = rules.find(model, _data(), probe, lambda: None, 0)
    assert [f.problem for f in found] == ["loss_plateau"]
    assert found[0].remedy == new.remedy and found[0].evidence == {"change": 0.0}
    assert f"| `loss_plateau` | {new.meaning} |" in problems.markdown_table()


# ------------------------------------------------------------------ the program: output activation vs loss


def _classifier(activation, units=3, loss="categorical_crossentropy"):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(units, activation, name="out")]
    )
    model.compile(keras.optimizers.Adam(), loss, metrics=["accuracy"])
    return model


CE, SCE, BCE = (
    keras.losses.CategoricalCrossentropy,
    keras.losses.SparseCategoricalCrossentropy,
    keras.losses.BinaryCrossentropy,
)


@pytest.mark.parametrize(
    "activation,units,loss,fixed_activation,fixed_loss",
    [
        ("relu", 3, "categorical_crossentropy", "linear", (CE, True)),  # probabilities expected, relu given
        (None, 3, SCE(), "linear", (SCE, True)),  # a linear output, from_logits=False
        ("softmax", 3, CE(from_logits=True), "linear", None),  # squashed twice
        ("sigmoid", 1, BCE(from_logits=True), "linear", None),
        ("softmax", 1, "binary_crossentropy", "sigmoid", (BCE, False)),  # softmax over one unit: always 1
        ("sigmoid", 3, "sparse_categorical_crossentropy", "softmax", None),  # one class per sample
        ("softmax", 3, "binary_crossentropy", "softmax", (CE, False)),  # competing units scored one by one
        ("softmax", 3, BCE(from_logits=True), "linear", (CE, True)),  # ... and squashed twice
    ],
)
def test_an_output_that_disagrees_with_the_loss_is_named_with_the_change(
    activation, units, loss, fixed_activation, fixed_loss
):
    from kerasboost.diagnostics import program

    model = _classifier(activation, units, loss)
    setup = program.output_setup(model)
    assert setup.layer == "out" and setup.units == units and setup.activation == (activation or "linear")
    mismatch = program.output_mismatch(setup)
    assert mismatch is not None and mismatch.activation == fixed_activation, mismatch
    if fixed_loss is None:
        assert mismatch.loss is None
    else:
        assert type(mismatch.loss) is fixed_loss[0] and mismatch.loss.get_config()["from_logits"] is fixed_loss[1]


@pytest.mark.parametrize(
    "activation,units,loss",
    [
        ("softmax", 3, "categorical_crossentropy"),
        (None, 3, SCE(from_logits=True)),
        ("sigmoid", 1, "binary_crossentropy"),
        ("sigmoid", 3, "binary_crossentropy"),  # multi-label: independent sigmoids are right
        (None, 1, "mse"),  # not a probability loss: nothing to compare
        ("relu", 1, "mae"),
    ],
)
def test_an_output_that_agrees_with_the_loss_is_left_alone(activation, units, loss):
    from kerasboost.diagnostics import program

    assert program.output_mismatch(program.output_setup(_classifier(activation, units, loss))) is None


def test_a_softmax_under_a_binary_loss_is_read_by_the_targets_one_class_or_several_per_row():
    from kerasboost.diagnostics import program, targets

    setup = program.output_setup(_classifier("softmax", 3, "binary_crossentropy"))
    one_hot, multi_hot = np.eye(3)[[0, 2, 1, 0]], np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    assert targets.label_encoding(one_hot, 3) == "one_hot" and targets.label_encoding(multi_hot, 3) == "multi_hot"
    assert targets.label_encoding(np.array([0, 2, 1]), 3) == "indices"
    assert targets.label_encoding(np.array([0, 3, 1]), 3) is None and targets.label_encoding(np.array([0.5]), 3) is None
    several = program.output_mismatch(setup, "multi_hot")
    assert several.activation == "sigmoid" and several.loss is None and "several labels" in several.reason
    indices = program.output_mismatch(setup, "indices")
    assert type(indices.loss) is SCE and indices.activation == "softmax" and "class index" in indices.reason
    assert type(program.output_mismatch(setup, "one_hot").loss) is CE
    # one class per row: the classes can be read (the balanced accuracy judges the fix), multi-hot rows cannot
    np.testing.assert_array_equal(targets.class_indices(setup, one_hot), [0, 2, 1, 0])
    assert targets.class_indices(setup, multi_hot) is None
    np.testing.assert_array_equal(targets.predicted_classes(setup, np.array([[0.2, 0.7, 0.1]])), [1])


def test_the_mismatch_comes_first_and_its_fix_makes_a_copy_that_agrees():
    from tests.diagnostics.test_doctor import _data, _probe_with

    model = _classifier("relu", 2, "sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    found, _, _ = rules.find(model, _data(), _probe_with(model, 5e3), lambda: None, 0)  # exploding too
    assert [f.problem for f in found] == ["output_loss_mismatch"] and found[0].layers == ["out"]
    assert found[0].evidence["activation"] == "relu" and found[0].evidence["from_logits"] is False
    assert found[0].remedy == problems.remedy("output_loss_mismatch")
    fix = found[0].fix
    assert fix.name == "match_output_to_loss" and "activation='linear'" in fix.description
    assert "SparseCategoricalCrossentropy(from_logits=True)" in fix.description
    repaired, _, fit = fix.apply(model, _data())
    from kerasboost.diagnostics import program

    assert program.output_mismatch(program.output_setup(repaired)) is None and fit == {}
    assert repaired.get_layer("out").activation is keras.activations.linear
    assert model.get_layer("out").activation is keras.activations.relu  # the user's model untouched
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(before, repaired.get_weights()))


@pytest.mark.parametrize(
    "activation,units,loss,statistic",
    [
        ("relu", 3, "sparse_categorical_crossentropy", "val_accuracy"),  # the loss becomes from_logits=True
        ("softmax", 3, SCE(from_logits=True), "val_loss"),  # the output alone changes: the same loss judges
        ("sigmoid", 3, "sparse_categorical_crossentropy", "val_loss"),
    ],
)
def test_a_fix_that_keeps_the_loss_is_judged_by_it(activation, units, loss, statistic):
    from kerasboost.doctor.rules import Measurements, output_loss_mismatch

    model = _classifier(activation, units, loss)  # compiled with accuracy
    s = Measurements(model, None, None, {}, 0, lambda: None)
    assert output_loss_mismatch(s).statistic == statistic


# -------------------------------------------- honest advice: inconclusive range tests, rejected fixes


def test_a_range_test_pinned_at_an_end_of_its_sweep_is_inconclusive():
    from kerasboost.doctor.probe import RangeTest

    rates = list(np.geomspace(1e-6, 10.0, 100))
    still_falling = RangeTest(rates, list(np.linspace(3.0, 1.0, 100)), {"valley": 1e-3})
    assert "lowest loss (10) is at the top" in still_falling.inconclusive
    flat_then_up = [2.3] * 60 + list(np.linspace(2.4, 9.0, 40))  # no descent: the valley is the first rate
    never_falls = RangeTest(rates, flat_then_up, {"valley": 1e-6})
    assert never_falls.best == 1e-6 and "at the bottom" in never_falls.inconclusive
    u_shaped = RangeTest(rates, list((np.log10(rates) + 4.0) ** 2 + 1.0), {"valley": 1e-5})
    assert u_shaped.inconclusive is None  # lowest loss at 1e-4, valley 1e-5: both inside the sweep
    # the rules take no advice from it: the same symptoms, no learning-rate finding
    from tests.diagnostics.test_doctor import _data, _mlp, _probe_with

    model = _mlp(keras.optimizers.SGD(0.5))
    probe = _probe_with(model, 5e3)  # exploding: a symptom that puts the rate (the probe's: 1e-3) on trial
    found, _, ran = rules.find(model, _data(), probe, lambda: still_falling, 0)
    assert ran is still_falling and [f.problem for f in found] == ["exploding_gradients"]
    found, _, _ = rules.find(model, _data(), probe, lambda: u_shaped, 0)
    assert [f.problem for f in found] == ["learning_rate_too_high"]  # 1e-3 > the lowest loss's 1e-4


def test_a_fix_is_accepted_only_when_its_trial_improves_beyond_noise():
    from kerasboost.doctor.diagnose import MIN_GAIN, _trial

    assert MIN_GAIN == 0.01
    before = {"val_loss": 1.0, "val_accuracy": 0.80}
    assert _trial("val_loss", before, {"val_loss": 0.95, "val_accuracy": 0.81}, 0.01)["improved"]
    flat = _trial("val_loss", before, {"val_loss": 0.995, "val_accuracy": 0.85}, 0.01)  # -0.5%: noise
    assert not flat["improved"] and "did not fall by 1%" in flat["why"]
    worse = _trial("val_loss", before, {"val_loss": 0.9, "val_accuracy": 0.70}, 0.01)  # loss down, accuracy down
    assert not worse["improved"] and "accuracy fell" in worse["why"]
    assert _trial("val_loss", {"val_loss": math.inf}, {"val_loss": 2.0})["improved"]  # finite again
    # a fix that changes the loss is judged by the accuracy alone
    assert _trial("val_accuracy", before, {"val_loss": 5.0, "val_accuracy": 0.90}, 0.01)["improved"]
    assert not _trial("val_accuracy", before, {"val_loss": 0.1, "val_accuracy": 0.805}, 0.01)["improved"]


def test_a_rejected_fix_is_reported_as_tried_and_never_offered():
    from kerasboost.doctor.report import Diagnosis, Finding
    from tests.diagnostics.test_doctor import _mlp, _probe_with

    model = _mlp(keras.optimizers.Adam())
    fix = fixes.clip_gradients()
    trial = {"values": {"val_loss": (1.83, 128.0)}, "val_loss_change": 68.9, "improved": False, "why": "worse"}
    finding = Finding("exploding_gradients", ["hidden"], {"max_grad_norm": 5e3}, "remedy", None, trial=trial)
    finding.rejected = fix
    diagnosis = Diagnosis([finding], {"progress": 0.5, "val_loss": 1.83}, _probe_with(model, 5e3))
    text = str(diagnosis)
    assert "tried on a copy and rejected (clip_gradients" in text and "val_loss 1.83 -> 128" in text
    assert "   fix (" not in text  # nothing offered
    assert diagnosis.to_dict()["findings"][0]["fix"] is None
    assert diagnosis.to_dict()["findings"][0]["rejected"]["name"] == "clip_gradients"


# ------------------------------------------------------------------ the data: inputs far from unit scale


def test_feature_scales_golden():
    scales = problems.feature_scales(np.array([[0.0, 100.0], [2.0, 300.0]], "float32"))
    # means 1 and 200, stds 1 and 100: the largest max(|mean|, std) is feature 1's 200
    assert scales["scale"] == pytest.approx(200.0) and scales["feature"] == 1
    assert scales["spread"] == pytest.approx(100.0 / 50.5)  # the largest std over the median std
    rng = np.random.default_rng(0)
    mixed = np.concatenate([rng.normal(size=(500, 10)), 1000.0 * rng.normal(size=(500, 1))], axis=1)
    assert problems.feature_scales(mixed)["spread"] > 500  # one feature in thousands, ten in units
    images = rng.normal(size=(20, 4, 4, 3)) + np.array([0.0, 0.0, 50.0])  # per channel, pixels pooled
    assert problems.feature_scales(images)["feature"] == 2
    assert problems.feature_scales(np.arange(6).reshape(3, 2)) is None  # integers: not features to scale
    assert problems.feature_scales({"a": np.ones((3, 2))}) is None


def _raw_model(first=None):
    layers = [keras.Input((4,))] + ([first] if first is not None else [])
    layers += [keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, name="out")]
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.SGD(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_unscaled_inputs_are_named_before_the_dynamics_and_the_fix_standardizes_inside_the_model():
    from kerasboost.doctor.probe import Data
    from tests.diagnostics.test_doctor import _probe_with

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 4)) * np.array([1.0, 1.0, 1.0, 40.0]) + 100.0).astype("float32")
    y = rng.integers(0, 3, 64).astype("int32")
    data = Data(x, y, x[:16], y[:16], train_rows=64, nonfinite_rows=0)
    model = _raw_model()
    found, _, _ = rules.find(model, data, _probe_with(model, 5e3), lambda: None, 0)  # exploding too
    assert [f.problem for f in found] == ["unscaled_inputs"] and found[0].fix.name == "normalize_inputs"
    assert found[0].evidence["largest_feature_scale"] > 100 and found[0].evidence["feature"] == 3
    repaired, _, _ = found[0].fix.apply(model, data)
    mean, std = x.mean(axis=0), x.std(axis=0)
    expected = model.predict((x - mean) / std, verbose=0)  # the user's model on standardized inputs
    np.testing.assert_allclose(repaired.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    assert repaired.loss is model.loss and repaired.optimizer is not model.optimizer
    # a model that normalizes its own inputs, or standardized data: nothing to say
    scaled = _raw_model(keras.layers.Rescaling(0.01))
    assert rules.unscaled_inputs(rules.Measurements(scaled, data, None, {}, 0, lambda: None)) is None
    standard = Data((x - mean) / std, y, x[:16], y[:16], train_rows=64, nonfinite_rows=0)
    assert rules.unscaled_inputs(rules.Measurements(model, standard, None, {}, 0, lambda: None)) is None


@pytest.mark.parametrize("scale,flagged", [(1 / 255, False), (1 / 255**2, True), (1e-5, True), (0.0, False)])
def test_inputs_all_far_below_unit_scale_are_unscaled_too(scale, flagged):
    from kerasboost.doctor.probe import Data

    rng = np.random.default_rng(0)
    x = (rng.integers(0, 256, size=(64, 4)) * scale).astype("float32")  # pixels divided by 255 once, twice, ...
    y = rng.integers(0, 3, 64).astype("int32")
    found = rules.unscaled_inputs(rules.Measurements(_raw_model(), Data(x, y, x, y, 64, 0), None, {}, 0, lambda: None))
    assert (found is not None) == flagged  # all-zero inputs (scale 0) are not a scale fault
    if flagged:
        assert found.evidence["largest_feature_scale"] < THRESHOLDS["input_scale_low"]
        assert found.evidence["scale_threshold"] == THRESHOLDS["input_scale_low"]


# ------------------------------------------------------------------ the program: a linear model


def _stack(*hidden, output_activation=None):
    output = keras.layers.Dense(3, activation=output_activation, name="out")
    return keras.Sequential([keras.Input((8,)), *hidden, output])


@pytest.mark.parametrize(
    "hidden,expected",
    [
        ((keras.layers.Dense(16, name="a"), keras.layers.Dense(16, name="b")), ["a", "b"]),
        (
            (keras.layers.Dense(16, name="a"), keras.layers.Dropout(0.2), keras.layers.BatchNormalization()),
            ["a"],
        ),  # dropout and batch normalization keep it linear
        ((keras.layers.Dense(16, name="a", activation="linear"), keras.layers.Activation("linear")), ["a"]),
        ((keras.layers.Dense(16, name="a", activation="relu"),), None),
        ((keras.layers.Dense(16, name="a"), keras.layers.Activation("tanh")), None),
        ((keras.layers.Dense(16, name="a"), keras.layers.LeakyReLU()), None),
        ((keras.layers.Reshape((4, 2)), keras.layers.GRU(4), keras.layers.Dense(4)), None),  # recurrent: nonlinear
        ((keras.layers.Reshape((4, 2)), keras.layers.MaxPooling1D(2), keras.layers.Flatten()), None),
        ((), None),  # one layer: a linear model on purpose
    ],
)
def test_a_model_without_a_nonlinearity_before_its_output_is_linear(hidden, expected):
    from kerasboost.diagnostics import program

    assert program.linear_hidden_layers(_stack(*hidden, output_activation="softmax")) == expected


def test_a_functional_linear_model_is_found_through_sums_and_its_fix_saves(tmp_path):
    from kerasboost.diagnostics import program
    from tests.diagnostics.test_doctor import _data

    inputs = keras.Input((4,))
    a, b = keras.layers.Dense(8, name="a")(inputs), keras.layers.Dense(8, name="b")(inputs)
    outputs = keras.layers.Dense(3, name="out")(keras.layers.Add()([a, b]))
    model = keras.Model(inputs, outputs)
    model.compile("adam", SCE(from_logits=True))
    assert program.linear_hidden_layers(model) == ["a", "b"]
    s = rules.Measurements(model, _data(), None, {}, 0, lambda: None)
    found = rules.linear_model(s)
    assert found.problem == "linear_model" and found.layers == ["a", "b"] and found.fix.name == "add_activations"
    repaired, _, fit = found.fix.apply(model, _data())
    assert program.linear_hidden_layers(repaired) is None and fit == {}
    assert model.get_layer("a").activation is keras.activations.linear  # yours untouched
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    path = tmp_path / "repaired.keras"
    repaired.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.get_layer("a").activation is keras.activations.relu
    np.testing.assert_allclose(loaded.predict(x, verbose=0), repaired.predict(x, verbose=0), atol=1e-6)
