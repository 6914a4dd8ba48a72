"""ASHA with paused trials: the promotions of Li et al.'s algorithm, the resumed state, the tables."""

import os
import sys
import time
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

from kerasboost.tuning import ASHA, MLPHyperModel, asha, plot_intermediate, pruning, trials_dataframe
from kerasboost.tuning.asha import PAUSED, ASHAOracle, asha_rungs
from kerasboost.tuning.pruning import CUT, INTERMEDIATE, install_oracle_hooks

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from tuning_replay import promote  # the replay's ASHA, written apart from kerasboost's


def test_rungs():
    assert asha_rungs(1, 3, 12) == [1, 3, 9, 12]
    assert asha_rungs(2, 3, 12) == [2, 6, 12]
    assert asha_rungs(1, 2, 8) == [1, 2, 4, 8]
    assert asha_rungs(3, 3, 3) == [3]


def _simulate(curves, max_epochs, min_epochs, reduction_factor, tmp_path, short=None, oracles=None):
    """Runs an `ASHAOracle` on one worker without training: configuration i (in draw order)
    reports `curves[i]`, epoch by epoch. Returns the stretches `(configuration, first epoch,
    last epoch)` in the order the oracle handed them out. `short`: `{stretch index: (epochs
    it runs, whether the time budget cut it)}` for stretches that end before their rung;
    `oracles`: a list the oracle is appended to."""
    hp = keras_tuner.HyperParameters()
    hp.Int("c", 0, 10**6)
    oracle = ASHAOracle(
        keras_tuner.Objective("acc", "max"),
        max_epochs=max_epochs,
        min_epochs=min_epochs,
        reduction_factor=reduction_factor,
        max_configurations=len(curves),
        seed=0,
        hyperparameters=hp,
    )
    oracle._set_project_dir(str(tmp_path), "sim")
    install_oracle_hooks(oracle, None, None)
    if oracles is not None:
        oracles.append(oracle)
    index, stretches = {}, []
    while True:
        trial = oracle.create_trial("worker")
        if trial.status == "STOPPED":
            return stretches
        values = trial.hyperparameters.values
        config = index.setdefault(values["c"], len(index))
        first, last = values["tuner/initial_epoch"], values["tuner/epochs"]
        ran, cut = (short or {}).get(len(stretches), (last - first, False))
        stretches.append((config, first, last))
        for epoch in range(first, first + ran):
            oracle.update_trial(trial.trial_id, {INTERMEDIATE + "acc": curves[config][epoch]}, step=epoch + 1)
        if cut:
            oracle.update_trial(trial.trial_id, {CUT: float(first + ran)}, step=first + ran)
        oracle.update_trial(trial.trial_id, {"acc": max(curves[config][first : first + ran])}, step=first + ran)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)


def test_promotions_by_hand(tmp_path):
    # four configurations, rungs 1, 2, 4 (reduction factor 2); their accuracy after each epoch
    curves = [
        [0.5, 0.6, 0.6, 0.6],
        [0.7, 0.72, 0.73, 0.74],  # the best at rung 1, the worst at rung 2
        [0.4, 0.9, 0.91, 0.92],
        [0.6, 0.8, 0.85, 0.95],
    ]
    assert _simulate(curves, 4, 1, 2, tmp_path) == [
        (0, 0, 1),  # rung 1 holds 1: none goes on (1 // 2 = 0)
        (1, 0, 1),  # rung 1 holds 2: the best (1) resumes next
        (1, 1, 2),
        (2, 0, 1),  # rung 2 holds 1; rung 1 holds 3, whose top 1 (1) went on already
        (3, 0, 1),  # rung 1 holds 4: its top 2 are 1 and 3; 3 resumes
        (3, 1, 2),  # rung 2 holds 2 (0.72, 0.8): 3 goes on to the last rung
        (3, 2, 4),
        # no configuration left: each rung's best goes on; rung 2's (3) has, rung 1's (1) has
    ]
    # the last stretch ends after one of its two epochs: cut by the time budget, it runs again
    # from the same pause; stopped otherwise (a callback's early stopping), it does not
    assert _simulate(curves, 4, 1, 2, tmp_path / "cut", short={6: (1, True)})[6:] == [(3, 2, 4), (3, 2, 4)]
    assert _simulate(curves, 4, 1, 2, tmp_path / "stopped", short={6: (1, False)})[6:] == [(3, 2, 4)]
    # rungs 2 and 4: configuration 1's first stretch, cut after one epoch, paused nowhere; it
    # starts again at once (no pause waits), and is still one of the four configurations
    oracles: list = []
    assert _simulate(curves, 4, 2, 2, tmp_path / "first", short={1: (1, True)}, oracles=oracles) == [
        (0, 0, 2),
        (1, 0, 2),
        (1, 0, 2),
        (1, 2, 4),  # rung 2 holds 2 (0.6, 0.72): 1 goes on
        (2, 0, 2),
        (2, 2, 4),
        (3, 0, 2),  # rung 2 holds 4: its top 2 are 2 and 3
        (3, 2, 4),
    ]
    # drawn: only configuration 0 is left paused (an "x"); the cut stretch is 1's, which went on
    lines = plot_intermediate(oracles[0]).axes[0].get_lines()
    assert [line.get_marker() for line in lines].count("x") == 1 and len(lines) == 9


