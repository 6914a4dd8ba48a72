"""benchmarks/tuning_replay.py: the searches it replays, on curves small enough to follow by hand."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import tuning_replay

from kerasboost import tuning

# three trials of three epochs; B is the best (0.9), the target 0.895
A, B, C = [0.1, 0.2, 0.3], [0.5, 0.8, 0.9], [0.4, 0.45, 0.5]
CURVES, TARGET = [A, B, C], 0.895


def test_random_search_trains_every_trial_to_the_end():
    assert tuning_replay.stop(CURVES, [0, 1, 2], None, TARGET) == (6, 9)  # A's 3 epochs, then B's third
    assert tuning_replay.stop(CURVES, [2, 0, 1], None, TARGET) == (9, 9)
    assert tuning_replay.stop(CURVES, [0, 2], None, TARGET) == (None, 6)  # B not drawn: never reached


def test_asha_stops_the_trials_behind_the_best_at_its_first_rung():
    pruner = tuning.ASHAPruner(min_epochs=1, reduction_factor=3)
    # B first (alone at every rung: goes on), then C (0.4 < 0.5) and A (0.1) stop after epoch 1
    assert tuning_replay.stop(CURVES, [1, 2, 0], pruner, TARGET) == (3, 5)
    # A first, then C leads at epoch 1 and at the rung of epoch 3, then B leads: nothing stops
    assert tuning_replay.stop(CURVES, [0, 2, 1], pruner, TARGET) == (9, 9)


def test_asha_as_written_pauses_trials_and_resumes_the_top_third():
    # A, C and B each run epoch 1 (a rung of 1 or 2 trials promotes none); then the top third of
    # the three (B, 0.5) resumes for epochs 2-3 and reaches 0.9 at the 5th epoch run in all
    assert tuning_replay.promote(CURVES, [0, 2, 1], TARGET, first_rung=1) == (5, 5)
    # with B at epoch 1 behind two others, it never resumes: only the top third (0.7) goes on
    assert tuning_replay.promote([B, [0.6] * 3, [0.7] * 3], [0, 1, 2], TARGET, first_rung=1) == (None, 5)
    # two trials: no rung holds 3, but once the order has run out the best of a rung goes on
    assert tuning_replay.promote([A, B], [0, 1], TARGET, first_rung=1) == (4, 4)


def test_the_oracle_is_a_bound_no_search_beats():
    assert tuning_replay.oracle(CURVES, [2, 0, 1], TARGET) == (5, 5)  # C and A one epoch each, B three
    assert tuning_replay.oracle(CURVES, [0, 2], TARGET) == (None, 2)


def _runs(path, curves_by_seed):
    runs = {}
    for seed, curves in curves_by_seed.items():
        flat = [v for c in curves for v in c]
        runs[f"digits|{seed}|RandomSearch"] = {"accuracies": flat, "trials": len(curves), "times": [], "seconds": 0}
    path.write_text(json.dumps({"runs": runs}))
    return path


def test_the_table_pairs_every_search_with_random_search_on_the_same_orders(tmp_path):
    curves = [A, B, C, [0.3, 0.31, 0.32], [0.2, 0.6, 0.7], [0.45, 0.5, 0.55]]
    runs = _runs(tmp_path / "runs.json", {0: curves, 1: curves[::-1], 2: curves[1:] + curves[:1]})
    out = tmp_path / "replay"
    rows = tuning_replay.main(
        ["--runs", str(runs), "--epochs", "3", "--trials", "6", "--orders", "50", "--draws", "50", "--out", str(out)]
    )
    by = {r["search"]: r for r in rows}
    assert list(by) == list(tuning_replay.SEARCHES)
    assert by["RandomSearch"]["reached"] == 1.0 and by["RandomSearch"]["ratio_to_random_search"] == 1.0
    assert by["RandomSearch"]["epochs_in_all"] == 18 and by["RandomSearch"]["target_met"] == 0.0
    bound = by["oracle (stops at epoch 1 every trial but the first near the best)"]
    assert bound["reached"] == 1.0 and all(bound["epochs_to_reach"] <= r["epochs_to_reach"] for r in rows)
    assert all(0.0 <= r["target_met"] <= 1.0 and r["epochs_in_all"] <= 18 for r in rows)
    assert json.loads(out.with_suffix(".json").read_text())["pool_best"] == {
        "digits|0": 0.9,
        "digits|1": 0.9,
        "digits|2": 0.9,
    }
    assert out.with_suffix(".md").read_text().count("| digits |") == len(tuning_replay.SEARCHES)


def test_a_search_that_stopped_trials_cannot_be_replayed(tmp_path):
    runs = _runs(tmp_path / "runs.json", {0: [A, B, C[:2]]})
    with pytest.raises(ValueError, match="3 trials x 3 epochs is 9 epochs, its record has 8"):
        tuning_replay.main(["--runs", str(runs), "--epochs", "3", "--out", str(tmp_path / "x")])


def test_the_replay_repeats_a_live_search_that_trained_the_same_trials():
    # benchmarks/results/tuning_xla_at_once.json: on mnist1d seed 0, RandomSearch + ASHA with XLA
    # from the first epoch drew RandomSearch's first 12 configurations and trained them with the
    # same numbers; the replay of RandomSearch's curves in that order must stop the same trials
    # after the same epochs, and what the live search recorded must be those curves' prefixes
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "tuning_xla_at_once.json"
    runs = json.loads(path.read_text())["runs"]
    curves = tuning_replay.curves_of(runs["mnist1d|0|RandomSearch"], 12)
    live = runs["mnist1d|0|RandomSearch + ASHA (XLA at once)"]
    pruner, done, recorded = tuning.ASHAPruner(min_epochs=1, reduction_factor=3), [], live["accuracies"]
    for curve, trial in zip(curves, live["trial_table"]):
        ran = tuning_replay.one_trial(curve, pruner, done)
        assert len(ran) == (trial["pruned_at_epoch"] or 12), trial["trial_id"]
        assert recorded[: len(ran)] == ran, trial["trial_id"]
        recorded = recorded[len(ran) :]
        done.append(tuning_replay.best_so_far(ran, 1.0))
    assert [len(d) for d in done] == [12] + [1] * 11  # trial 00 ran to the end, 01-11 stopped at epoch 1


def test_a_configuration_two_searches_trained_enters_the_pool_once(tmp_path):
    # keras-tuner's BayesianOptimization draws its first trials at random from the search's seed,
    # so within 12 trials it trains RandomSearch's configurations: a pool of both is not 24
    def table(*configurations):
        return [
            {"trial_id": f"{i:02d}", "hp/units": u, "hp/learning_rate": r} for i, (u, r) in enumerate(configurations)
        ]

    runs = {
        "digits|0|RandomSearch": {"accuracies": A + B, "trials": 2, "trial_table": table((8, 0.1), (16, 0.01))},
        # B's configuration again with other numbers (another path), then a new one (C)
        "digits|0|BayesianOptimization": {
            "accuracies": [0.5, 0.8, 0.88] + C,
            "trials": 2,
            "trial_table": table((16, 0.01), (32, 0.001)),
        },
        # no trial table: a repeat is the same curve
        "digits|0|Hyperband": {"accuracies": A + [0.3, 0.3, 0.3], "trials": 2},
    }
    keys = ["digits|0|RandomSearch", "digits|0|BayesianOptimization", "digits|0|Hyperband"]
    assert tuning_replay.pool_of(runs, keys[:2], 3) == ([A, B, C], 1)
    assert tuning_replay.pool_of(runs, keys, 3) == ([A, B, C, [0.3, 0.3, 0.3]], 2)
    # two configurations that trained the same curve (stuck at chance, say) are two trials
    stuck = {"digits|0|RandomSearch": {"accuracies": [0.1] * 6, "trials": 2, "trial_table": table((8, 1.0), (16, 2.0))}}
    assert tuning_replay.pool_of(stuck, ["digits|0|RandomSearch"], 3) == ([[0.1] * 3] * 2, 0)
    path = tmp_path / "runs.json"
    path.write_text(json.dumps({"runs": runs}))
    out = tmp_path / "replay"
    argv = ["--runs", str(path), "--epochs", "3", "--trials", "2", "--orders", "5", "--draws", "5", "--out", str(out)]
    tuning_replay.main([*argv, "--pool", "RandomSearch", "BayesianOptimization"])
    written = json.loads(out.with_suffix(".json").read_text())
    assert written["pool_sizes"] == {"digits|0": 3} and written["repeats_left_out"] == {"digits|0": 1}
    assert "a pool of 3 per data set and seed; 1 trials that repeated" in out.with_suffix(".md").read_text()
    with pytest.raises(ValueError, match="RandomSearch takes 1 to 3 of the pool's trials .* 1 repeated"):
        tuning_replay.main([*argv, "--trials", "4", "--pool", "RandomSearch", "BayesianOptimization"])


def test_asha_with_other_reduction_factors(tmp_path):
    # reduction factor 2 (rungs at epochs 1, 2 and the end): A and C run epoch 1, the top half
    # of the two (C) resumes for epoch 2; B runs epoch 1, the order has run out, so each rung's
    # best goes on, the highest rung first: C for epoch 3, then B (rung 1's best) for epoch 2,
    # and B, now leading the rung of epoch 2, for epoch 3: 0.9 at the 7th epoch run in all
    assert tuning_replay.promote(CURVES, [0, 2, 1], TARGET, first_rung=1, reduction_factor=2) == (7, 7)
    runs = _runs(tmp_path / "runs.json", {0: [A, B, C]})
    argv = ["--runs", str(runs), "--epochs", "3", "--trials", "3", "--orders", "5", "--draws", "5"]
    rows = tuning_replay.main([*argv, "--reduction-factors", "2", "3", "--out", str(tmp_path / "r")])
    names = [r["search"] for r in rows]
    assert names == list(tuning_replay.searches((2, 3))) and len(names) == len(tuning_replay.SEARCHES) + 6
    assert "ASHA, paused trials resumed (first rung 1, reduction factor 2)" in names
    assert "ASHA, paused trials resumed (first rung 1)" in names  # 3: the default's names
    with pytest.raises(ValueError, match="--reduction-factors \\[1\\]: each must be at least 2"):
        tuning_replay.main([*argv, "--reduction-factors", "1", "--out", str(tmp_path / "x")])
