"""Vanishing signals in a deep plain ReLU network, fixed by initialization.

Trains the same 50-layer plain ReLU MLP (width 64, no normalization, no residual
connections) on scikit-learn's digits twice - Keras's default initializer, then
kerasboost's LooksLinear - and prints the activation report at initialization and
the validation accuracy of each.

    python examples/deep_plain_networks.py            # about a minute on 2 cores
    python examples/deep_plain_networks.py --quick    # seconds: the CI smoke test
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from sklearn.datasets import load_digits

from kerasboost.diagnostics import activation_report
from kerasboost.initializers import LooksLinear


def data(seed=0):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    n_val = len(x) // 5
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def mlp(depth, init):
    layers = [keras.Input((64,))]
    for i in range(depth):
        initializer = LooksLinear(input_mirrored=i > 0) if init == "kerasboost" else "glorot_uniform"
        layers.append(keras.layers.Dense(64, activation="relu", kernel_initializer=initializer))
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers)


def run(depth, epochs, init, x_train, y_train, x_val, y_val):
    keras.utils.set_random_seed(0)
    model = mlp(depth, init)
    report = activation_report(model, x_train[:256])
    last = report[-2]  # the deepest ReLU layer
    model.compile(
        keras.optimizers.SGD(1e-3, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=32, verbose=0)
    best = max(history.history["val_accuracy"])
    return {"init": init, "deepest_std": last.std, "deepest_dead": last.dead, "best_val_accuracy": best}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="depth 10, 1 epoch: a smoke test")
    args = parser.parse_args(argv)
    depth, epochs = (10, 1) if args.quick else (args.depth, args.epochs)
    splits = data()
    print(f"{depth}-layer plain ReLU MLP on digits, {epochs} epochs")
    print(f"{'init':12s} {'std of layer ' + str(depth) + ' at init':>26s} {'dead units':>11s} {'best val acc':>13s}")
    rows = []
    for init in ("keras", "kerasboost"):
        row = run(depth, epochs, init, *splits)
        rows.append(row)
        print(f"{init:12s} {row['deepest_std']:26.2e} {row['deepest_dead']:11.0%} {row['best_val_accuracy']:13.3f}")
    return rows


if __name__ == "__main__":
    main()
