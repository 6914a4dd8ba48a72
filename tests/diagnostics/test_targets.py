"""The targets against the program: labels the loss reads another way or cannot read, regression
targets out of the output's reach; the doctor's findings on them, `repair()` and `--repair`."""

import keras
import numpy as np
import pytest

from kerasboost.diagnostics.program import OutputSetup, output_setup
from kerasboost.diagnostics.targets import ACTIVATION_RANGES, target_fault
from kerasboost.doctor import diagnose
from kerasboost.testing.sick_models import digits


def _setup(loss, targets, units, activation="linear", from_logits=True):
    return OutputSetup("out", activation, units, loss, targets, from_logits)


SPARSE = _setup("sparse_categorical_crossentropy", "sparse", 3)
CATEGORICAL = _setup("categorical_crossentropy", "categorical", 3)
BINARY = _setup("binary_crossentropy", "binary", 1, "sigmoid", False)


def test_targets_the_loss_reads_another_way_are_a_program_fault_with_the_other_loss():
    one_hot = np.eye(3, dtype="float32")[[0, 1, 2, 1]]
    fault = target_fault(SPARSE, one_hot)
    assert fault.problem == "target_loss_mismatch" and fault.blocking  # Keras rejects the shape
    assert isinstance(fault.loss, keras.losses.CategoricalCrossentropy) and fault.loss.get_config()["from_logits"]
    fault = target_fault(CATEGORICAL, np.array([0, 2, 1, 1]))
    assert fault.problem == "target_loss_mismatch" and fault.blocking
    assert isinstance(fault.loss, keras.losses.SparseCategoricalCrossentropy)
    assert "0..2" in fault.reason and "one-hot rows of 3" in fault.reason


@pytest.mark.parametrize(
    "setup, y, blocking, said",
    [
        (SPARSE, np.array([5, 6, 7, 5]), True, "class indices 5..7 for an output of 3 unit(s)"),
        (SPARSE, np.array([-1, 0, 1, 2]), True, "class indices -1..2"),
        (SPARSE, np.array([0, 1, 2, 1]) / 255.0, False, "whole numbers"),  # labels scaled like pixels
        (SPARSE, np.ones((4, 2)), True, "2 target columns"),
        (CATEGORICAL, np.array([[0.5, 0.5, 0.5]] * 4), False, "row sums 1.5..1.5"),
        (CATEGORICAL, np.eye(4)[[0, 1, 2, 3]], True, "4 target columns for an output of 3 units"),
        (CATEGORICAL, np.array([0, 1, 3, 7]), True, "one target per sample (0..7)"),
        (BINARY, np.array([1.0, 2.0, 1.0, 2.0]), False, "[0, 1]; these span 1..2"),
        (BINARY, np.ones((4, 3)), True, "3 target columns"),
    ],
)
def test_targets_the_loss_cannot_read_are_invalid_with_the_numbers(setup, y, blocking, said):
    fault = target_fault(setup, y)
    assert fault.problem == "invalid_targets" and fault.loss is None and fault.activation is None
    assert fault.blocking is blocking and said in fault.reason, fault.reason
    assert fault.evidence["loss"] == setup.loss and fault.evidence["output_units"] == setup.units


def test_regression_targets_beyond_the_outputs_reach_ask_for_a_linear_output():
    y = np.linspace(3.0, 103.0, 200)
    fault = target_fault(_setup("mean_squared_error", None, 1, "sigmoid"), y)
    assert fault.problem == "output_range_mismatch" and fault.activation == "linear" and not fault.blocking
    assert fault.evidence["share_outside"] == 1.0 and "[0, 1]" in fault.reason and "3..103" in fault.reason
    # a relu output with 1 target in 200 below zero: within the 1% allowed
    assert target_fault(_setup("mean_squared_error", None, 1, "relu"), np.r_[-1.0, np.ones(199)]) is None
    assert target_fault(_setup("mean_squared_error", None, 1, "relu"), np.r_[-np.ones(3), np.ones(197)]) is not None
    assert ACTIVATION_RANGES["tanh"] == (-1.0, 1.0)


