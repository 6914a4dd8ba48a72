"""Trial pruning (median stopping, ASHA) and the time budget inside keras-tuner searches."""

import gc
import random
import time
import warnings
import weakref

import keras
import keras_tuner
import numpy as np
import pytest

from kerasboost.tuning import (
    ASHA,
    ASHAPruner,
    BayesianOptimization,
    MedianPruner,
    MLPHyperModel,
    RandomSearch,
    plot_intermediate,
    trials_dataframe,
)
from kerasboost.tuning.pruning import INTERMEDIATE, PRUNED


def test_median_rule_by_hand():
    pruner = MedianPruner(min_epochs=2, min_trials=2)
    others = [[0.7, 0.8, 0.85], [0.6, 0.9], [0.1]]
    assert not pruner.prune([0.1], others)  # before min_epochs
    assert pruner.prune([0.5, 0.6], others)  # best 0.6 < median(0.8, 0.9) = 0.85
    assert not pruner.prune([0.5, 0.86], others)  # 0.86 > 0.85
    assert not pruner.prune([0.1, 0.2, 0.3], others)  # one other trial reached epoch 3: too few
    # the others' best up to the same epoch: [0.7, 0.8, 0.85] counts 0.8 at epoch 2
    assert MedianPruner(min_trials=1).prune([0.2, 0.79], [[0.7, 0.8, 0.85]])


def test_asha_rungs_and_promotions_by_hand():
    pruner = ASHAPruner(min_epochs=1, reduction_factor=3)
    assert pruner.rungs(12) == [1, 3, 9]
    assert ASHAPruner(min_epochs=2, reduction_factor=2).rungs(12) == [2, 4, 8]
    others = [[0.9], [0.8], [0.7], [0.6], [0.5]]
    # 6 at rung 1 (this one included): the best 6 // 3 = 2 go on
    assert not pruner.prune([0.85], others)
    assert pruner.prune([0.75], others)
    assert not pruner.prune([0.1, 0.2], others)  # epoch 2 is no rung
    # the first trial at a rung always goes on; the second only if it is the better one
    assert not pruner.prune([0.1, 0.1, 0.1], [[0.9]])
    assert pruner.prune([0.1, 0.1, 0.1], [[0.9, 0.9, 0.9]])


def _build(hp):
    """A linear regression whose SGD rate is the only hyperparameter: the small rates lag."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(hp.Choice("lr", [1e-5, 1e-4, 0.05, 0.1])), "mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5, 3.0], "float32")


def _epochs_run(oracle):
    return {tid: len(t.metrics.get_history(INTERMEDIATE + "val_loss")) for tid, t in oracle.trials.items()}


@pytest.mark.parametrize(
    "pruner", [MedianPruner(min_epochs=1, min_trials=1), ASHAPruner(min_epochs=1, reduction_factor=2)]
)
def test_a_pruned_search_stops_the_lagging_trials_and_keeps_the_best(pruner, tmp_path):
    x, y = _data()
    tuner = RandomSearch(
        _build, objective="val_loss", max_trials=4, seed=3, pruner=pruner, directory=str(tmp_path), project_name="p"
    )
    tuner.search(x, y, validation_split=0.25, epochs=6, batch_size=16, verbose=0)
    frame = trials_dataframe(tuner)
    ran = _epochs_run(tuner.oracle)
    assert len(frame) == 4 and set(frame["status"]) == {"COMPLETED"}
    pruned = frame[frame["pruned"]]
    assert len(pruned) >= 1 and sum(ran.values()) < 4 * 6
    for _, row in pruned.iterrows():  # recorded where it stopped: its curve ends there
        assert row["pruned_at_epoch"] == ran[row["trial_id"]] < 6
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.hyperparameters.get("lr") >= 0.05 and PRUNED not in best.metrics.metrics
    # every trial's curve drawn, each pruned one ending in an "x"
    lines = plot_intermediate(tuner).axes[0].get_lines()
    assert sum(line.get_marker() == "x" for line in lines) == len(pruned)
    assert sum(line.get_marker() != "x" for line in lines) == 4


def _momentum_build(hp):
    """The large rates overshoot: their best epoch comes before their last."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(hp.Choice("lr", [1e-3, 0.02, 0.05, 0.1]), momentum=0.9), "mse")
    return model


