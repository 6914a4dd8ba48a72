"""One process of a distributed keras-tuner search (run by tests/tuning/test_distributed.py).

Usage: python distributed_search.py TUNER DIRECTORY [--fail] [--kill-once]
keras-tuner reads KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT.
With --kill-once, worker tuner1 kills itself (SIGKILL) at the end of the first epoch of its first trial.
"""

import json
import os
import signal
import sys
import zlib

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import keras_tuner
import numpy as np
from sklearn.datasets import load_digits

import kerasboost

TUNERS = {
    "random": lambda hm, **kw: keras_tuner.RandomSearch(hm, max_trials=3, **kw),
    "grid": lambda hm, **kw: keras_tuner.GridSearch(hm, max_trials=3, **kw),
    "bayesian": lambda hm, **kw: keras_tuner.BayesianOptimization(hm, max_trials=3, num_initial_points=2, **kw),
    # kerasboost's ASHA: the chief hands out promotions, a worker resumes what another paused
    "asha-paused": lambda hm, **kw: kerasboost.tuning.ASHA(hm, reduction_factor=2, max_configurations=4, **kw),
    "random4": lambda hm, **kw: keras_tuner.RandomSearch(hm, max_trials=4, **kw),
    # kerasboost's pruning: the chief takes the decisions from both workers' epoch reports
    "asha": lambda hm, **kw: kerasboost.tuning.RandomSearch(
        hm, max_trials=6, pruner=kerasboost.tuning.ASHAPruner(min_epochs=1, reduction_factor=2), **kw
    ),
}


class Killed(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        os.kill(os.getpid(), signal.SIGKILL)


class Recorded(kerasboost.tuning.MLPHyperModel):
    """Marks which process ran each trial (and the trial, by its hyperparameters); with --fail
    every trial fails; with --kill-once tuner1 dies in its first trial."""

    def __init__(self, directory, fail, kill_once=False, **kwargs):
        super().__init__(**kwargs)
        self.directory, self.fail, self.kill_once = directory, fail, kill_once

    def fit(self, hp, model, *args, **kwargs):
        worker = os.environ.get("KERASTUNER_TUNER_ID", "local")
        trial = zlib.crc32(json.dumps(hp.values, sort_keys=True).encode())
        marker = f"ran-{worker}-{os.getpid()}-{np.random.randint(1 << 30)}-{trial}"
        with open(os.path.join(self.directory, marker), "w"):
            pass
        if self.fail:
            raise keras_tuner.errors.FailedTrialError("planted failure")
        killed = os.path.join(self.directory, "killed")
        if self.kill_once and worker == "tuner1" and not os.path.exists(killed):
            with open(killed, "w"):
                pass
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), Killed()]
        return super().fit(hp, model, *args, **kwargs)


def main(kind, directory, fail=False, kill_once=False):
    x, y = load_digits(return_X_y=True)
    x = (x[:400] / 16.0).astype("float32")
    y = y[:400]
    hypermodel = Recorded(
        directory,
        fail,
        kill_once,
        input_shape=(64,),
        num_classes=10,
        max_layers=2,
        units=[16, 32],
        activations=["relu", "tanh"],
        normalizations=["none"],
        optimizers=["adam", "sgd"],
        schedules=["constant"],
        batch_sizes=[64],
        epochs={"asha": 4, "asha-paused": 4, "random4": 2}.get(kind, 1),
    )
    tuner = TUNERS[kind](hypermodel, objective="val_accuracy", directory=directory, project_name="search", seed=1)
    tuner.search(x[:300], y[:300], validation_data=(x[300:], y[300:]), verbose=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], fail="--fail" in sys.argv, kill_once="--kill-once" in sys.argv)
