"""What `import kerasboost` loads: everything a saved model needs, not keras-tuner."""

import os
import subprocess
import sys

PROBE = """
import sys
import kerasboost
print("keras_tuner" in sys.modules, "kerasboost.tuning" in sys.modules)
print(kerasboost.tuning.MLPHyperModel.__name__)
from kerasboost.tuning import ConvNetHyperModel
print("keras_tuner" in sys.modules, ConvNetHyperModel.__name__, "tuning" in dir(kerasboost))
"""


def test_import_kerasboost_leaves_keras_tuner_until_tuning_is_used():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["False", "False", "MLPHyperModel", "True", "ConvNetHyperModel", "True"]


HEAVY = ("keras_tuner", "tensorboard", "matplotlib", "pandas", "sklearn", "scipy", "mnist1d", "optax", "torch")

ADDED = f"""
import sys
import keras
before = {{name.split(".")[0] for name in sys.modules}}
import kerasboost
added = {{name.split(".")[0] for name in sys.modules}} - before
print(sorted(added & set({HEAVY!r})))
"""


def test_import_kerasboost_adds_no_heavy_dependency_to_what_keras_loads():
    """Keras itself may load matplotlib, pandas or scikit-learn when they are installed;
    `import kerasboost` adds none of the heavy optional packages on top of `import keras`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", ADDED], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split()[-1] == "[]", run.stdout
