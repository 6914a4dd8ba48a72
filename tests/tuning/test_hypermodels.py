"""MLPHyperModel / ConvNetHyperModel with each keras-tuner tuner; results as a DataFrame and a plot."""

import warnings

import keras_tuner
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kerasboost.callbacks import EarlyStopping
from kerasboost.tuning import ConvNetHyperModel, MLPHyperModel, plot_trials, trial_seed, trials_dataframe


def _digits(n=320, image=False):
    x, y = load_digits(return_X_y=True)
    x = (x[:n] / 16.0).astype("float32")
    if image:
        x = x.reshape(-1, 8, 8, 1)
    return x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4 :], y[n * 3 // 4 : n]


def _small_mlp(**kwargs):
    """A small search space; `jit_compile=False` unless given: these tests check the searches'
    behaviour; a search under XLA (the default) is the README's (tests/test_docs.py) and the
    tuner_search example's (tests/test_examples.py)."""
    kwargs.setdefault("jit_compile", False)
    return MLPHyperModel(
        (64,),
        num_classes=10,
        max_layers=2,
        units=[16, 32],
        activations=["relu", "tanh"],
        optimizers=["adam", "sgd"],
        schedules=["constant", "one_cycle"],
        batch_sizes=[32, 64],
        epochs=1,
        num_samples=240,
        **kwargs,
    )


TUNERS = {
    "random": lambda hm, d: keras_tuner.RandomSearch(hm, objective="val_accuracy", max_trials=3, directory=d, seed=0),
    "grid": lambda hm, d: keras_tuner.GridSearch(hm, objective="val_accuracy", max_trials=3, directory=d),
    "bayesian": lambda hm, d: keras_tuner.BayesianOptimization(
        hm, objective="val_accuracy", max_trials=3, num_initial_points=2, directory=d, seed=0
    ),
    "hyperband": lambda hm, d: keras_tuner.Hyperband(
        hm, objective="val_accuracy", max_epochs=2, factor=2, hyperband_iterations=1, directory=d, seed=0
    ),
}


# the slow tier: a whole search per tuner (30-60 s each)
@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(TUNERS))
def test_each_tuner_completes_a_search_on_digits(kind, tmp_path):
    x, y, xv, yv = _digits()
    tuner = TUNERS[kind](_small_mlp(), str(tmp_path))
    assert "batch_size" in [p.name for p in tuner.oracle.get_space().space]  # declared before any trial
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)
    frame = trials_dataframe(tuner)
    assert len(frame) >= 3 and set(frame["status"]) == {"COMPLETED"}
    assert frame["score"].between(0, 1).all() and "hp/batch_size" in frame and "metric/val_accuracy" in frame
    assert "hp/epochs" not in frame  # never a hyperparameter (Hyperband owns epochs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best = tuner.get_best_models(1)[0]
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    assert int(best.optimizer.iterations.numpy()) > 0  # the trained optimizer state came back too
    accuracy = float(np.mean(np.argmax(best.predict(xv, verbose=0), -1) == yv))
    assert accuracy == pytest.approx(frame["score"].max(), abs=1e-6)
    fig = plot_trials(tuner, path=str(tmp_path / "trials.png"))
    assert (tmp_path / "trials.png").stat().st_size > 0 and len(fig.axes) >= 3


# the slow tier: a search of four ConvNets
@pytest.mark.slow
def test_convnet_hypermodel_searches_every_normalization(tmp_path):
    x, y, xv, yv = _digits(image=True)
    hypermodel = ConvNetHyperModel(
        (8, 8, 1),
        num_classes=10,
        max_blocks=2,
        filters=[8],
        optimizers=["adam"],
        schedules=["constant"],
        batch_sizes=[64],
        epochs=1,
        jit_compile=False,
    )
    tuner = keras_tuner.GridSearch(hypermodel, objective="val_accuracy", max_trials=4, directory=str(tmp_path))
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)
    frame = trials_dataframe(tuner)
    assert set(frame["status"]) == {"COMPLETED"} and len(frame) == 4


@pytest.mark.parametrize("blocks, length, pooled", [(1, 40, 20), (3, 40, 5), (3, 5, 2)])
def test_a_signal_gets_the_same_convnet_in_one_dimension(blocks, length, pooled):
    hypermodel = ConvNetHyperModel((length, 2), num_classes=4, filters=[8], schedules=["constant"], jit_compile=False)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.Fixed("num_blocks", blocks)
    hp.Fixed("normalization", "batch")
    model = hypermodel.build(hp)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv1D"]
    assert [c.filters for c in convs] == [8 * 2**b for b in range(blocks) for _ in range(2)]  # doubling per block
    assert all(c.kernel_size == (3,) and c.padding == "same" for c in convs)
    assert not [layer for layer in model.layers if "2D" in type(layer).__name__]
    pools = [layer for layer in model.layers if type(layer).__name__ == "MaxPooling1D"]
    assert pools[-1].output.shape[1] == pooled if pools else length == pooled  # halved while longer than 2
    assert model.output_shape == (None, 4)


