"""The Optuna-backed search: keras-tuner's hyperparameters as Optuna distributions, storage, pruning."""

import subprocess
import sys
from pathlib import Path

import keras_tuner
import pytest

optuna = pytest.importorskip("optuna")

from kerasboost.tuning import ASHAPruner, MedianPruner, OptunaSearch, trials_dataframe  # noqa: E402
from kerasboost.tuning.optuna_search import OptunaOracle  # noqa: E402
from tests.tuning.test_pruning import _build, _data  # noqa: E402


def test_keras_tuner_hyperparameters_become_optuna_distributions():
    hps = keras_tuner.HyperParameters()
    hps.Int("layers", 1, 4)
    hps.Int("units", 8, 256, sampling="log")
    hps.Float("lr", 1e-5, 1e-1, sampling="log")
    hps.Float("dropout", 0.0, 0.5, step=0.1)
    hps.Choice("optimizer", ["adam", "sgd"])
    hps.Boolean("batch_norm")
    hps.Fixed("epochs", 3)
    with hps.conditional_scope("optimizer", ["sgd"]):
        hps.Float("momentum", 0.5, 0.99)
    oracle = OptunaOracle(objective="val_loss", max_trials=20, storage=optuna.storages.InMemoryStorage(), seed=0)
    oracle.hyperparameters = hps
    distributions = oracle.study  # created in memory
    seen = {}
    for i in range(12):
        values = oracle.populate_space(str(i))["values"]
        assert ("momentum" in values) == (values["optimizer"] == "sgd")  # conditional: asked only when active
        assert values["epochs"] == 3
        seen.update(distributions.trials[-1].distributions)
    assert seen["layers"] == optuna.distributions.IntDistribution(1, 4)
    assert seen["units"] == optuna.distributions.IntDistribution(8, 256, log=True)
    assert seen["lr"] == optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)
    assert seen["dropout"] == optuna.distributions.FloatDistribution(0.0, 0.5, step=0.1)
    assert seen["optimizer"] == optuna.distributions.CategoricalDistribution(["adam", "sgd"])
    assert seen["batch_norm"] == optuna.distributions.CategoricalDistribution([False, True])
    assert "epochs" not in seen and "momentum" in seen


def test_the_study_is_told_every_score_and_pruning_and_a_search_resumes_from_its_sqlite_file(tmp_path):
    x, y = _data()
    kwargs = dict(objective="val_loss", seed=0, directory=str(tmp_path), project_name="o")
    tuner = OptunaSearch(_build, max_trials=4, pruner=MedianPruner(min_trials=1), **kwargs)
    tuner.search(x, y, validation_split=0.25, epochs=3, batch_size=16, verbose=0)
    assert (tmp_path / "o" / "optuna.db").exists()
    study = tuner.oracle.study
    frame = trials_dataframe(tuner)
    states = [t.state for t in study.trials]
    assert len(states) == 4 and states.count(optuna.trial.TrialState.PRUNED) == int(frame["pruned"].sum()) >= 1
    for t in study.trials:  # each Optuna trial is a keras-tuner trial with its values and score
        if t.state == optuna.trial.TrialState.COMPLETE:
            kt_id = t.user_attrs["keras_tuner_trial_id"].rsplit(":", 1)[1]
            assert t.params["lr"] == tuner.oracle.trials[kt_id].hyperparameters.get("lr")
            assert t.value == pytest.approx(tuner.oracle.trials[kt_id].score)
    for t in study.trials:  # and its curve, epoch by epoch: a pruned trial's up to where it stopped
        kt = tuner.oracle.trials[t.user_attrs["keras_tuner_trial_id"].rsplit(":", 1)[1]]
        history = kt.metrics.get_history("intermediate/val_loss")
        assert t.intermediate_values == pytest.approx({o.step: o.value[0] for o in history})
        pruned_at = kt.metrics.get_last_value("pruned_at_epoch") if kt.metrics.exists("pruned_at_epoch") else 3
        assert sorted(t.intermediate_values) == list(range(1, int(pruned_at) + 1))
    # a new process (here: a new tuner) with overwrite=False goes on in the same study
    again = OptunaSearch(_build, max_trials=6, overwrite=False, **kwargs)
    again.search(x, y, validation_split=0.25, epochs=3, batch_size=16, verbose=0)
    assert len(again.oracle.study.trials) == 6 and len(again.oracle.trials) == 6


def test_the_pruner_compares_each_trial_with_the_other_processes_trials_of_the_study(tmp_path):
    x, y = _data()
    storage = optuna.storages.InMemoryStorage()
    # another process's three finished trials, far better at epoch 1 than any model here
    other = optuna.create_study(storage=storage, study_name="keras_tuner", direction="minimize")
    for _ in range(3):
        trial = other.ask()
        trial.set_user_attr("keras_tuner_trial_id", "1:elsewhere:00")
        trial.report(0.0, 1)
        other.tell(trial, 0.0)
    kwargs = dict(objective="val_loss", max_trials=2, seed=0, directory=str(tmp_path))
    # ASHA, rung at epoch 1, 2 to 1: alone, a first trial is always kept (the best 1 of 1)
    pruner = ASHAPruner(min_epochs=1, reduction_factor=2)
    alone = OptunaSearch(_build, pruner=pruner, storage=optuna.storages.InMemoryStorage(), project_name="a", **kwargs)
    shared = OptunaSearch(_build, pruner=pruner, storage=storage, project_name="b", **kwargs)
    for tuner in (alone, shared):
        tuner.search(x, y, validation_split=0.25, epochs=3, batch_size=16, verbose=0)
    assert not trials_dataframe(alone)["pruned"].iloc[0]
    # beside the study's other trials, each trial here ranks last at epoch 1 and stops there
    assert list(trials_dataframe(shared)["pruned_at_epoch"]) == [1.0, 1.0]
    mine = [t for t in shared.oracle.study.trials if t.number >= 3]
    assert [t.state for t in mine] == [optuna.trial.TrialState.PRUNED] * 2
    assert [sorted(t.intermediate_values) for t in mine] == [[1], [1]]  # reported as it trained


def test_bad_arguments_name_themselves(tmp_path):
    for kwargs, name in [
        ({"sampler": "bogus"}, "sampler"),
        ({"sampler": 3}, "sampler"),
        ({"storage": "redis://localhost"}, "storage"),
        ({"storage": "search.db"}, "storage"),
        ({"cross_validation": 1}, "cross_validation"),
    ]:
        with pytest.raises(ValueError, match=name):
            OptunaSearch(_build, objective="val_loss", directory=str(tmp_path), **kwargs)


WORKER = str(Path(__file__).with_name("optuna_worker.py"))


# the slow tier: two processes on one SQLite study (~20 s)
@pytest.mark.slow
def test_two_processes_share_one_sqlite_study_and_lose_or_repeat_no_trial(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    root = str(Path(__file__).resolve().parents[2])
    env = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": root, "PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.Popen([sys.executable, WORKER, storage, str(tmp_path), f"p{i}"], env=env, stderr=subprocess.PIPE)
        for i in range(2)
    ]
    errors = [run.communicate(timeout=300)[1].decode()[-2000:] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    study = optuna.load_study(study_name="shared", storage=storage)
    keys = [t.user_attrs["keras_tuner_trial_id"] for t in study.trials]
    # 4 trials from each process, every one complete, none lost, none told twice
    assert len(study.trials) == 8 and len(set(keys)) == 8
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert sorted(k.split(":")[1] for k in keys) == ["p0"] * 4 + ["p1"] * 4
