"""keras-tuner's chief/worker mode with real processes, launched by `run_distributed_search`."""

import os
import sys
from collections import Counter
from pathlib import Path

import keras_tuner
import pytest

from kerasboost.tuning import run_distributed_search, trials_dataframe
from kerasboost.tuning.distributed import DistributedSearchError

SCRIPT = str(Path(__file__).with_name("distributed_search.py"))
# the processes run on the JAX backend: it imports in a fraction of TensorFlow's time
ENV = {
    "KERAS_BACKEND": "jax",
    "JAX_PLATFORMS": "cpu",
    "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
    "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
}


# the slow tier: a chief and two workers (~60 s)
@pytest.mark.slow
def test_asha_pruning_across_a_chief_and_two_workers_loses_no_trial(tmp_path):
    run = run_distributed_search(
        [sys.executable, SCRIPT, "asha", str(tmp_path)],
        num_workers=2,
        timeout=420,
        chief_grace=60,
        log_dir=str(tmp_path / "logs"),
        env=ENV,
    )
    assert run.returncodes == {"chief": 0, "tuner0": 0, "tuner1": 0}
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=6)
    oracle._set_project_dir(str(tmp_path), "search")
    oracle.reload()
    frame = trials_dataframe(oracle)
    ran = [name for name in os.listdir(tmp_path) if name.startswith("ran-")]
    # every trial ran once and ended (none lost, none run twice), and the chief pruned some
    assert len(frame) == 6 == len(ran) and set(frame["status"]) == {"COMPLETED"}, frame
    assert frame["pruned"].any() and not frame["pruned"].all()
    assert set(frame.loc[frame["pruned"], "pruned_at_epoch"]) <= {1, 2}  # the rungs below 4 epochs


# The orchestration does not depend on the oracle: ASHA with paused trials is the demanding case
# (the chief hands out promotions, workers wait on it, and a worker resumes a configuration from
# the state another wrote), as keras-tuner's Hyperband was before it (its brackets, the same
# `tuner/trial_id` resumptions). A random search over one worker runs in the distributed_tuner
# example's smoke test (tests/test_examples.py), and every tuner kind runs a search in-process
# with the hypermodels (tests/tuning/test_hypermodels.py).
# the slow tier: a chief and two workers (~30 s)
@pytest.mark.slow
def test_asha_with_paused_trials_across_a_chief_and_two_workers_resumes_every_promotion(tmp_path):
    run = run_distributed_search(
        [sys.executable, SCRIPT, "asha-paused", str(tmp_path)],
        num_workers=2,
        timeout=420,
        chief_grace=60,
        log_dir=str(tmp_path / "logs"),
        env=ENV,
    )
    assert run.returncodes == {"chief": 0, "tuner0": 0, "tuner1": 0}
    frame = _reloaded(tmp_path, None).set_index("trial_id")
    ran = [name for name in os.listdir(tmp_path) if name.startswith("ran-")]
    workers = {name.split("-")[1] for name in ran}
    assert workers == {"tuner0", "tuner1"}, f"each worker runs a stretch, the chief none: {sorted(ran)}"
    # every stretch ran once and ended; 4 configurations, rungs 1, 2, 4 epochs
    assert len(frame) == len(ran) and set(frame["status"]) == {"COMPLETED"}, frame
    assert (frame["initial_epoch"] == 0).sum() == 4 and (frame["epochs"] == 4).sum() >= 1
    resumed = frame[frame["initial_epoch"] > 0]
    assert len(resumed) >= 2 and resumed["resumed_from"].is_unique
    for _, row in resumed.iterrows():  # each resumed where its predecessor paused, with its values
        before = frame.loc[row["resumed_from"]]
        assert before["epochs"] == row["initial_epoch"]
        assert list(before.filter(like="hp/").astype(str)) == list(row.filter(like="hp/").astype(str))
    # a paused state stays while its configuration may resume, wherever a worker wrote it
    parents = set(resumed["resumed_from"])
    for trial_id, row in frame.iterrows():
        paused = os.path.exists(tmp_path / "search" / f"trial_{trial_id}" / "paused.weights.h5")
        assert paused == (trial_id not in parents and row["epochs"] < 4), trial_id


