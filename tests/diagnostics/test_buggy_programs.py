"""The doctor's benchmark of buggy programs: the table itself, and the benchmark script on two programs."""

import importlib.util
import json
import pathlib

import pytest

from kerasboost.diagnostics.problems import PROBLEMS
from kerasboost.testing.buggy_programs import PROGRAMS, program

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_table_spans_the_fault_families_model_kinds_and_tasks_the_issue_asks_for():
    names = [p.name for p in PROGRAMS]
    assert len(names) == len(set(names))
    buggy = [p for p in PROGRAMS if p.family != "healthy"]
    healthy = [p for p in PROGRAMS if p.family == "healthy"]
    assert len(buggy) >= 30 and len(healthy) >= 10
    assert {p.family for p in buggy} == {"program", "data", "dynamics"}
    assert all(p.expected in PROBLEMS and p.expected != "healthy" for p in buggy)
    assert all(p.expected == "healthy" for p in healthy)
    for kinds in (buggy, healthy):
        assert {"dense", "conv", "recurrent", "functional"} <= {p.kind for p in kinds}
        assert {"multi-class", "binary", "regression"} <= {p.task for p in kinds}
    assert all(p.score in ("accuracy", "balanced_accuracy", "r2") for p in PROGRAMS)
    assert all(p.score == "r2" for p in PROGRAMS if p.task == "regression")
    with pytest.raises(ValueError, match="No program 'nope'"):
        program("nope")


def test_a_fault_and_its_correction_share_data_and_differ_in_the_model():
    pair = program("relu_output_sparse_ce")
    buggy, correct = pair.build(0, jit_compile=False), pair.build(0, jit_compile=False, buggy=False)
    assert (buggy.x == correct.x).all() and (buggy.y == correct.y).all()
    assert buggy.model.get_layer("output").activation.__name__ == "relu"
    assert correct.model.get_layer("output").activation.__name__ == "linear"


@pytest.mark.slow
def test_the_benchmark_names_a_fault_repairs_it_and_leaves_a_healthy_program_alone(tmp_path):
    spec = importlib.util.spec_from_file_location("doctor_programs", ROOT / "benchmarks" / "doctor_programs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "run"
    results = module.main(["--only", "relu_output_sparse_ce", "healthy_digits_mlp", "--epochs", "2", "--out", str(out)])
    buggy, healthy = results
    assert buggy["first_right"] and buggy["repair"] == "match_output_to_loss" and buggy["repaired_score"] > 0.5
    assert healthy["found"] == ["healthy"] and healthy["repair"] is None
    summary = json.loads((tmp_path / "run.json").read_text())["summary"]
    assert summary["first_right"] == 1 and summary["false_alarms"] == 0 and summary["as_good"] in (0, 1)
    assert "| relu_output_sparse_ce (seed 0) |" in (tmp_path / "run.md").read_text()


def test_normalize_inputs_standardizes_the_flagged_input_of_a_functional_model_only(tmp_path):
    import keras
    import numpy as np

    from kerasboost.doctor import fixes
    from kerasboost.doctor.probe import Data

    built = program("unscaled_second_input").build(0, jit_compile=False)
    x_val, y_val = built.validation
    data = Data(built.x, built.y, x_val, y_val, len(built.y), 0)
    names = fixes.input_layer_names(built.model)
    flagged = names.index("bottom")
    repaired, _, _ = fixes.normalize_inputs([flagged]).apply(built.model, data)
    layers = {layer.name: layer for layer in repaired.layers}
    assert "bottom_normalization" in layers and "top_normalization" not in layers
    assert built.model.get_layer("dense_00") is not repaired.get_layer("dense_00")  # a copy; yours untouched
    normalized = layers["bottom_normalization"](built.x["bottom"])
    np.testing.assert_allclose(np.mean(normalized, axis=0), 0.0, atol=1e-3)
    varying = np.std(built.x["bottom"], axis=0) > 0  # a constant pixel stays constant (at 0)
    np.testing.assert_allclose(np.std(normalized, axis=0)[varying], 1.0, atol=1e-2)
    path = tmp_path / "repaired.keras"
    repaired.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x_val, verbose=0), repaired.predict(x_val, verbose=0), atol=1e-5)


@pytest.mark.parametrize("name", ["categorical_accuracy_on_indices", "labels_shuffled_apart"])
def test_a_falling_loss_with_an_accuracy_at_chance_is_named_and_no_fix_is_offered(name):
    from kerasboost.doctor import diagnose

    built = program(name).build(0, jit_compile=False)
    diagnosis = diagnose(built.model, built.x, built.y, validation_data=built.validation, steps=160)
    first = diagnosis.findings[0]
    assert first.problem == "metric_at_chance" and first.fix is None, str(diagnosis)
    assert first.evidence["val_accuracy_late"] <= first.evidence["largest_class_share"] + 0.02
    assert first.evidence["progress"] >= 0.25


def test_a_softmax_scored_by_binary_cross_entropy_gets_categorical_cross_entropy_proven_by_the_classes():
    import keras

    from kerasboost.doctor import diagnose

    built = program("softmax_binary_ce_one_hot").build(0, jit_compile=False)
    diagnosis = diagnose(built.model, built.x, built.y, validation_data=built.validation, steps=160, try_fixes=True)
    first = diagnosis.findings[0]
    assert first.problem == "output_loss_mismatch" and first.statistic == "val_balanced_accuracy", str(diagnosis)
    balanced = first.trial["values"]["val_balanced_accuracy"]
    assert first.trial["improved"] and balanced[1] > balanced[0]
    repair = diagnosis.repair()
    assert isinstance(repair.model.loss, keras.losses.CategoricalCrossentropy)
    assert repair.model.get_layer("output").activation is keras.activations.softmax


def test_a_two_unit_softmax_under_binary_cross_entropy_on_class_indices_is_the_cause_keras_cannot_train_through():
    import keras

    from kerasboost.doctor import diagnose

    built = program("two_unit_softmax_binary_ce").build(0, jit_compile=False)
    diagnosis = diagnose(built.model, built.x, built.y, validation_data=built.validation, steps=160, try_fixes=True)
    assert diagnosis.probe is None and diagnosis.problems == ["output_loss_mismatch"], str(diagnosis)
    first = diagnosis.findings[0]
    assert first.blocking and first.trial["improved"]
    assert isinstance(diagnosis.repair().model.loss, keras.losses.SparseCategoricalCrossentropy)


@pytest.mark.slow
def test_a_diverging_sgd_rate_gets_the_better_of_the_valley_and_the_rate_halfway_to_it():
    from kerasboost.doctor import diagnose

    built = program("sgd_rate_too_high_regression").build(0, jit_compile=False)
    diagnosis = diagnose(built.model, built.x, built.y, validation_data=built.validation, try_fixes=True)
    first = diagnosis.findings[0]
    assert first.problem == "learning_rate_too_high" and first.trial["settings_tried"] == 2, str(diagnosis)
    valley = first.evidence["range_test_valley"]
    kept = diagnosis.repair().model.optimizer.learning_rate
    assert float(kept) == pytest.approx((valley * 0.5) ** 0.5, rel=1e-3)  # halfway (log) from the valley to 0.5
    assert first.trial["improved"]