# the slow tier: 4-6 s alone, but over 20 s in CI beside the distributed tests' processes
@pytest.mark.slow
def test_each_trial_keeps_its_best_epoch_written_once_at_its_end(tmp_path):
    x, y = _data()
    y = y + np.random.default_rng(1).normal(size=len(y)).astype("float32")
    tuner = RandomSearch(
        _momentum_build,
        objective="val_loss",
        max_trials=4,
        seed=1,
        pruner=ASHAPruner(min_epochs=1, reduction_factor=2),
        directory=str(tmp_path),
        project_name="b",
    )
    tuner.search(x[:72], y[:72], validation_data=(x[72:], y[72:]), epochs=6, batch_size=8, verbose=0)
    best_before_last = 0
    for trial in tuner.oracle.trials.values():
        curve = [o.value[0] for o in trial.metrics.get_history(INTERMEDIATE + "val_loss")]
        best_before_last += int(np.argmin(curve) < len(curve) - 1)
        # the checkpoint holds the weights of the trial's best epoch, not of its last
        reloaded = tuner.load_model(trial).evaluate(x[72:], y[72:], verbose=0)
        np.testing.assert_allclose(reloaded, trial.score, rtol=1e-5)
        assert trial.score == min(curve)
    assert best_before_last >= 1  # the case the in-memory copy exists for


def test_each_trial_frees_the_last_ones_model_and_the_search_leaves_nothing_frozen(tmp_path):
    x, y = _data()
    built: list = []

    def build(hp):
        # keras-tuner collected garbage before this build: the previous trial's model is gone
        assert all(ref() is None for ref in built)
        model = _build(hp)
        built.append(weakref.ref(model))
        return model

    tuner = RandomSearch(
        build, objective="val_loss", max_trials=3, seed=0, pruner=MedianPruner(), directory=str(tmp_path)
    )
    tuner.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    assert len(built) == 4 and len(tuner.oracle.trials) == 3  # keras-tuner builds once at construction
    assert set(trials_dataframe(tuner)["status"]) == {"COMPLETED"}  # no build's assertion failed
    assert gc.get_freeze_count() == 0


def _slow_build(hp):
    time.sleep(1.0)  # the budget below runs out while the first trial builds
    return _build(hp)


def test_the_time_budget_stops_the_search_and_a_second_call_resumes(tmp_path):
    x, y = _data()
    kwargs = dict(objective="val_loss", max_trials=50, seed=0, directory=str(tmp_path), project_name="t")
    tuner = RandomSearch(_slow_build, max_time=0.5, **kwargs)
    tuner.search(x, y, validation_split=0.25, epochs=3, verbose=0)
    # one trial started within the budget; it stopped at its first epoch's end; no other started
    assert _epochs_run(tuner.oracle) == {"00": 1}
    assert trials_dataframe(tuner)["status"].tolist() == ["COMPLETED"]
    tuner.search(x, y, validation_split=0.25, epochs=3, verbose=0)  # the same tuner: a new budget
    assert len(tuner.oracle.trials) == 2
    again = RandomSearch(_slow_build, max_time=0.5, overwrite=False, **kwargs)  # a new process would
    again.search(x, y, validation_split=0.25, epochs=3, verbose=0)
    assert len(again.oracle.trials) == 3  # resumed: the finished trials kept, one more run


def test_bad_arguments_fail_at_construction_or_search(tmp_path):
    for make, name in [
        (lambda: MedianPruner(min_epochs=0), "min_epochs"),
        (lambda: MedianPruner(min_trials=0), "min_trials"),
        (lambda: ASHAPruner(reduction_factor=1), "reduction_factor"),
        (lambda: RandomSearch(_build, objective="val_loss", pruner="median", directory=str(tmp_path)), "pruner"),
        (lambda: BayesianOptimization(_build, objective="val_loss", max_time=0, directory=str(tmp_path)), "max_time"),
        (lambda: RandomSearch(_build, objective="val_loss", defer_jit_compile=1, directory=str(tmp_path)), "defer_jit"),
        (
            lambda: RandomSearch(
                MLPHyperModel((4,), num_classes=2, epochs=3, schedules=["constant"]),
                objective="val_loss",
                pruner=ASHAPruner(min_epochs=4),
                directory=str(tmp_path),
            ),
            "min_epochs is at most the hypermodel's epochs",
        ),
    ]:
        with pytest.raises(ValueError, match=name):
            make()
    tuner = RandomSearch(_build, objective="val_loss", pruner=ASHAPruner(min_epochs=5), directory=str(tmp_path))
    x, y = _data()
    with pytest.raises(ValueError, match="min_epochs"):
        tuner.search(x, y, validation_split=0.25, epochs=3, verbose=0)


def _xla_build(hp):
    model = _build(hp)
    model.compile(model.optimizer, "mse", jit_compile=True)
    return model


