"""The benchmark scripts run (tiny settings; their timings are not checked here)."""

import json
import sys
from pathlib import Path

import keras
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def benchmark_module(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name):
        sys.modules.pop(name, None)
        return __import__(name)

    return load


def test_overhead_script_writes_its_table(benchmark_module, tmp_path):
    overhead = benchmark_module("overhead")
    out = tmp_path / "overhead"
    overhead.main(["--repeats", "2", "--steps", "6", "--skip", "2", "--only", "SkipInit", "--out", str(out)])
    rows = json.loads(out.with_suffix(".json").read_text())["results"]
    assert [r["component"] for r in rows] == ["SkipInit"]
    assert rows[0]["ratio"] > 0 and rows[0]["ratio_best"] > 0
    table = out.with_suffix(".md").read_text()
    assert "| SkipInit | Identity |" in table and "best vs best" in table


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="kernels.py measures TensorFlow's XLA kernels")
def test_kernels_script_checks_and_times_every_group(benchmark_module, tmp_path):
    kernels = benchmark_module("kernels")
    out = tmp_path / "kernels"
    kernels.main(["--repeats", "1", "--calls", "1", "--out", str(out)])
    results = json.loads(out.with_suffix(".json").read_text())["results"]
    assert set(results) == {"normal", "reductions", "statistics", "optimizers"}
    assert "GradientNoise(SGD)" in results["optimizers"]
    assert all(r["min_us"] > 0 for group in results.values() for r in group.values())


def test_ablations_script_times_its_variants(benchmark_module, tmp_path):
    ablations = benchmark_module("ablations")
    out = tmp_path / "ablations"
    only = ["GradientStatistics: update", "Lookahead: inner"]
    ablations.main(["--repeats", "1", "--steps", "6", "--skip", "2", "--only", *only, "--out", str(out)])
    data = json.loads(out.with_suffix(".json").read_text())
    assert {r["component"] for r in data["results"]} == {"GradientStatistics: update statistics", "Lookahead: inner step only"}
    assert data["meta"]["command"].startswith("python benchmarks/ablations.py")


def test_gpu_script_runs_its_quick_path(benchmark_module, tmp_path):
    gpu = benchmark_module("gpu")
    out = tmp_path / "gpu"
    rows = gpu.main(["--quick", "--only", "GradientStatistics", "--out", str(out)])
    assert [r["component"] for r in rows] == ["GradientStatistics(every step, read every 100)"]
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["meta"]["backend"] == keras.backend.backend()
    assert "best vs best" in out.with_suffix(".md").read_text()
