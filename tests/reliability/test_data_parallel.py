"""keras.distribution.DataParallel over 2 CPU devices (JAX) matches one device for every optimizer,
wrapper, deterministic layer and callback (see data_parallel_parity.py).

Not in CI (whose JAX pass runs the contract sweep only): run it with
`KERAS_BACKEND=jax python -m pytest tests/reliability/test_data_parallel.py` (about 50 s)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

SCRIPT = str(Path(__file__).with_name("data_parallel_parity.py"))


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="keras.distribution.DataParallel is checked on JAX")
def test_data_parallel_matches_one_device(tmp_path):
    out = tmp_path / "data_parallel.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, SCRIPT, str(out)], env=env, capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    results = json.loads(out.read_text())
    errors = {name: r["error"] for name, r in results.items() if "error" in r}
    assert not errors, errors
    assert all(r["devices"] == 2 for r in results.values())  # the weights did live on both devices
    # weights after an epoch (4 steps), the loss and the recorded gradient norms
    far = {name: r["max_diff"] for name, r in results.items() if not r["max_diff"] <= 1e-6}
    assert not far, far
    assert results["GradientStatistics"]["records"] == 4
    assert len(results) >= 23
