"""Golden `.keras` files (tests/data/golden, written by tests/data/make_golden.py) still load and
compute what they computed when written; broken files give clear errors."""

import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasboost.optimizers.wrapper import optimizer_chain

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.keras"))
STEPS = [0, 3, 10, 40, 95]


def test_every_family_has_a_golden_file():
    expected = {
        "schedules",
        "layers",
        "initializers",
        "ensemble",
        "optimizer_radam",
        "optimizer_adabelief",
        "optimizer_lars",
        "optimizer_wrappers",
        "optimizer_skip_non_finite",
        "optimizer_layerwise",
        "optimizer_sam",
    }
    assert expected <= set(NAMES)


# the golden file of every layer (~14 s) loads in the slow tier; every other family's in both
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow if n == "layers" else ()) for n in NAMES])
def test_golden_file_loads_with_safe_mode_and_computes_the_same(name):
    arrays = np.load(GOLDEN / f"{name}.npz")
    model = keras.saving.load_model(GOLDEN / f"{name}.keras", safe_mode=True)
    xs = [arrays[k] for k in sorted(arrays.files) if k.startswith("x")]
    x = xs if len(xs) > 1 else xs[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), arrays["prediction"], rtol=1e-5, atol=1e-6)
    state = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    saved = [arrays[f"optimizer{i}"] for i in range(sum(k.startswith("optimizer") for k in arrays.files))]
    assert len(state) == len(saved), "the optimizer state has a different number of variables"
    for a, b in zip(state, saved):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    if "learning_rates" in arrays.files:
        schedule = optimizer_chain(model.optimizer)[-1]._learning_rate
        values = [float(keras.ops.convert_to_numpy(schedule(s))) for s in STEPS]
        np.testing.assert_allclose(values, arrays["learning_rates"], rtol=1e-6)
    y = np.zeros_like(arrays["prediction"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # training resumes from the loaded state
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_truncated_and_corrupted_files_fail_clearly(tmp_path):
    source = GOLDEN / "optimizer_radam.keras"
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(Exception, match="(?i)zip|truncat|corrupt|not a"):
        keras.saving.load_model(truncated)
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"\x00" * 1000)
    with pytest.raises(Exception, match="(?i)zip|not a|format"):
        keras.saving.load_model(garbage)


def _rewrite_config(source, target, edit):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                data = json.dumps(edit(json.loads(data))).encode()
            zout.writestr(item, data)


def test_an_unknown_kerasboost_class_is_named_in_the_error(tmp_path):
    target = tmp_path / "unknown.keras"

    def edit(config):
        text = (
            json.dumps(config)
            .replace("kerasboost>RectifiedAdam", "kerasboost>NoSuchOptimizer")
            .replace('"RectifiedAdam"', '"NoSuchOptimizer"')
        )
        return json.loads(text)

    _rewrite_config(GOLDEN / "optimizer_radam.keras", target, edit)
    with pytest.raises(Exception, match="NoSuchOptimizer"):
        keras.saving.load_model(target, safe_mode=True)


def test_a_changed_weight_file_is_detected(tmp_path):
    """Weights of the wrong shape are refused, never silently loaded."""
    target = tmp_path / "shape.keras"

    def edit(config):
        layers = config["config"]["layers"]
        for layer in layers:
            if layer["config"].get("name") == "hidden":
                layer["config"]["units"] = 9
        return config

    _rewrite_config(GOLDEN / "optimizer_radam.keras", target, edit)
    with pytest.raises(Exception, match="(?i)shape|expected"):
        keras.saving.load_model(target, safe_mode=True)
