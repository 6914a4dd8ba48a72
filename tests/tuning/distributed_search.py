"""One process of a distributed keras-tuner search (run by tests/tuning/test_distributed.py).

Usage: python distributed_search.py TUNER DIRECTORY [--fail]
keras-tuner reads KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras_tuner
import numpy as np
from sklearn.datasets import load_digits

import kerasboost

TUNERS = {
    "random": lambda hm, **kw: keras_tuner.RandomSearch(hm, max_trials=3, **kw),
    "grid": lambda hm, **kw: keras_tuner.GridSearch(hm, max_trials=3, **kw),
    "bayesian": lambda hm, **kw: keras_tuner.BayesianOptimization(hm, max_trials=3, num_initial_points=2, **kw),
    "hyperband": lambda hm, **kw: keras_tuner.Hyperband(hm, max_epochs=2, factor=2, hyperband_iterations=1, **kw),
    # kerasboost's pruning: the chief takes the decisions from both workers' epoch reports
    "asha": lambda hm, **kw: kerasboost.tuning.RandomSearch(
        hm, max_trials=6, pruner=kerasboost.tuning.ASHAPruner(min_epochs=1, reduction_factor=2), **kw
    ),
}


class Recorded(kerasboost.tuning.MLPHyperModel):
    """Marks which process ran each trial; with --fail every trial fails."""

    def __init__(self, directory, fail, **kwargs):
        super().__init__(**kwargs)
        self.directory, self.fail = directory, fail

    def fit(self, hp, model, *args, **kwargs):
        worker = os.environ.get("KERASTUNER_TUNER_ID", "local")
        with open(os.path.join(self.directory, f"ran-{worker}-{os.getpid()}-{np.random.randint(1 << 30)}"), "w"):
            pass
        if self.fail:
            raise keras_tuner.errors.FailedTrialError("planted failure")
        return super().fit(hp, model, *args, **kwargs)


def main(kind, directory, fail=False):
    x, y = load_digits(return_X_y=True)
    x = (x[:400] / 16.0).astype("float32")
    y = y[:400]
    hypermodel = Recorded(
        directory,
        fail,
        input_shape=(64,),
        num_classes=10,
        max_layers=2,
        units=[16, 32],
        activations=["relu", "tanh"],
        normalizations=["none"],
        optimizers=["adam", "sgd"],
        schedules=["constant"],
        batch_sizes=[64],
        epochs=4 if kind == "asha" else 1,
    )
    tuner = TUNERS[kind](hypermodel, objective="val_accuracy", directory=directory, project_name="search", seed=1)
    tuner.search(x[:300], y[:300], validation_data=(x[300:], y[300:]), verbose=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], fail="--fail" in sys.argv)