def _reloaded(directory, max_trials):
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=max_trials)
    oracle._set_project_dir(str(directory), "search")
    oracle.reload()
    return trials_dataframe(oracle)


def _markers(directory):
    """(worker, trial) of each time a trial started, from the script's marker files."""
    return [tuple(name.split("-")[i] for i in (1, 4)) for name in os.listdir(directory) if name.startswith("ran-")]


# the slow tier: a chief and two workers, one killed once (~50 s)
@pytest.mark.slow
def test_a_worker_killed_mid_trial_comes_back_and_runs_its_trial_again(tmp_path):
    run = run_distributed_search(
        [sys.executable, SCRIPT, "random4", str(tmp_path), "--kill-once"],
        num_workers=2,
        timeout=420,
        chief_grace=60,
        log_dir=str(tmp_path / "logs"),
        env=ENV,
    )
    assert (tmp_path / "killed").exists() and run.restarts == {"tuner0": 0, "tuner1": 1}
    assert run.returncodes == {"chief": 0, "tuner0": 0, "tuner1": 0}
    frame = _reloaded(tmp_path, 4)
    assert len(frame) == 4 and set(frame["status"]) == {"COMPLETED"}, frame
    started = _markers(tmp_path)
    # 4 trials, one started twice - by tuner1, first killed then restarted: no trial lost or added
    assert len(started) == 5 and len({t for _, t in started}) == 4
    [(again, count)] = [(t, n) for t, n in Counter(t for _, t in started).items() if n == 2]
    assert [w for w, t in started if t == again] == ["tuner1", "tuner1"]


# the slow tier: a chief and two workers, one killed for good (~50 s)
@pytest.mark.slow
def test_a_worker_that_stays_down_loses_only_its_trial(tmp_path):
    with pytest.raises(DistributedSearchError, match=r"\['tuner1'\].*stayed down"):
        run_distributed_search(
            [sys.executable, SCRIPT, "random4", str(tmp_path), "--kill-once"],
            num_workers=2,
            timeout=420,
            chief_grace=2,
            log_dir=str(tmp_path / "logs"),
            env=ENV,
            max_restarts=0,
        )
    frame = _reloaded(tmp_path, 4)
    started = _markers(tmp_path)
    # tuner0 ran the other three trials to the end; the killed one is left RUNNING, not retried
    assert len(frame) == 4 and sorted(frame["status"]) == ["COMPLETED"] * 3 + ["RUNNING"], frame
    assert len(started) == 4 and sorted(w for w, _ in started) == ["tuner0"] * 3 + ["tuner1"]


# the slow tier: a chief and a worker process (~30 s); one worker whose every trial fails is
# the case: the chief would otherwise wait for it forever
@pytest.mark.slow
def test_a_search_whose_every_trial_fails_ends_with_a_clear_error(tmp_path):
    with pytest.raises(DistributedSearchError, match="exited|still waiting") as info:
        run_distributed_search(
            [sys.executable, SCRIPT, "random", str(tmp_path), "--fail"],
            num_workers=1,
            timeout=300,
            chief_grace=30,
            log_dir=str(tmp_path / "logs"),
            env=ENV,
        )
    assert "consecutive failures" in str(info.value) or "planted failure" in str(info.value)


def test_bad_arguments():
    for kwargs, name in [
        ({"command": "python x.py"}, "command"),
        ({"num_workers": 0}, "num_workers"),
        ({"timeout": -1}, "timeout"),
        ({"port": 70000}, "port"),
        ({"max_restarts": -1}, "max_restarts"),
    ]:
        args = {"command": [sys.executable, "-c", "pass"], "num_workers": 1, **kwargs}
        with pytest.raises(ValueError, match=name):
            run_distributed_search(**args)
