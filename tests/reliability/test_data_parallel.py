"""keras.distribution.DataParallel over 2 CPU devices (JAX) matches one device for every optimizer,
wrapper, deterministic layer and callback (see data_parallel_parity.py).

Not in CI (whose JAX pass runs the contract sweep only): run it with
`KERAS_BACKEND=jax python -m pytest tests/reliability/test_data_parallel.py` (about 50 s)."""

from pathlib import Path

import keras
import pytest

from tests.reliability.parity_cases import run_script

SCRIPT = str(Path(__file__).with_name("data_parallel_parity.py"))


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="keras.distribution.DataParallel is checked on JAX")
def test_data_parallel_matches_one_device(tmp_path):
    results = run_script(SCRIPT, tmp_path / "data_parallel.json", max_diff=1e-6)
    assert all(r["devices"] == 2 for r in results.values())  # the weights did live on both devices
