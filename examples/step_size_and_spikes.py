"""Two pictures of issue 41: what Prodigy picks as its learning rate, and a loss spike rolled back.

Left: on the mnist1d 1-D CNN, the range test (`LearningRateFinder`, Adam) suggests a learning
rate (`valley`); Prodigy, started with no learning rate to tune (1.0 under a cosine decay),
estimates its own step size (`optimizer.step_size`, the Adam learning rate its estimate amounts
to), drawn here over training against that valley.

Right: softmax regression on digits with three batches poisoned (inputs x 1e4), Adam under a
cosine decay: each step's training loss without and with `SpikeRollback`, the clean run for
reference, the rollbacks marked.

    python examples/step_size_and_spikes.py --out docs/img     # about a minute on 2 cores
    python examples/step_size_and_spikes.py --quick            # seconds: the CI smoke test
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import kerasboost

POISONED = (30, 200, 420)


class StepLosses(keras.callbacks.Callback):
    """Each step's loss (from Keras's running mean of the epoch) and, if the optimizer has one,
    its estimated step size, every `every` steps."""

    def __init__(self, every=1):
        super().__init__()
        self.every, self.losses, self.step_sizes = every, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._mean, self._n = 0.0, 0

    def on_train_batch_end(self, batch, logs=None):
        mean, n = float(logs["loss"]), batch + 1
        self.losses.append(mean * n - self._mean * self._n)
        self._mean, self._n = mean, n
        if len(self.losses) % self.every == 0 and hasattr(self.model.optimizer, "step_size"):
            self.step_sizes.append(
                (len(self.losses), float(keras.ops.convert_to_numpy(self.model.optimizer.step_size)))
            )


def prodigy_against_the_range_test(quick):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    if quick:
        args.num_samples = 1000
    d = make_dataset(args)
    x, y = d["x"][..., None].astype("float32"), d["y"]
    x = (x - x.mean()) / x.std()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def cnn():
        keras.utils.set_random_seed(0)
        conv = dict(kernel_size=5, padding="same", activation="relu")
        return keras.Sequential(
            [keras.Input((x.shape[1], 1)), keras.layers.Conv1D(32, **conv)]
            + [keras.layers.Conv1D(32, strides=2, **conv) for _ in range(2)]
            + [keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(10)]
        )

    model = cnn()
    model.compile(keras.optimizers.Adam(1e-3), loss, jit_compile=True)
    finder = kerasboost.callbacks.LearningRateFinder(1e-6, 1.0, num_steps=20 if quick else 300)
    model.fit(x, y, batch_size=64, epochs=10, callbacks=[finder], verbose=0)
    valley = finder.suggestions()["valley"]

    epochs = 1 if quick else 30
    steps = epochs * -(-len(x) // 64)
    model = cnn()
    optimizer = kerasboost.optimizers.Prodigy(keras.optimizers.schedules.CosineDecay(1.0, steps))
    model.compile(optimizer, loss, jit_compile=True)
    recorder = StepLosses(every=5)
    model.fit(x, y, batch_size=64, epochs=epochs, callbacks=[recorder], verbose=0)
    peak = max(s for _, s in recorder.step_sizes)
    print(f"range test (Adam) valley: {valley:.3g}; Prodigy's largest estimated step size: {peak:.3g}")
    return valley, recorder.step_sizes


def rollback_curves(quick):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype("float32")
    n = len(x) // 32 * 32
    x, y = x[:n], y[:n]
    epochs = 2 if quick else 15
    per_epoch = n // 32

    def batches(poison):
        step = 0
        for _ in range(epochs):
            for b in range(per_epoch):
                xb = x[b * 32 : (b + 1) * 32]
                yield (xb * 1e4 if poison and step in POISONED else xb), y[b * 32 : (b + 1) * 32]
                step += 1

    def run(poison, rollback=None):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, kernel_regularizer="l2")])
        model.compile(
            keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, epochs * per_epoch)),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=True,
        )
        # SpikeRollback keeps the loss of every step it checked (restoring the metrics after a
        # spike, it is the one that knows each step's loss then)
        recorder = StepLosses() if rollback is None else rollback
        model.fit(
            batches(poison), steps_per_epoch=per_epoch, epochs=epochs, shuffle=False, callbacks=[recorder], verbose=0
        )
        return recorder.losses if rollback is None else [loss for _, loss in rollback.losses]

    rollback = kerasboost.callbacks.SpikeRollback(min_history=5, snapshot_every=10, verbose=False)
    curves = {
        "clean": run(False),
        "3 poisoned batches": run(True),
        "3 poisoned batches + SpikeRollback": run(True, rollback),
    }
    print(
        f"rollbacks at steps {[r['step'] for r in rollback.rollbacks]}; final step loss: "
        + ", ".join(f"{k} {v[-1]:.3f}" for k, v in curves.items())
    )
    return curves, rollback.rollbacks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="kerasboost-examples/step_size_and_spikes", help="folder for the figure")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    valley, step_sizes = prodigy_against_the_range_test(args.quick)
    curves, rollbacks = rollback_curves(args.quick)

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    steps, sizes = zip(*step_sizes)
    left.plot(steps, sizes, label="Prodigy's estimated step size (d x lr, lr: cosine from 1)")
    left.axhline(valley, color="C1", linestyle="--", label=f"range test's valley (Adam): {valley:.2g}")
    left.set_yscale("log")
    left.set_xlabel("training step")
    left.set_ylabel("learning rate")
    left.set_title("mnist1d CNN: the step size Prodigy picks", fontsize=10)
    left.legend(fontsize=8)
    styles = {"clean": dict(color="C2", linewidth=1.6), "3 poisoned batches": dict(color="C3", linewidth=0.8)}
    for name, losses in curves.items():
        style = styles.get(name, dict(color="C0", linewidth=0.8, linestyle="--"))
        right.plot(np.arange(1, len(losses) + 1), losses, label=name, **style)
    for r in rollbacks:
        right.axvline(r["step"], color="0.5", linestyle=":", linewidth=1)
    right.set_yscale("log")
    right.set_xlabel("training step (dotted: a rollback)")
    right.set_ylabel("training loss of the step")
    right.set_title("digits, softmax regression: a spike rolled back", fontsize=10)
    right.legend(fontsize=8)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "step_size_and_spikes.png")
    fig.savefig(path, dpi=110)
    print(f"figure: {path}")
    return {"valley": valley, "rollbacks": rollbacks, "figure": path}


if __name__ == "__main__":
    main()