@pytest.mark.parametrize("min_epochs", [1, 2])
def test_the_oracle_takes_the_replays_decisions(min_epochs, tmp_path):
    rng = np.random.default_rng(min_epochs)
    for order in range(6):
        # noisy rising curves: rankings at early rungs differ from the final ones
        curves = np.cumsum(rng.uniform(0, 0.1, size=(10, 12)), axis=1) + rng.normal(0, 0.05, size=(10, 12))
        stretches = _simulate(curves.tolist(), 12, min_epochs, 3, tmp_path / str(order))
        spent = sum(last - first for _, first, last in stretches)
        target = float(curves.max()) - 1e-9
        reached = None
        run = 0
        for config, first, last in stretches:
            for epoch in range(first, last):
                run += 1
                if reached is None and curves[config][epoch] >= target:
                    reached = run
        assert (reached, spent) == promote(curves.tolist(), list(range(10)), target, min_epochs)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5, 3.0], "float32")


def _build(hp):
    """Adam on a cosine schedule over 6 epochs of 5 steps: a resumed stretch that lost the
    optimizer's state would restart the schedule and the moments."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.CosineDecay(hp.Choice("lr", [1e-4, 0.003, 0.03, 0.1]), 6 * 5)
    model.compile(keras.optimizers.Adam(schedule), "mse", jit_compile=True)
    return model


def _slow_build(hp):
    time.sleep(1.0)  # the budget below runs out while the first trial builds
    return _build(hp)


_CLOCK = [0.0]  # seconds the test adds to the time budget's clock


class _BudgetRunsOutInEpoch3(keras.callbacks.Callback):
    """Moves the budget's clock past its deadline at the end of the third epoch: the first
    stretch from rung 2 to rung 4 (the only one to run that epoch) stops after one of its two."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            _CLOCK[0] = 1e9