@pytest.mark.parametrize(
    "setup, y",
    [
        (SPARSE, np.array([0, 2, 1, 1])),
        (SPARSE, np.array([[0], [2], [1], [1]])),
        (CATEGORICAL, np.eye(3)[[0, 2, 1, 1]] * 0.9 + 0.1 / 3),  # label smoothing: still distributions
        (BINARY, np.array([0.0, 1.0, 1.0, 0.0])),
        (BINARY, np.array([True, False, True, True])),
        (_setup("mean_squared_error", None, 1, "linear"), np.array([1e6, -1e6, 3.0, 0.0])),
        (_setup("mean_squared_error", None, 1, "sigmoid"), np.array([0.0, 0.2, 1.0, 0.5])),
        (SPARSE, np.array([0.0, np.nan, 1.0, 2.0])),  # NaN: the nonfinite check's to report
        (SPARSE, np.array(["a", "b", "c", "a"])),  # not numeric: diagnose refuses it by name
    ],
)
def test_targets_that_fit_the_program_are_left_alone(setup, y):
    assert target_fault(setup, y) is None


def _mlp(loss, activation=None, units=10, metrics=("accuracy",), name="user_mlp"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(units, activation)],
        name=name,
    )
    model.compile(keras.optimizers.Adam(1e-2), loss, metrics=list(metrics), jit_compile=False)
    return model


def test_labels_beyond_the_output_are_found_without_training_and_the_output_is_resized(tmp_path):
    x, y, x_val, y_val = digits(0, rows=256)
    model = _mlp(keras.losses.SparseCategoricalCrossentropy(from_logits=True), units=3)
    diagnosis = diagnose(model, x, y, validation_data=(x_val, y_val), steps=48, epochs=4, try_fixes=True)
    assert diagnosis.problems == ["invalid_targets"] and diagnosis.probe is None
    first = diagnosis.findings[0]
    assert first.blocking and first.evidence["target_range"] == "0..9"
    assert first.fix.name == "resize_output" and "units=10" in first.fix.description
    text = str(diagnosis)
    assert "not probed: Keras cannot train it as it is" in text and "class indices 0..9 for an output of 3" in text
    assert first.trial["improved"] and first.trial["values"]["val_accuracy"][1] > 0.5, first.trial
    assert diagnosis.plot("unused") == []
    repair = diagnosis.repair()
    assert repair.fix == "resize_output" and repair.model.layers[-1].units == 10
    assert model.layers[-1].units == 3  # yours, untouched
    hidden = model.layers[0].get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(hidden, repair.model.layers[0].get_weights()))
    assert repair.prepare(x, y) == (x, y)  # a fix of the model alone leaves the data as it is
    path = tmp_path / "resized.keras"
    repair.model.save(path)
    assert keras.saving.load_model(path, safe_mode=True).layers[-1].units == 10


@pytest.mark.parametrize(
    "y, relabelled",
    [
        (np.array([1, 2, 3, 2]), np.array([0, 1, 2, 1])),  # class indices from 1 for 3 units
        (np.array([-1.0, 1.0, 1.0, -1.0]), np.array([0.0, 1.0, 1.0, 0.0])),  # an SVM's binary labels
    ],
)
def test_labels_that_fit_once_relabelled_carry_the_mapping(y, relabelled):
    setup = SPARSE if y.dtype.kind == "i" else BINARY
    fault = target_fault(setup, y)
    assert fault.problem == "invalid_targets" and fault.units_needed is None
    new = np.array([fault.relabel[float(v)] for v in y])
    np.testing.assert_array_equal(new, relabelled)


