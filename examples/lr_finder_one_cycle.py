"""Find the learning rate with the range test, then train with one-cycle (Smith 2017; Smith & Topin 2018).

A 1-D CNN on mnist1d (generated offline by the `mnist1d` package). Step 1: the
`LearningRateFinder` sweeps SGD's learning rate over a few hundred batches and suggests
rates; the model and optimizer are restored afterwards. Step 2: the same model trains with
`OneCycle` peaking at the suggested rate, and, for comparison, with Adam(1e-3) constant; the
script prints each run's validation accuracy per epoch and writes the range-test plot.

Measured on this project's 2-core CPU machine (TensorFlow, XLA; full run, 15 epochs): the
range test suggested valley = 0.13 (minimum/10 = 0.033, steep = 0.23); one-cycle SGD to 0.13
reached 0.957 validation accuracy, Adam(1e-3) constant 0.701.

    python examples/lr_finder_one_cycle.py            # about a minute on 2 cores
    python examples/lr_finder_one_cycle.py --quick    # seconds: the CI smoke test
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import kerasboost


def data(quick):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    if quick:
        args.num_samples = 1000
    d = make_dataset(args)
    return d["x"][..., None].astype("float32"), d["y"], d["x_test"][..., None].astype("float32"), d["y_test"]


def cnn(length, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((length, 1)),
            keras.layers.Conv1D(32, 5, padding="same", activation="relu"),
            keras.layers.Conv1D(32, 5, strides=2, padding="same", activation="relu"),
            keras.layers.Conv1D(32, 5, strides=2, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(10),
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="kerasboost-examples/lr_finder_one_cycle", help="folder for the plot")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    epochs = 1 if args.quick else args.epochs
    x, y, x_val, y_val = data(args.quick)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    model = cnn(x.shape[1])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), loss, jit_compile=True)
    finder = kerasboost.callbacks.LearningRateFinder(1e-4, 10.0, num_steps=20 if args.quick else 200)
    model.fit(x, y, batch_size=args.batch_size, epochs=5, callbacks=[finder], verbose=0)
    found = finder.suggestions()
    os.makedirs(args.out, exist_ok=True)
    plot = os.path.join(args.out, "lr_finder.png")
    finder.plot(plot)
    print("range test suggestions: " + ", ".join(f"{k} = {v:.3g}" for k, v in found.items()) + f" (plot: {plot})")

    steps = epochs * int(np.ceil(len(x) / args.batch_size))
    runs = {
        f"one-cycle to {found['valley']:.3g} (SGD)": keras.optimizers.SGD(
            kerasboost.schedules.OneCycle(found["valley"], total_steps=steps), momentum=0.9
        ),
        "Adam(1e-3) constant": keras.optimizers.Adam(1e-3),
    }
    results = {}
    for name, optimizer in runs.items():
        model = cnn(x.shape[1])
        model.compile(optimizer, loss, metrics=["accuracy"], jit_compile=True)
        history = model.fit(
            x,
            y,
            validation_data=(x_val, y_val),
            batch_size=args.batch_size,
            epochs=epochs,
            verbose=0,
            callbacks=[kerasboost.callbacks.LearningRateLogger()],
        )
        results[name] = history.history
        accuracy = " ".join(f"{a:.3f}" for a in history.history["val_accuracy"])
        print(f"{name:32s} val accuracy per epoch: {accuracy}")
    if args.quick:
        print(
            "(--quick is a smoke run, too short to show the effect: "
            "the full run's measured results are in this script's docstring.)"
        )
    return {"suggestions": found, "histories": results}


if __name__ == "__main__":
    main()
