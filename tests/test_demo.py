"""`kerasboost demo`: the main job runs offline, prints the comparison, writes the figures."""

import argparse

import numpy as np
import pytest

from kerasboost.cli import demo, main


# the slow tier: the demo end to end (~30 s)
@pytest.mark.slow
def test_quick_demo_prints_the_table_and_writes_every_figure(tmp_path, child):
    assert child.call(main, ["demo", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    out = child.stdout
    rows = [line for line in out.splitlines() if line.startswith("| keras_defaults") or line.startswith("| kerasboost")]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert 0.0 <= float(cells[1]) <= float(cells[2]) <= 1.0  # final <= best
        assert cells[3] == "2"  # --quick: two epochs
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "accuracy.png",
        "activations_keras_defaults.png",
        "activations_kerasboost.png",
        "gradient_flow.png",
        "learning_rate.png",
    ]
    assert all((tmp_path / n).read_bytes()[:4] == b"\x89PNG" for n in names)


def _doctor_and_runs(out):
    """The doctor's diagnosis of the demo's 50-layer network (the `--quick` probe), and the best
    validation accuracies of both runs of a shortened demo (30 layers, 4 epochs, without XLA; seed 0;
    in the child)."""
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    data = demo.load_data("digits", 0)
    diagnosis = demo.doctor(data, parser.parse_args(["--quick"]))  # --quick: the short probe, the depth given
    args = parser.parse_args(["--depth", "30", "--epochs", "4", "--out", str(out)])
    # the doctor above runs under XLA (the demo's default); the two runs check the recipe, not XLA
    # (under XLA they took 30 s on the 2-core VM, without it 18 s; the quick demo trains under XLA)
    runs = [
        demo.train("keras_defaults", False, data, args, verbose=False, jit_compile=False),
        demo.train("kerasboost", True, data, args, verbose=False, jit_compile=False),
    ]
    first = diagnosis.findings[0]
    return first.problem, first.layers, first.fix.name, demo.table(runs, diagnosis), [run.best for run in runs]


# the slow tier: the doctor and two 4-epoch runs of a 30-layer network (~60 s)
@pytest.mark.slow
def test_deep_relu_network_defaults_are_diagnosed_and_the_recipe_trains(tmp_path, child):
    """The doctor names the vanishing gradients of the demo's keras-defaults network and the
    re-initialization the recipe applies; the recipe's run beats the defaults' by a wide margin."""
    problem, layers, fix, text, (defaults_best, recipe_best) = child.call(_doctor_and_runs, tmp_path)
    assert problem == "vanishing_gradients" and fix == "reinitialize", (problem, layers, fix)
    assert layers[0] == "dense_00" and set(layers) <= {f"dense_{i:02d}" for i in range(50)}
    row = next(line for line in text.splitlines() if line.startswith("| keras_defaults"))
    assert "| vanishing_gradients (dense_00 .. " in row
    assert recipe_best > defaults_best + 0.5, (recipe_best, defaults_best)


def test_summary_names_layers_and_spans_long_lists():
    finding = lambda problem, layers: type("Finding", (), {"problem": problem, "layers": layers})  # noqa: E731
    diagnosis = type("Diagnosis", (), {})()
    diagnosis.findings = [
        finding("vanishing_gradients", [f"dense_{i:02d}" for i in range(5)]),
        finding("dead_units", ["d1", "d2"]),
        finding("overfitting", []),
    ]
    assert demo.summary(diagnosis) == "vanishing_gradients (dense_00 .. dense_04); dead_units (d1, d2); overfitting"


def test_data_is_standardized_and_split():
    x_train, y_train, x_val, y_val = demo.load_data("digits", 1)
    assert len(x_train) + len(x_val) == 1797 and len(x_val) == 1797 // 5
    np.testing.assert_allclose(x_train.mean(0), 0.0, atol=1e-4)
    assert set(np.unique(y_train)) == set(range(10))
