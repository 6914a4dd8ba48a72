"""One of several processes sharing an Optuna study (run by tests/tuning/test_optuna.py).

Usage: python optuna_worker.py STORAGE_URL DIRECTORY NAME
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np

import kerasboost


def build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 8)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-4, 1e-1, sampling="log")), "mse")
    return model


def main(storage, directory, name):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    tuner = kerasboost.tuning.OptunaSearch(
        build,
        objective="val_loss",
        max_trials=4,
        storage=storage,
        study_name="shared",
        directory=directory,
        project_name=name,
    )
    tuner.search(x, x.sum(1), validation_split=0.25, epochs=2, verbose=0)


if __name__ == "__main__":
    main(*sys.argv[1:4])