def test_the_one_dimensional_convnet_tells_motifs_apart_wherever_they_are():
    # class = which of four 3-sample motifs the noisy signal holds, at a random place: a task for
    # convolutions and pooling (the same filter everywhere), not for a fixed position
    motifs = 2.0 * np.array([[1, 1, 1], [-1, -1, -1], [1, -1, 1], [-1, 1, -1]], "float32")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 512)
    x = rng.normal(0.0, 0.3, (512, 32, 1)).astype("float32")
    for i, start in enumerate(rng.integers(0, 30, len(y))):
        x[i, start : start + 3, 0] += motifs[y[i]]
    hypermodel = ConvNetHyperModel(
        (32, 1), num_classes=4, filters=[8], activations=["relu"], normalizations=["none"], optimizers=["adam"],
        schedules=["constant"], batch_sizes=[32], epochs=8, early_stopping=False, jit_compile=False,
    )  # fmt: skip
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    for name, value in {"num_blocks": 2, "learning_rate": 3e-3, "dropout": 0.0}.items():
        hp.Fixed(name, value)
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, x[:384], y[:384], verbose=0)
    accuracy = float(np.mean(np.argmax(model.predict(x[384:], verbose=0), -1) == y[384:]))
    assert accuracy > 0.9  # chance is 0.25


def test_fit_applies_the_batch_size_early_stopping_and_the_trial_seed():
    x, y, xv, yv = _digits()
    hypermodel = _small_mlp(patience=1)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values["batch_size"] = 64
    hypermodel.build(hp)  # declares the rest (a tuner's trial has every value before building)
    first, again = hypermodel.build(hp), hypermodel.build(hp)
    assert first.jit_compile is False  # the hypermodel's jit_compile reaches compile
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)  # same values, same seed, same initialization
    other = hp.copy()
    other.values["units"] = 32 if hp.get("units") == 16 else 16
    assert trial_seed(other, 0) != trial_seed(hp, 0) and trial_seed(hp, 1) != trial_seed(hp, 0)
    captured = {}
    original = first.fit

    def spy(*args, **kwargs):
        captured.update(kwargs)
        return original(*args, **kwargs)

    first.fit = spy
    history = hypermodel.fit(hp, first, x, y, validation_data=(xv, yv), verbose=0)
    assert captured["batch_size"] == 64 and captured["epochs"] == 1
    stoppers = [c for c in captured["callbacks"] if isinstance(c, EarlyStopping)]
    assert len(stoppers) == 1 and stoppers[0].monitor == "val_loss" and stoppers[0].restore_best_weights
    assert len(history.history["loss"]) <= 2


# the slow tier: a search until three trials in a row failed
@pytest.mark.slow
def test_failed_configurations_are_reported_and_an_all_failing_search_stops(tmp_path):
    x, y, xv, yv = _digits()
    hypermodel = _small_mlp()
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    model = hypermodel.build(hp)
    poisoned = x.copy()
    # one bad sample: the loss and then the weights go NaN. An infinity, not a NaN: TensorFlow's
    # graph (no XLA) ReLU maps NaN to 0 and would keep this loss finite (seen on TF 2.21)
    poisoned[5, 3] = np.inf
    with pytest.raises(keras_tuner.errors.FailedTrialError, match="non-finite"):
        hypermodel.fit(hp, model, poisoned, y, validation_data=(xv, yv), epochs=2, verbose=0)

    # every trial diverges on the poisoned data: keras-tuner stops after 3 failed trials in a row
    tuner = keras_tuner.RandomSearch(_small_mlp(), objective="val_accuracy", max_trials=6, directory=str(tmp_path))
    with pytest.raises(RuntimeError, match="consecutive failures"):
        tuner.search(poisoned, y, validation_data=(xv, yv), verbose=0)
    assert set(trials_dataframe(tuner)["status"]) == {"FAILED"}


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"task": "ranking", "num_classes": 3}, "task"),
        ({"task": "regression"}, "output_units"),
        ({"num_classes": 3, "activations": []}, "activations"),
        ({"num_classes": 3, "optimizers": ["adam", "nadam"]}, "optimizers"),
        ({"num_classes": 3, "batch_sizes": []}, "batch_sizes"),
        ({"num_classes": 3, "schedules": ["cosine"]}, "num_samples"),
        ({"num_classes": 3, "max_layers": 0}, "max_layers"),
        ({"num_classes": 3, "units": [0]}, "units"),
        ({"num_classes": 3, "jit_compile": "yes"}, "jit_compile"),
        ({"num_classes": 3, "jit_compile": 1}, "jit_compile"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MLPHyperModel((4,), **{"num_samples": 100, **kwargs} if name != "num_samples" else kwargs)
    for shape in [(64,), (2, 8, 8, 1)]:  # neither a signal (length, channels) nor an image
        with pytest.raises(ValueError, match=r"input_shape.*\(length, channels\)"):
            ConvNetHyperModel(shape, num_classes=3, schedules=["constant"])
