"""tf.distribute: MirroredStrategy over 2 logical CPU devices matches one device for every
optimizer, wrapper, layer (the deterministic ones) and callback (see mirrored_parity.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

SCRIPT = str(Path(__file__).with_name("mirrored_parity.py"))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute is TensorFlow's")
def test_mirrored_strategy_matches_one_device(tmp_path):
    out = tmp_path / "mirrored.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, SCRIPT, str(out)], env=env, capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    results = json.loads(out.read_text())
    errors = {name: r["error"] for name, r in results.items() if "error" in r}
    assert not errors, errors
    # weights after an epoch (4 steps), the loss and the recorded gradient norms
    far = {name: r["max_diff"] for name, r in results.items() if not r["max_diff"] <= 1e-5}
    assert not far, far
    assert results["GradientStatistics"]["records"] == 4  # one epoch of 4 steps
    assert len(results) >= 23