# the slow tier: a whole search, three tuners and a reference fit (~16 s alone)
@pytest.mark.slow
def test_a_resumed_configuration_trains_as_one_uninterrupted_fit(tmp_path, monkeypatch):
    monkeypatch.setattr(pruning, "_now", lambda: time.monotonic() + _CLOCK[0])
    x, y = _data()
    kwargs = dict(objective="val_loss", max_epochs=6, reduction_factor=2, max_configurations=4, seed=0)
    kwargs.update(directory=str(tmp_path), project_name="a")
    fit = dict(validation_split=0.25, batch_size=16, shuffle=False, verbose=0)
    first = ASHA(_slow_build, max_time=0.5, **kwargs)
    assert first.oracle.rungs == [1, 2, 4, 6]
    first.search(x, y, **fit)
    assert len(first.oracle.trials) == 1  # the time budget: no second trial started
    # the budget runs out within a resumed stretch: it stops there, short of its rung
    _CLOCK[0] = 0.0
    second = ASHA(_build, max_time=3600, overwrite=False, **kwargs)  # a new process would: the trials are reloaded
    second.search(x, y, callbacks=[_BudgetRunsOutInEpoch3()], **fit)
    frame = trials_dataframe(second)
    (cut,) = frame.loc[frame["metric/" + CUT].notna(), "trial_id"]
    row = frame.set_index("trial_id").loc[cut]
    assert (row["initial_epoch"], row["epochs"], row["metric/" + CUT]) == (2, 4, 3) and frame["trial_id"].max() == cut
    parent = row["resumed_from"]
    assert os.path.exists(os.path.join(second.get_trial_dir(parent), PAUSED))  # for the next search
    _CLOCK[0] = 0.0
    tuner = ASHA(_build, overwrite=False, **kwargs)
    tuner.search(x, y, **fit)
    frame = trials_dataframe(tuner)
    # the cut stretch's configuration went on from the same pause
    again = frame[(frame["resumed_from"] == parent) & (frame["trial_id"] != cut)]
    assert list(again["epochs"]) == [4] and again["trial_id"].iloc[0] > cut
    assert set(frame["status"]) == {"COMPLETED"}
    assert frame["hp/lr"].nunique() == 4 and (frame["initial_epoch"] == 0).sum() == 4
    full = frame[frame["epochs"] == 6]
    assert len(full) == 1 and (frame["epochs"] - frame["initial_epoch"]).sum() < 4 * 6
    # the chain of the configuration that reached the last rung, stretch by stretch
    chain, trial_id, rows = [], full["trial_id"].iloc[0], frame.set_index("trial_id")
    while isinstance(trial_id, str):
        chain.append(trial_id)
        trial_id = rows.loc[trial_id, "resumed_from"]
    assert [int(rows.loc[t, "epochs"]) for t in chain] == [6, 4, 2, 1]
    curve = []
    for t in reversed(chain):
        history = tuner.oracle.trials[t].metrics.get_history(INTERMEDIATE + "val_loss")
        curve += [float(np.mean(o.value)) for o in sorted(history, key=lambda o: o.step)]
    # the same configuration in one fit of 6 epochs (the first stretch ran without XLA: float32 noise)
    hp = keras_tuner.HyperParameters()
    hp.values["lr"] = full["hp/lr"].iloc[0]
    history = _build(hp).fit(x, y, epochs=6, **fit)
    np.testing.assert_allclose(curve, history.history["val_loss"], rtol=1e-4)
    # a paused state is kept while its configuration may resume: the stretches left paused have
    # theirs, the resumed ones and the last rung's do not
    resumed = set(frame["resumed_from"].dropna())
    for t in frame["trial_id"]:
        paused = os.path.exists(os.path.join(tuner.get_trial_dir(t), PAUSED))
        assert paused == (t not in resumed and rows.loc[t, "epochs"] < 6 and t != cut), t
    assert len(resumed) == len(frame) - 5  # every stretch after a configuration's first resumed one (two: cut's)
    # the best model is the best trial's best epoch
    best = tuner.get_best_models(1)[0]
    best_trial = tuner.oracle.get_best_trials(1)[0]
    assert best.evaluate(x[72:], y[72:], verbose=0) == pytest.approx(best_trial.score, rel=1e-4)
    # every stretch drawn; each configuration left paused below the last rung ends in an "x"
    lines = plot_intermediate(tuner).axes[0].get_lines()
    assert sum(line.get_marker() == "x" for line in lines) == 3
    assert sum(line.get_marker() != "x" for line in lines) == len(frame)


class _JitLog(keras.callbacks.Callback):
    """Each epoch's `(epoch, whether the model ran it with XLA)`, across a search's trials; at
    each trial's end, it zeroes the model's weights (after the pause was written)."""

    def __init__(self, records: list) -> None:
        super().__init__()
        self.records = records

    def __deepcopy__(self, memo):
        return _JitLog(self.records)

    def on_epoch_end(self, epoch, logs=None):
        self.records.append((epoch, self.model.jit_compile))

    def on_train_end(self, logs=None):
        self.model.set_weights([np.zeros_like(w) for w in self.model.get_weights()])