class _JitLog(keras.callbacks.Callback):
    """(trial's model, epoch, its jit_compile, its train function) at each epoch end, across trials."""

    log: list = []

    def __deepcopy__(self, memo):
        return self

    def on_epoch_end(self, epoch, logs=None):
        self.log.append((id(self.model), epoch, self.model.jit_compile, self.model.train_function))


@pytest.mark.slow  # as above: 4-5 s alone, 22-25 s in CI beside the distributed tests
@pytest.mark.parametrize("defer", [True, False])
def test_the_first_rung_runs_without_xla_and_the_survivors_with_it(defer, tmp_path):
    x, y = _data()
    tuner = RandomSearch(
        _xla_build,
        objective="val_loss",
        max_trials=4,
        seed=3,
        pruner=ASHAPruner(min_epochs=2, reduction_factor=2),
        defer_jit_compile=defer,
        directory=str(tmp_path),
    )
    _JitLog.log = []
    tuner.search(x, y, validation_split=0.25, epochs=4, batch_size=16, verbose=0, callbacks=[_JitLog()])
    trials: dict = {}
    for model, epoch, jit, function in _JitLog.log:
        trials.setdefault(model, []).append((epoch, jit, function))
    assert len(trials) == 4 and any(len(t) == 2 for t in trials.values())  # some stopped at rung 2
    for epochs in trials.values():
        if not defer or keras.backend.backend() != "tensorflow":  # JAX without XLA is eager: no deferral
            assert all(jit for _, jit, _ in epochs)
            continue
        assert [jit for _, jit, _ in epochs] == [False, False] + [True] * (len(epochs) - 2)
        if len(epochs) > 2:  # a survivor: its epochs 3.. ran a step compiled anew, for XLA
            assert epochs[2][2] is not epochs[1][2] and epochs[3][2] is epochs[2][2]
    assert tuner.get_best_models(1)[0].jit_compile is True  # rebuilt as the user compiled it


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the deferral is TensorFlow's")
def test_a_deferred_first_rung_draws_other_dropout_masks_than_xla():
    """What the guide says of `defer_jit_compile`: the same seed trains the same model with and
    without XLA up to float rounding, except that random layers draw other numbers (TensorFlow's
    stateless random ops pick another algorithm under XLA), so a trial whose first rung ran
    without XLA trains as if from another seed."""
    x = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    def one_step(jit_compile, dropout):
        keras.utils.set_random_seed(7)
        layers = [keras.Input((8,)), keras.layers.Dense(16, activation="relu")]
        layers += [keras.layers.Dropout(0.5)] if dropout else []
        model = keras.Sequential([*layers, keras.layers.Dense(2)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        return np.concatenate([np.ravel(keras.ops.convert_to_numpy(w)) for w in model.weights])

    def gap(dropout):
        return np.max(np.abs(one_step(True, dropout) - one_step(False, dropout)))

    assert gap(dropout=False) < 1e-5  # rounding only
    # one Adam step moves each weight by about its rate (1e-3) or not at all, as the mask says
    assert gap(dropout=True) > 5e-4


# ---------------------------------------------------------------------------------- cross-validation


class _GroupChecked(keras_tuner.HyperModel):
    """The regression of `_build`, whose fit checks that no group (column 0 of x) is both in the
    training and the held-out part of a fold, and counts its calls."""

    def __init__(self):
        super().__init__()
        self.folds = []

    def build(self, hp):
        return _build(hp)

    def fit(self, hp, model, x, y, validation_data=None, **kwargs):
        x_val = validation_data[0]
        assert not set(x[:, 0]) & set(x_val[:, 0])
        self.folds.append(len(x_val))
        return model.fit(x, y, validation_data=validation_data, **kwargs)


def test_cross_validated_trials_score_the_mean_of_the_folds_and_keep_groups_apart(tmp_path):
    from sklearn.model_selection import GroupKFold

    x, y = _data()
    groups = np.repeat(np.arange(12), 8)  # 12 groups of 8 rows
    x[:, 0] = groups
    hypermodel = _GroupChecked()
    tuner = RandomSearch(
        hypermodel,
        objective="val_loss",
        max_trials=2,
        seed=1,
        cross_validation=GroupKFold(3),
        directory=str(tmp_path),
        project_name="cv",
    )
    tuner.search(x, y, groups=groups, epochs=2, batch_size=16, verbose=0)
    assert hypermodel.folds == [32] * 6  # 2 trials x 3 folds of 4 held-out groups
    frame = trials_dataframe(tuner)
    assert (frame["metric/folds"] == 3).all() and frame["metric/val_loss_std"].notna().all()
    for trial in tuner.oracle.trials.values():
        curve = [o.value[0] for o in trial.metrics.get_history(INTERMEDIATE + "val_loss")]
        assert len(curve) == 3  # the running mean after each fold; the score is the last
        assert trial.score == pytest.approx(curve[-1], rel=1e-6)


def test_cross_validation_prunes_on_the_running_mean_of_the_folds(tmp_path):
    x, y = _data()
    tuner = RandomSearch(
        _build,
        objective="val_loss",
        max_trials=4,
        seed=3,
        cross_validation=3,
        pruner=MedianPruner(min_epochs=1, min_trials=1),
        directory=str(tmp_path),
        project_name="cvp",
    )
    tuner.search(x, y, epochs=2, batch_size=16, verbose=0)
    frame = trials_dataframe(tuner)
    pruned = frame[frame["pruned"]]
    assert len(pruned) >= 1 and (pruned["metric/folds"] < 3).all()
    assert (pruned["pruned_at_epoch"] == pruned["metric/folds"]).all()  # the pruner's steps are folds


def test_cross_validation_arguments(tmp_path):
    for value in (1, "5", 2.0):
        with pytest.raises(ValueError, match="cross_validation"):
            RandomSearch(_build, objective="val_loss", cross_validation=value, directory=str(tmp_path))
    tuner = RandomSearch(_build, objective="val_loss", max_trials=1, cross_validation=2, directory=str(tmp_path))
    x, y = _data()
    with pytest.raises(ValueError, match="validation_split"):
        tuner.search(x, y, validation_split=0.2, epochs=1, verbose=0)


def test_seed_zero_is_a_seed(tmp_path):
    """keras-tuner's oracles take `seed or random.randint(1, 10000)`: seed=0 drew another seed
    each time. kerasboost's tuners draw the same configurations from seed 0 every time."""

    def draws(tuner_class, state, **kwargs):
        random.seed(state)  # where keras-tuner draws a seed from
        tuner = tuner_class(
            _build, objective="val_loss", seed=0, directory=str(tmp_path), project_name=f"s{state}", **kwargs
        )
        return tuner.oracle.seed, [tuner.oracle.populate_space(str(i))["values"]["lr"] for i in range(4)]

    for tuner_class, kwargs in [
        (RandomSearch, {"max_trials": 4}),
        (BayesianOptimization, {"max_trials": 4}),
        (ASHA, {"max_epochs": 3, "max_configurations": 4}),
    ]:
        (seed, first), (again, second) = draws(tuner_class, 1, **kwargs), draws(tuner_class, 2, **kwargs)
        assert seed == again == 0 and first == second, tuner_class
    bayesian = BayesianOptimization(_build, objective="val_loss", seed=0, directory=str(tmp_path), project_name="b")
    assert bayesian.oracle.gpr.random_state == 0  # its Gaussian process's restarts too


def test_bayesian_optimization_warns_when_every_trial_would_be_random(tmp_path):
    """keras-tuner's oracle draws max(3 x the hyperparameters, 3) random trials (or
    `num_initial_points`) before its Gaussian process proposes one; with `max_trials` at or
    under that, the search is a RandomSearch, and kerasboost's tuner says so when it is built."""

    def tuner(project, build=_build, **kwargs):
        return BayesianOptimization(
            build, objective="val_loss", directory=str(tmp_path), project_name=project, **kwargs
        )

    with pytest.warns(
        UserWarning, match=r"first 3 trials at random \(keras-tuner's default, 3 x 1 hyperparam"
    ) as caught:
        tuner("default", max_trials=3)
    assert caught[0].filename == __file__  # it points at the line that built the tuner
    with pytest.warns(UserWarning, match=r"first 5 trials at random \(num_initial_points\) and max_trials is 4"):
        tuner("explicit", max_trials=4, num_initial_points=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tuner("modelled", max_trials=4, num_initial_points=2)
        tuner("unbounded", max_trials=None)  # no bound: the process proposes after the random trials
    messages = [str(w.message) for w in caught if "trials at random" in str(w.message)]
    assert messages == [], messages
    # MLPHyperModel's default space: 20 hyperparameters, so 60 random trials by default
    with pytest.warns(UserWarning, match=r"first 60 trials at random \(keras-tuner's default, 3 x 20 hyperparam"):
        tuner("mlp", MLPHyperModel((4,), num_classes=3, num_samples=64), max_trials=12)
