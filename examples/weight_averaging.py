"""Weight averaging (SWA) and snapshot ensembles against plain training, on scikit-learn's digits.

The same MLP, trained three ways for the same number of epochs with SGD + momentum:

- plain: cosine decay to zero, the last weights;
- SWA: cosine decay to a floor over the first 60% of the epochs, then a constant rate while
  `StochasticWeightAveraging` averages the weights at every epoch end (Izmailov et al. 2018);
- snapshot ensemble: `CosineRestarts` cycles, a snapshot at the end of each cycle, their outputs
  averaged by `SnapshotEnsemble.ensemble()` (Huang et al. 2017).

Prints the held-out accuracy and log-loss of each (several seeds with `--seeds`). Measured on a
2-core CPU (TensorFlow, `--seeds 3`, 40 s; mean +- std over seeds):

| run | test accuracy | log-loss |
|---|---|---|
| plain | 0.9730 +- 0.0055 | 0.1007 |
| SWA | 0.9744 +- 0.0024 | 0.0948 |
| snapshot ensemble (5 cycles) | 0.9705 +- 0.0034 | 0.0988 |
| its last snapshot alone | 0.9719 +- 0.0039 | 0.1081 |

On this small, easy problem the differences in accuracy are within the seed spread; both
averages lower the log-loss (better calibrated probabilities), SWA the most.

    python examples/weight_averaging.py            # about a minute on 2 cores
    python examples/weight_averaging.py --quick    # seconds: the CI smoke test
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from sklearn.datasets import load_digits

import kerasboost


def data(seed):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return x[:600], y[:600], x[600:], y[600:]  # a small training set: averaging has room to help


def network(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def scores(model, x, y):
    p = model.predict(x, verbose=0)
    return float(np.mean(np.argmax(p, -1) == y)), float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1))))


def run(seed, epochs, cycles):
    x, y, xt, yt = data(seed)
    steps_per_epoch = int(np.ceil(len(x) / 32))
    steps = epochs * steps_per_epoch
    loss = "sparse_categorical_crossentropy"
    out = {}

    model = network(seed)
    model.compile(
        keras.optimizers.SGD(keras.optimizers.schedules.CosineDecay(0.1, steps), momentum=0.9), loss, jit_compile=True
    )
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    out["plain"] = scores(model, xt, yt)

    model = network(seed)
    start = int(0.6 * epochs)
    lr = kerasboost.schedules.SequentialSchedule(
        [keras.optimizers.schedules.CosineDecay(0.1, start * steps_per_epoch, alpha=0.2), 0.02],
        boundaries=[start * steps_per_epoch],
    )
    model.compile(keras.optimizers.SGD(lr, momentum=0.9), loss, jit_compile=True)
    model.fit(
        x,
        y,
        batch_size=32,
        epochs=epochs,
        verbose=0,
        callbacks=[kerasboost.callbacks.StochasticWeightAveraging(start_epoch=start)],
    )
    out["swa"] = scores(model, xt, yt)

    model = network(seed)
    cycle = max(1, epochs // cycles)
    model.compile(
        keras.optimizers.SGD(
            kerasboost.schedules.CosineRestarts(0.1, first_cycle_steps=cycle * steps_per_epoch), momentum=0.9
        ),
        loss,
        jit_compile=True,
    )
    snapshots = kerasboost.ensemble.SnapshotEnsemble()
    model.fit(x, y, batch_size=32, epochs=cycle * cycles, verbose=0, callbacks=[snapshots])
    out["snapshot ensemble"] = scores(snapshots.ensemble(), xt, yt)
    out["last snapshot"] = scores(model, xt, yt)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    epochs, cycles, seeds = (4, 2, 1) if args.quick else (args.epochs, args.cycles, args.seeds)
    results = [run(seed, epochs, cycles) for seed in range(seeds)]
    summary = {}
    for name in results[0]:
        acc = np.array([r[name][0] for r in results])
        nll = np.array([r[name][1] for r in results])
        summary[name] = {"accuracy": float(acc.mean()), "log_loss": float(nll.mean())}
        print(
            f"{name:18s} test accuracy {acc.mean():.4f} (+- {acc.std():.4f})  log-loss {nll.mean():.4f}  over "
            f"{seeds} seed(s)"
        )
    if args.quick:
        print(
            "(--quick is a smoke run, too short to show the effect: "
            "the full run's measured results are in this script's docstring.)"
        )
    return summary


if __name__ == "__main__":
    main()