# the slow tier: two searches (~15 s)
@pytest.mark.slow
def test_a_kept_model_resumes_as_a_rebuilt_one(tmp_path):
    """The paused models kept in memory train each resumed stretch as a model built anew (the
    pause's weights loaded, the data order the configuration's, XLA after the first rung)."""
    x, y = _data()
    searches = []
    for kept in (256 * 2**20, 0):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("dropout", 0.0)  # a kept model's dropout draws go on; a rebuilt one's start again
        hypermodel = MLPHyperModel(
            (4,), task="regression", output_units=1, max_layers=1, units=[8], batch_sizes=[16], epochs=6,
            num_samples=72, seed=1, early_stopping=False, jit_compile=True,
        )  # fmt: skip
        tuner = ASHA(  # seed 1: keras-tuner's oracles draw a random seed for seed=0
            hypermodel, objective="val_loss", reduction_factor=2, max_configurations=4, seed=1, hyperparameters=hp,
            paused_models_bytes=kept, directory=str(tmp_path), project_name=f"kept{kept}",
        )  # fmt: skip
        builds, build = [], hypermodel.build
        hypermodel.build = lambda hp, build=build, builds=builds: builds.append(hp.values) or build(hp)
        jit: list = []
        tuner.search(x, y, validation_split=0.25, callbacks=[_JitLog(jit)], verbose=0)
        assert tuner._kept == {}  # released when the search returns
        curves = {
            t: [float(np.mean(o.value)) for o in trial.metrics.get_history(INTERMEDIATE + "val_loss")]
            for t, trial in tuner.oracle.trials.items()
        }
        searches.append((builds, jit, curves, trials_dataframe(tuner)))
    (kept_builds, kept_jit, kept_curves, frame), (builds, jit, curves, rebuilt) = searches
    # the same stretches, epoch by epoch the same validation losses, and XLA where it was
    columns = ["trial_id", "resumed_from", "initial_epoch", "epochs", "hp/learning_rate"]
    assert frame[columns].equals(rebuilt[columns])
    assert kept_curves.keys() == curves.keys()
    for t in curves:
        np.testing.assert_allclose(kept_curves[t], curves[t], rtol=1e-6, err_msg=t)
    assert kept_jit == jit and [j for e, j in jit if e == 0] == [False] * 4 and all(j for e, j in jit if e > 0)
    # rebuilt: a build per stretch; kept: a build per configuration (every resumed one was kept)
    assert len(builds) == len(frame) > 4
    assert [b.get("tuner/trial_id") for b in kept_builds] == [None] * 4


def test_kept_models_are_bounded_by_their_bytes(tmp_path):
    def model():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(0.01), "mse")
        model.optimizer.build(model.trainable_variables)
        return model

    # 19 float32 weights; Adam: its int64 step, its float32 learning rate, two moments per weight
    size = 19 * 4 + 8 + 4 + 2 * 19 * 4
    assert asha._variable_bytes(model()) == size == 240
    tuner = ASHA(_build, objective="val_loss", max_epochs=3, paused_models_bytes=2 * size, directory=str(tmp_path))
    a, b, c = model(), model(), model()
    tuner._keep("a", a, False)
    tuner._keep("b", b, True)
    assert list(tuner._kept) == ["a", "b"] and tuner._kept["b"][1] is True
    tuner._keep("c", c, False)  # over the bound: the longest kept is released
    assert list(tuner._kept) == ["b", "c"] and tuner._kept["c"][0] is c
    tuner.paused_models_bytes = size - 1  # a model over the bound is not kept
    tuner._kept.clear()
    tuner._keep("a", a, False)
    assert tuner._kept == {}


def test_bad_arguments_fail_at_construction_or_search(tmp_path):
    kwargs = dict(objective="val_loss", directory=str(tmp_path))
    for make, name in [
        (lambda: ASHA(_build, **kwargs), "max_epochs"),  # a build function has no `epochs`
        (lambda: ASHA(_build, max_epochs=0, **kwargs), "max_epochs"),
        (lambda: ASHA(_build, max_epochs=3, min_epochs=4, **kwargs), "min_epochs"),
        (lambda: ASHA(_build, max_epochs=3, reduction_factor=1, **kwargs), "reduction_factor"),
        (lambda: ASHA(_build, max_epochs=3, max_configurations=0, **kwargs), "max_configurations"),
        (lambda: ASHA(_build, max_epochs=3, max_configurations=None, **kwargs), "max_configurations"),
        (lambda: ASHA(_build, max_epochs=3, max_time=-1, **kwargs), "max_time"),
        (lambda: ASHA(_build, max_epochs=3, executions_per_trial=2, **kwargs), "executions_per_trial"),
        (lambda: ASHA(_build, max_epochs=3, paused_models_bytes=-1, **kwargs), "paused_models_bytes"),
    ]:
        with pytest.raises(ValueError, match=name):
            make()
    hypermodel = MLPHyperModel((4,), num_classes=2, epochs=5, schedules=["constant"])
    assert ASHA(hypermodel, **kwargs).oracle.max_epochs == 5  # the hypermodel's epochs
    x, y = _data()
    with pytest.raises(ValueError, match="epochs"):
        ASHA(_build, max_epochs=3, **kwargs).search(x, y, validation_split=0.25, epochs=4, verbose=0)
