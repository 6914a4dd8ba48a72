"""A training run that a test kills with SIGKILL and restarts (tests/reliability/test_kill_resume.py).

Usage: python train_resumable.py WORK_DIR
Writes WORK_DIR/progress (epoch batch) after every batch, and WORK_DIR/result.npz at the end.
"""

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

import kerasboost

EPOCHS, BATCH, N = 6, 16, 160


class Progress(keras.callbacks.Callback):
    def __init__(self, path, pause):
        super().__init__()
        self.path, self.pause = path, pause

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        with open(self.path + ".tmp", "w") as f:
            f.write(f"{self.epoch} {batch}")
        os.replace(self.path + ".tmp", self.path)
        time.sleep(self.pause)  # room for the test to kill the process mid-epoch


def main(work):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 12)).astype("float32")
    y = (np.sin(x @ rng.normal(size=(12, 1)))).astype("float32")
    # randomness that must resume exactly: kerasboost's random layers save their generator state
    # (Keras's Dropout does not: with it a resumed run draws other masks than an uninterrupted one)
    inputs = keras.Input((12,))
    h = keras.layers.Dense(32, activation="tanh")(inputs)
    h = kerasboost.layers.StochasticDepth(0.3, seed=3)([h, keras.layers.Dense(32, activation="tanh")(h)])
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    steps = EPOCHS * (N // BATCH)
    schedule = kerasboost.schedules.Warmup(keras.optimizers.schedules.CosineDecay(0.01, steps), 8)
    model.compile(
        kerasboost.optimizers.Lookahead(keras.optimizers.Adam(schedule), sync_period=3), "mse", jit_compile=True
    )
    stopper = kerasboost.callbacks.EarlyStopping(
        "val_loss", patience=20, restore_best_weights=True, state_dir=os.path.join(work, "early_stopping")
    )
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(work, "backup")),
        stopper,
        kerasboost.callbacks.GradientStatistics(read_every_n_steps=5),
        Progress(os.path.join(work, "progress"), pause=float(os.environ.get("KB_PAUSE", "0"))),
    ]
    model.fit(
        x[:128],
        y[:128],
        validation_data=(x[128:], y[128:]),
        batch_size=BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"o{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.optimizer.variables)})
    arrays["best_epoch"] = np.array(stopper.best_epoch)
    arrays["best"] = np.array(stopper.best)
    arrays["learning_rate"] = np.array(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    np.savez(os.path.join(work, "result.npz"), **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
