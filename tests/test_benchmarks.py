"""The benchmark scripts run (tiny settings; their timings are not checked here)."""

import importlib
import json
import sys
from pathlib import Path

import keras
import pytest

# the slow tier: each benchmark script end to end in a child process (10-30 s each)
pytestmark = pytest.mark.slow

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _main(name, argv):
    """`main(argv)` of the script `benchmarks/<name>.py` (run in the child process)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name).main(argv)


def test_overhead_script_writes_its_table(tmp_path, child):
    out = tmp_path / "overhead"
    child.call(
        _main, "overhead", ["--repeats", "2", "--steps", "6", "--skip", "2", "--only", "SkipInit", "--out", str(out)]
    )
    rows = json.loads(out.with_suffix(".json").read_text())["results"]
    assert [r["component"] for r in rows] == ["SkipInit"]
    assert rows[0]["ratio"] > 0 and rows[0]["ratio_best"] > 0
    table = out.with_suffix(".md").read_text()
    assert "| SkipInit | Identity |" in table and "best vs best" in table


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="kernels.py measures TensorFlow's XLA kernels")
def test_kernels_script_checks_and_times_every_group(tmp_path, child):
    out = tmp_path / "kernels"
    child.call(_main, "kernels", ["--repeats", "1", "--calls", "1", "--out", str(out)])
    results = json.loads(out.with_suffix(".json").read_text())["results"]
    assert set(results) == {"normal", "reductions", "statistics", "optimizers"}
    assert "GradientNoise(SGD)" in results["optimizers"]
    assert all(r["min_us"] > 0 for group in results.values() for r in group.values())


def test_ablations_script_times_its_variants(tmp_path, child):
    out = tmp_path / "ablations"
    only = ["GradientStatistics: update", "Lookahead: inner"]
    child.call(
        _main, "ablations", ["--repeats", "1", "--steps", "6", "--skip", "2", "--only", *only, "--out", str(out)]
    )
    data = json.loads(out.with_suffix(".json").read_text())
    assert {r["component"] for r in data["results"]} == {
        "GradientStatistics: update statistics",
        "Lookahead: inner step only",
    }
    assert data["meta"]["command"].startswith("python benchmarks/ablations.py")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="--direct times TensorFlow's compiled train step")
def test_ablations_direct_mode_times_compiled_steps(tmp_path, child):
    out = tmp_path / "direct"
    rows = child.call(
        _main,
        "ablations",
        ["--direct", "--repeats", "1", "--calls", "2", "--only", "A/A", "no maximum", "--out", str(out)],
    )
    assert [r["component"] for r in rows] == [
        "A/A control (no callback on either side)",
        "GradientStatistics: no maximum",
    ]
    assert all(r["baseline_us"] > 0 and r["component_us"] > 0 for r in rows)
    raw = json.loads(out.with_suffix(".json").read_text())["raw_seconds_per_step"]
    assert set(raw) == {"baseline", *(r["component"] for r in rows)} and all(len(v) == 1 for v in raw.values())


def test_gpu_script_runs_its_quick_path(tmp_path, child):
    out = tmp_path / "gpu"
    rows = child.call(_main, "gpu", ["--quick", "--only", "GradientStatistics", "--out", str(out)])
    assert [r["component"] for r in rows] == ["GradientStatistics(every step, read every 100)"]
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["meta"]["backend"] == keras.backend.backend()
    assert "best vs best" in out.with_suffix(".md").read_text()


def test_compile_script_measures_each_configuration_in_its_own_process(tmp_path, child):
    out = tmp_path / "compile"
    backend = keras.backend.backend()
    child.call(
        _main,
        "compile",
        [
            "--depths",
            "2",
            "--backends",
            backend,
            "--samples",
            "64",
            "--only",
            "GradientStatistics()",
            "--out",
            str(out),
        ],
    )
    data = json.loads(out.with_suffix(".json").read_text())
    rows = {r["component"]: r for r in data["results"]}
    assert set(rows) == {"baseline (plain Keras, Adam)", "GradientStatistics()"}
    stats = rows["GradientStatistics()"]
    assert stats["backend"] == backend and stats["depth"] == 2 and stats["variables"] == 6
    assert stats["first_fit_s"] > stats["second_fit_s"] > 0  # the second fit compiles nothing
    assert stats["first_ratio"] == stats["first_fit_s"] / stats["baseline_first_s"]
    assert "| GradientStatistics() | " + backend + " | 2 |" in out.with_suffix(".md").read_text()


def test_compile_script_repeats_report_medians_of_back_to_back_pairs(monkeypatch):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    compile_script = importlib.import_module("compile")
    calls = []
    # three pairs: baseline 2, 4, 3 s; component 3, 4, 9 s -> ratios 1.5, 1.0, 3.0
    firsts = iter([2.0, 3.0, 4.0, 4.0, 3.0, 9.0])

    def fake_run_one(name, depth, backend, samples, timeout):
        calls.append(name)
        return {"first_fit_s": next(firsts), "second_fit_s": 0.1 * len(calls), "variables": 6}

    monkeypatch.setattr(compile_script, "run_one", fake_run_one)
    args = compile_script.argparse.Namespace(repeats=3, samples=64, timeout=10)
    row = compile_script.paired("SkipInit", "baseline (plain Keras, Adam)", 2, "jax", args)
    assert calls == ["baseline (plain Keras, Adam)", "SkipInit"] * 3  # back to back, baseline first
    assert row["first_ratio"] == 1.5 and row["ratio_range"] == [1.0, 3.0]
    assert row["first_fit_s"] == 4.0 and row["baseline_first_s"] == 3.0
    assert abs(row["second_extra_s"] - 0.1) < 1e-12  # each component ran right after its baseline


def test_doctor_script_scores_the_findings_and_the_fixes(tmp_path, child):
    out = tmp_path / "doctor"
    child.call(_main, "doctor", ["--seeds", "0", "--only", "nan_in_inputs", "--steps", "64", "--out", str(out)])
    data = json.loads(out.with_suffix(".json").read_text())
    (row,) = data["results"]
    assert row["case"] == "nan_in_inputs" and row["planted"] == ["nonfinite"]
    assert data["summary"]["recall"] == float(row["found"][0] == "nonfinite")
    assert all({"fix", "val_loss_before", "val_loss_after", "improved"} <= set(t) for t in row["trials"])
    assert "| nan_in_inputs | 0 | nonfinite |" in out.with_suffix(".md").read_text()


def test_doctor_time_script_times_diagnose_in_fresh_processes(tmp_path, child):
    out = tmp_path / "doctor_time"
    rows = child.call(_main, "doctor_time", ["--repeats", "1", "--only", "relu_output_mlp", "--out", str(out)])
    (row,) = rows
    assert row["case"] == "relu_output_mlp" and row["problems"][0] == "output_loss_mismatch"
    assert row["fixes_tried"] == 1 and 0 < row["median_seconds"] < row["median_process"]
    assert "| relu_output_mlp |" in out.with_suffix(".md").read_text()


def test_tuning_script_records_every_epoch_of_every_search(tmp_path, child):
    out = tmp_path / "tuning"
    rows = child.call(_main, "tuning", ["--quick", "--out", str(out)])
    data = json.loads(out.with_suffix(".json").read_text())
    assert {r["method"] for r in rows} == {"RandomSearch", "BayesianOptimization", "RandomSearch + median"}
    for key, run in data["runs"].items():
        assert len(run["times"]) == len(run["accuracies"]) >= 2, key  # 2 trials of up to 2 epochs
        assert run["times"] == sorted(run["times"])
    best = rows[0]["best_any"]
    assert all(r["final_best"] <= best for r in rows) and any(r["final_best"] == best for r in rows)
    assert out.with_suffix(".md").read_text().count("| digits |") == 3
    assert all(r["trials"] == 2 for r in rows)
    # --resume keeps the searches already written and runs none of them again (each search runs in
    # a fresh process: a second run would record other times)
    again = child.call(_main, "tuning", ["--quick", "--resume", "--out", str(out)])
    assert again == rows
    assert json.loads(out.with_suffix(".json").read_text())["runs"] == data["runs"]