def test_labels_from_one_are_relabelled_and_the_repair_prepares_the_arrays():
    x, y, x_val, y_val = digits(0, rows=256)
    model = _mlp(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    y1, y_val1 = y + 1, y_val + 1  # 1..10 for 10 units
    diagnosis = diagnose(model, x, y1, validation_data=(x_val, y_val1), steps=48, epochs=4, try_fixes=True)
    first = diagnosis.findings[0]
    assert diagnosis.problems == ["invalid_targets"] and first.blocking
    assert first.fix.name == "relabel_targets" and "y = y - 1" in first.fix.description
    assert first.trial["improved"], first.trial
    repair = diagnosis.repair()
    x2, y2 = repair.prepare(x_val, y_val1)
    assert x2 is x_val and np.array_equal(y2, y_val) and y2.dtype == y_val1.dtype
    assert repair.notes and "y = y - 1" in repair.notes[0]
    assert repair.model.layers[-1].units == 10


def test_integer_labels_under_a_categorical_loss_are_repaired_with_the_sparse_loss(tmp_path):
    x, y, x_val, y_val = digits(0, rows=256)
    model = _mlp(keras.losses.CategoricalCrossentropy(from_logits=True))
    weights = model.get_weights()
    diagnosis = diagnose(model, x, y, validation_data=(x_val, y_val), steps=48, epochs=4)
    first = diagnosis.findings[0]
    assert diagnosis.problems == ["target_loss_mismatch"] and first.blocking and first.layers == ["dense_1"]
    assert first.fix.name == "match_loss_to_targets" and "SparseCategoricalCrossentropy(from_logits=True)" in (
        first.fix.description
    )
    with pytest.raises(ValueError, match="were not tried: call diagnose"):
        diagnosis.repair()
    diagnosis = diagnose(model, x, y, validation_data=(x_val, y_val), steps=48, epochs=4, try_fixes=True)
    first = diagnosis.findings[0]
    assert first.trial["improved"] and first.trial["values"]["val_accuracy"][1] > 0.5, first.trial
    assert "as it was, the model could not train" in str(diagnosis)
    repair = diagnosis.repair()
    assert repair.fix == "match_loss_to_targets" and repair.fit_kwargs() == {} and repair.notes == []
    assert isinstance(repair.model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert repair.model is not model and isinstance(model.loss, keras.losses.CategoricalCrossentropy)
    assert all(np.array_equal(a, b) for a, b in zip(weights, repair.model.get_weights()))  # not yet trained
    path = tmp_path / "repaired.keras"
    repair.model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.loss, keras.losses.SparseCategoricalCrossentropy)
    history = loaded.fit(x, y, validation_data=(x_val, y_val), epochs=2, batch_size=32, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.5


def test_a_sigmoid_output_for_unbounded_targets_is_given_a_linear_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(320, 8)).astype("float32")
    y = (3.0 + x[:, :1] + 0.5 * x[:, 1:2]).astype("float32")  # about 0..6: mostly beyond a sigmoid's reach
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, "sigmoid", name="out")]
    )
    model.compile(keras.optimizers.Adam(1e-2), "mse", jit_compile=False)
    assert output_setup(model).targets is None  # a regression loss
    diagnosis = diagnose(model, x, y, steps=48, epochs=4, try_fixes=True)
    first = diagnosis.findings[0]
    assert first.problem == "output_range_mismatch" and first.layers == ["out"] and not first.blocking
    assert first.fix.name == "match_output_to_loss" and "activation='linear'" in first.fix.description
    before, after = first.trial["values"]["val_loss"]
    assert first.trial["improved"] and after < 0.5 * before, first.trial
    repaired = diagnosis.repair().model
    assert repaired.get_layer("out").activation is keras.activations.linear
    assert model.get_layer("out").activation is keras.activations.sigmoid  # yours, untouched


