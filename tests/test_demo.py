"""`kerasboost demo`: the main job runs offline, prints the comparison, writes the figures."""

import argparse
import math

import numpy as np

from kerasboost import demo
from kerasboost.__main__ import main


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


def _defaults_and_recipe(out):
    """Diagnoses and best validation accuracies of a shortened demo (runs in the child)."""
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    args = parser.parse_args(["--depth", "30", "--epochs", "4", "--out", str(out)])
    data = demo.load_data("digits", 0)
    runs = [
        demo.train("keras_defaults", False, data, args, verbose=False),
        demo.train("kerasboost", True, data, args, verbose=False),
    ]
    return [(demo.diagnose(run), run.best) for run in runs]


def test_deep_relu_network_defaults_vanish_and_the_recipe_trains(tmp_path, child):
    """A shortened demo (30 layers, 4 epochs, seed 0): the diagnosis and the gap are real."""
    (defaults, defaults_best), (recipe, recipe_best) = child.call(_defaults_and_recipe, tmp_path)
    assert "vanishing gradients" in defaults and "dead units" in defaults
    assert recipe == "healthy"
    assert recipe_best > defaults_best + 0.5, (recipe_best, defaults_best)


def test_diagnose_names_layers():
    class Stats:
        alerts = [{"kind": "exploding", "layers": ["m/dense_03", "m/dense_01"]}]

    row = lambda name, dead, sat: type("Row", (), {"layer": name, "dead": dead, "saturated": sat})  # noqa: E731
    result = demo.RunResult(
        "r", {"val_accuracy": [0.5]}, Stats(), [row("d1", 0.9, math.nan), row("d2", math.nan, 0.7)], 1.0
    )
    assert demo.diagnose(result) == (
        "exploding gradients (dense_01, dense_03); dead units >= 50% in 1 layers (d1); saturated >= 50% in 1 layers "
        "(d2)"
    )


def test_data_is_standardized_and_split():
    x_train, y_train, x_val, y_val = demo.load_data("digits", 1)
    assert len(x_train) + len(x_val) == 1797 and len(x_val) == 1797 // 5
    np.testing.assert_allclose(x_train.mean(0), 0.0, atol=1e-4)
    assert set(np.unique(y_train)) == set(range(10))
