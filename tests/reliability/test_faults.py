"""Non-finite values injected into the inputs in the middle of training: every kerasboost
safeguard acts, and nothing already saved is overwritten with NaN weights."""

import math
import warnings

import keras
import numpy as np

from kerasboost.callbacks import EarlyStopping, GradientStatistics
from kerasboost.optimizers import SkipNonFinite

BATCHES, BATCH = 4, 8


class Poisoned(keras.utils.PyDataset):
    """Clean batches, except batch 1 of every epoch from `bad_epoch` on, whose first input is NaN."""

    def __init__(self, bad_epoch, value=np.nan):
        super().__init__()
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(BATCHES * BATCH, 5)).astype("float32")
        self.y = (self.x @ rng.normal(size=(5, 1))).astype("float32")
        self.bad_epoch, self.value, self.epoch = bad_epoch, value, 0

    def __len__(self):
        return BATCHES

    def __getitem__(self, i):
        x = self.x[i * BATCH : (i + 1) * BATCH].copy()
        if self.epoch >= self.bad_epoch and i == 1:
            x[0, 0] = self.value
        return x, self.y[i * BATCH : (i + 1) * BATCH]


class EpochOf(keras.callbacks.Callback):
    """Tells the dataset which epoch runs (Keras calls PyDataset hooks at its own times)."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch, logs=None):
        self.dataset.epoch = epoch


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, activation="tanh", name="hidden"), keras.layers.Dense(1, name="head")]
    )
    model.compile(optimizer=optimizer, loss="mse", jit_compile=True)
    return model


class WeightsPerEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.weights = getattr(self, "weights", []) + [[np.array(w) for w in self.model.get_weights()]]


def test_nan_inputs_stop_training_restore_the_best_weights_and_never_reach_the_checkpoint(tmp_path):
    model = _model(keras.optimizers.SGD(0.05))
    checkpoint = str(tmp_path / "best.keras")
    per_epoch = WeightsPerEpoch()
    stats = GradientStatistics(read_every_n_steps=2)
    stopper = EarlyStopping(
        "loss", patience=10, restore_best_weights=True, restore_to="disk", state_dir=str(tmp_path / "state")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        data = Poisoned(bad_epoch=3)
        history = model.fit(
            data,
            epochs=8,
            verbose=0,
            shuffle=False,
            callbacks=[
                EpochOf(data),
                per_epoch,
                stats,
                stopper,
                keras.callbacks.ModelCheckpoint(checkpoint, monitor="loss", save_best_only=True),
            ],
        )
    losses = history.history["loss"]
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses[:3]) and not math.isfinite(losses[3])
    assert "non-finite" in stopper.stop_reason or "nan" in stopper.stop_reason.lower()
    best = int(np.argmin(losses[:3]))
    for restored, kept in zip(model.get_weights(), per_epoch.weights[best]):
        np.testing.assert_array_equal(restored, kept)  # the best epoch's weights, not NaN
    saved = keras.saving.load_model(checkpoint)
    for w, kept in zip(saved.get_weights(), per_epoch.weights[best]):
        np.testing.assert_array_equal(w, kept)
    # the gradient statistics name the step (epoch 4, batch 2 = step 13) and every layer the NaN reached
    alert = next(a for a in stats.alerts if a["kind"] == "nonfinite")
    assert alert["epoch"] == 3 and alert["steps"][0] == 3 * BATCHES + 1
    assert sorted(layer.rsplit("/", 1)[-1] for layer in alert["layers"]) == ["head", "hidden"]


def test_skip_non_finite_steps_over_the_bad_batches_and_keeps_training():
    model = _model(SkipNonFinite(keras.optimizers.Adam(0.01)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        data = Poisoned(bad_epoch=1, value=np.inf)
        history = model.fit(data, epochs=4, verbose=0, shuffle=False, callbacks=[EpochOf(data)])
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    # one bad batch in each of epochs 2-4 was skipped: the inner optimizer took 16 - 3 steps
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 4 * BATCHES - 3
    clean = Poisoned(bad_epoch=99)
    assert model.evaluate(clean.x, clean.y, verbose=0) < history.history["loss"][0]