def test_missing_or_non_numeric_targets_are_refused_by_name():
    model = _mlp(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.zeros((16, 64), "float32")
    with pytest.raises(ValueError, match="y.*the targets"):
        diagnose(model, x)
    with pytest.raises(ValueError, match="y.*numeric targets.*StringLookup.*<U"):
        diagnose(model, x, np.array(["cat", "dog"] * 8))
    with pytest.raises(ValueError, match="validation_data.*numeric targets"):
        diagnose(model, x, np.zeros(16), validation_data=(x, np.array(["a"] * 16, dtype=object)))


class _Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data is TensorFlow's")
def test_datasets_of_batches_are_sampled_and_their_label_faults_found():
    import tensorflow as tf

    x, y, x_val, y_val = digits(0, rows=512)
    model = _mlp(keras.losses.SparseCategoricalCrossentropy(from_logits=True), units=3)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    diagnosis = diagnose(model, batches, steps=48, epochs=4)
    assert diagnosis.problems == ["invalid_targets"]  # labels 0..9 for 3 units, read from the batches
    samples = tf.data.Dataset.from_tensor_slices((x, y))  # unbatched: one sample per element
    assert diagnose(model, samples, validation_data=_Batches(x_val, y_val, 16), steps=48, epochs=4).problems == [
        "invalid_targets"
    ]
    with pytest.raises(ValueError, match="y.*None when x is a dataset"):
        diagnose(model, batches, y)
    with pytest.raises(ValueError, match="inputs, targets"):
        diagnose(model, tf.data.Dataset.from_tensor_slices(x).batch(32))


def test_a_healthy_model_fed_a_py_dataset_is_probed_on_its_sample():
    x, y, x_val, y_val = digits(0, rows=512)
    model = _mlp(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    diagnosis = diagnose(model, _Batches(x, y, 64), validation_data=(x_val, y_val), steps=48, epochs=4)
    assert diagnosis.probe is not None and diagnosis.problems == ["healthy"], str(diagnosis)


def test_doctor_command_writes_the_repaired_model(tmp_path, capsys):
    from kerasboost.cli import main

    x, y, x_val, y_val = digits(0, rows=256)
    model = _mlp(keras.losses.CategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y, x_val=x_val, y_val=y_val)
    out = tmp_path / "repaired.keras"
    args = ["doctor", str(tmp_path / "model.keras"), str(tmp_path / "data.npz"), "--steps", "48", "--epochs", "4"]
    assert main([*args, "--out", str(tmp_path / "report"), "--repair", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "repaired (match_loss_to_targets)" in printed and str(out) in printed
    loaded = keras.saving.load_model(out, safe_mode=True)
    assert isinstance(loaded.loss, keras.losses.SparseCategoricalCrossentropy)
    # a healthy model: nothing to repair, nothing written, a non-zero status
    healthy = _mlp(keras.losses.SparseCategoricalCrossentropy(from_logits=True), name="healthy")
    healthy.save(tmp_path / "healthy.keras")
    args[1] = str(tmp_path / "healthy.keras")
    assert main([*args, "--out", str(tmp_path / "r2"), "--repair", str(tmp_path / "none.keras")]) == 1
    assert "no repaired model written: Nothing to repair" in capsys.readouterr().out
    assert not (tmp_path / "none.keras").exists()


def _imbalanced(seed=0, rows=1600, share=0.05):
    """Binary targets with 5% positives and a weak signal (their first feature shifted by 1): the
    most accurate answer is "negative" for every row."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < share).astype("float32")
    x = rng.normal(size=(rows, 8)).astype("float32")
    x[:, 0] += 1.0 * y
    return x, y


def test_classes_so_unequal_that_the_model_answers_the_largest_are_weighted():
    x, y = _imbalanced()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, "sigmoid")],
        name="imbalanced",
    )
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"], jit_compile=False)
    diagnosis = diagnose(model, x, y, steps=96, epochs=4, try_fixes=True)
    first = diagnosis.findings[0]
    assert first.problem == "imbalanced_classes", str(diagnosis)
    counts = first.evidence["class_counts"]
    assert set(counts) == {0, 1} and first.evidence["imbalance_ratio"] == counts[0] / counts[1] > 4
    assert first.evidence["predicted_majority"] >= 0.95 and diagnosis.measures["val_accuracy"] > 0.9
    balanced = first.evidence["val_balanced_accuracy"]
    assert balanced < 0.55  # a constant answer: 0.5
    n = sum(counts.values())
    weights = {0: n / (2 * counts[0]), 1: n / (2 * counts[1])}
    assert first.fix.name == "class_weight" and f"1: {weights[1]:.3g}" in first.fix.description
    before, after = first.trial["values"]["val_balanced_accuracy"]
    assert first.trial["improved"] and after > before + 0.05, first.trial
    repair = diagnosis.repair()
    assert repair.fit_kwargs() == {"class_weight": pytest.approx(weights)} and repair.callbacks == []


def test_models_of_other_kinds_are_probed_as_compiled():
    """A functional model with two outputs (dict losses, loss weights and per-output metrics) and a
    recurrent one: the probe's copies are compiled as the originals, and the findings are words of
    the vocabulary (the target checks read single-output models only)."""
    from kerasboost.diagnostics.problems import PROBLEMS
    from kerasboost.doctor.probe import copy_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = {"cls": keras.layers.Dense(3, name="cls")(hidden), "reg": keras.layers.Dense(1, name="reg")(hidden)}
    model = keras.Model(inputs, outputs)
    model.compile(
        "adam",
        loss={"cls": keras.losses.SparseCategoricalCrossentropy(from_logits=True), "reg": "mse"},
        loss_weights={"cls": 1.0, "reg": 0.25},
        metrics={"cls": ["accuracy"]},
        jit_compile=False,
    )
    copy = copy_model(model)
    assert copy.get_compile_config()["loss_weights"] == {"cls": 1.0, "reg": 0.25}
    assert copy.get_compile_config()["metrics"] == {"cls": ["accuracy"]}
    y = {"cls": (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0), "reg": x[:, :1]}
    assert set(diagnose(model, x, y, steps=32, epochs=4).problems) <= set(PROBLEMS)

    sequences = rng.normal(size=(256, 12, 3)).astype("float32")
    recurrent = keras.Sequential([keras.Input((12, 3)), keras.layers.GRU(8), keras.layers.Dense(2)])
    recurrent.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
    found = diagnose(recurrent, sequences, np.array([5, 6] * 128), steps=32, epochs=4)
    assert found.problems == ["invalid_targets"]  # labels 5, 6 for 2 units: read before the probe


def test_a_subclassed_model_keras_cannot_clone_is_refused_by_name():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model(np.zeros((2, 8), "float32"))
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="model.*clone_model can copy.*'net'"):
        diagnose(model, np.zeros((16, 8), "float32"), np.zeros((16, 3), "float32"))


def test_regression_targets_far_from_unit_scale_are_standardized_and_judged_by_r2(tmp_path):
    from kerasboost.diagnostics.targets import r_squared

    assert r_squared(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 1.0
    assert r_squared(np.array([1.0, 2.0, 3.0]), np.full(3, 2.0)) == 0.0  # the mean's
    assert r_squared(np.array([1.0, 2.0, 3.0]) * 7 + 5, np.array([1.0, 2.5, 3.0]) * 7 + 5) == pytest.approx(0.875)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(640, 8)).astype("float32")
    y = (1e3 * (x[:, :1] + 0.5 * x[:, 1:2]) + 5e3).astype("float32")  # about 5000 +- 1100
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, name="out")]
    )
    model.compile(keras.optimizers.Adam(1e-2), "mse", jit_compile=False)
    diagnosis = diagnose(model, x, y, steps=96, epochs=4, try_fixes=True)
    first = diagnosis.findings[0]
    assert first.problem == "unscaled_targets" and first.layers == ["out"], str(diagnosis)
    assert first.evidence["largest_target_scale"] > 4e3 and first.evidence["scale_threshold"] == 10.0
    assert first.fix.name == "standardize_targets" and "* " in first.fix.description
    r2_before, r2_after = first.trial["values"]["val_r2"]
    assert r2_before < 0.0 and r2_after > 0.8, first.trial  # the bias never reached 5000; standardized it fits
    assert "val_loss" not in first.trial["values"] and first.trial["improved"]
    repair = diagnosis.repair()
    mean, std = first.evidence["target_mean"][0], first.evidence["target_std"][0]
    assert repair.notes and f"{mean:.6g}" in repair.notes[0] and f"{std:.6g}" in repair.notes[0]
    # the repaired model trains on standardized targets; its predictor answers in the original units
    x_train, y_train = repair.prepare(x, y)
    np.testing.assert_allclose(y_train, (y - mean) / std, rtol=1e-5, atol=1e-5)
    repair.model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
    predictor = repair.predictor()
    standardized = repair.model.predict(x[:32], verbose=0)
    np.testing.assert_allclose(predictor.predict(x[:32], verbose=0), standardized * std + mean, rtol=1e-5)
    assert predictor.get_layer("out") is repair.model.get_layer("out")  # the same layers: trained once
    assert r_squared(y[:, 0], predictor.predict(x, verbose=0)[:, 0]) > 0.8
    path = tmp_path / "predictor.keras"
    predictor.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x[:32], verbose=0), predictor.predict(x[:32], verbose=0), rtol=1e-5)
