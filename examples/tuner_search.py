"""A keras-tuner search with kerasboost's MLPHyperModel on scikit-learn's digits.

Searches depth, units, activation (with an initializer matched to it), normalization, dropout,
regularization, optimizer, learning rate, schedule, clipping and batch size with Bayesian
optimization; every trial is seeded from its hyperparameters, stops early on `val_loss` and
compiles with XLA. Prints the best trials (`trials_dataframe`), writes `tuner_trials.png`
(`plot_trials`) under `--out` (default `./kerasboost-examples/tuner_search/`) and evaluates the
best model on held-out images.

    python examples/tuner_search.py            # 20 trials, a few minutes on 2 cores
    python examples/tuner_search.py --quick    # 2 trials: the CI smoke test
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_tuner
import numpy as np
from sklearn.datasets import load_digits

import kerasboost


def data(seed=0):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:1000], y[:1000]), (x[1000:1400], y[1000:1400]), (x[1400:], y[1400:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--directory", default=None, help="keras-tuner project folder (a temporary one by default)")
    parser.add_argument("--out", default="kerasboost-examples/tuner_search", help="folder for the trials plot")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    trials, epochs = (2, 2) if args.quick else (args.trials, args.epochs)
    (x, y), (xv, yv), (xt, yt) = data()
    hypermodel = kerasboost.tuning.MLPHyperModel(
        (64,), num_classes=10, max_layers=4, epochs=epochs, num_samples=len(x), patience=5
    )
    directory = args.directory or tempfile.mkdtemp(prefix="kerasboost-tuner-")
    tuner = keras_tuner.BayesianOptimization(
        hypermodel,
        objective="val_accuracy",
        max_trials=trials,
        num_initial_points=min(5, trials),
        directory=directory,
        project_name="digits_mlp",
        seed=0,
    )
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)

    frame = kerasboost.tuning.trials_dataframe(tuner).sort_values("score", ascending=False)
    columns = [
        "trial_id",
        "score",
        "hp/num_layers",
        "hp/units",
        "hp/activation",
        "hp/optimizer/name",
        "hp/learning_rate",
        "hp/schedule",
        "hp/batch_size",
    ]
    print(frame[[c for c in columns if c in frame]].head(5).to_string(index=False))
    os.makedirs(args.out, exist_ok=True)
    plot = os.path.join(args.out, "tuner_trials.png")
    kerasboost.tuning.plot_trials(tuner, path=plot)
    best = tuner.get_best_models(1)[0]
    accuracy = float(np.mean(np.argmax(best.predict(xt, verbose=0), -1) == yt))
    print(
        f"{len(frame)} trials; best validation accuracy {frame['score'].iloc[0]:.3f}; its test accuracy "
        f"{accuracy:.3f}; trials plot: {plot}"
    )
    return {"trials": len(frame), "best_val_accuracy": float(frame["score"].iloc[0]), "test_accuracy": accuracy}


if __name__ == "__main__":
    main()
