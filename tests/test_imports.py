"""What `import kerasboost` loads: everything a saved model needs, not keras-tuner."""

import os
import subprocess
import sys

import pytest

HEAVY = ("keras_tuner", "tensorboard", "matplotlib", "pandas", "sklearn", "scipy", "mnist1d", "optax", "torch")

# One fresh process answers both tests (a Python that imports TensorFlow costs 5-10 s): what
# `import kerasboost` adds to what `import keras` loaded, then whether keras-tuner waits for
# the first use of `kerasboost.tuning`.
PROBE = f"""
import sys
import keras
before = {{name.split(".")[0] for name in sys.modules}}
import kerasboost
added = {{name.split(".")[0] for name in sys.modules}} - before
print("added", sorted(added & set({HEAVY!r})))
print("tuner", "keras_tuner" in sys.modules, "kerasboost.tuning" in sys.modules)
print("tuner", kerasboost.tuning.MLPHyperModel.__name__)
from kerasboost.tuning import ConvNetHyperModel
print("tuner", "keras_tuner" in sys.modules, ConvNetHyperModel.__name__, "tuning" in dir(kerasboost))
"""


@pytest.fixture(scope="module")
def probe():
    """{"added": [...], "tuner": [...]}: the words the fresh process printed after each label."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = {"added": [], "tuner": []}
    for line in run.stdout.splitlines():
        label, _, rest = line.partition(" ")
        if label in lines:
            lines[label].append(rest)
    return lines


def test_import_kerasboost_leaves_keras_tuner_until_tuning_is_used(probe):
    words = " ".join(probe["tuner"]).split()
    assert words == ["False", "False", "MLPHyperModel", "True", "ConvNetHyperModel", "True"]


def test_import_kerasboost_adds_no_heavy_dependency_to_what_keras_loads(probe):
    """Keras itself may load matplotlib, pandas or scikit-learn when they are installed;
    `import kerasboost` adds none of the heavy optional packages on top of `import keras`."""
    assert probe["added"] == ["[]"], probe
