"""tf.distribute: MirroredStrategy over 2 logical CPU devices matches one device for every
optimizer, wrapper, layer (the deterministic ones) and callback (see mirrored_parity.py)."""

from pathlib import Path

import keras
import pytest

from tests.reliability.parity_cases import run_script

# the slow tier: a MirroredStrategy run against one device (~65 s)
pytestmark = pytest.mark.slow

SCRIPT = str(Path(__file__).with_name("mirrored_parity.py"))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute is TensorFlow's")
def test_mirrored_strategy_matches_one_device(tmp_path):
    run_script(SCRIPT, tmp_path / "mirrored.json", max_diff=1e-5)
