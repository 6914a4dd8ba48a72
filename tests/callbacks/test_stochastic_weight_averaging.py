"""StochasticWeightAveraging: the uniform average of epoch-end weights; exact BatchNorm refresh."""

import keras
import numpy as np
import pytest

from kerasboost.callbacks import StochasticWeightAveraging
from kerasboost.callbacks.stochastic_weight_averaging import refresh_batch_norm


def _np(x):
    return keras.ops.convert_to_numpy(x)


class _Snapshots(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([_np(v).copy() for v in self.model.trainable_variables])


def test_average_of_the_selected_epochs_is_swapped_in_and_the_last_iterate_kept():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse", jit_compile=True)
    snapshots, swa = _Snapshots(), StochasticWeightAveraging(start_epoch=2, every_n_epochs=2)
    model.fit(x, y, epochs=7, batch_size=16, callbacks=[snapshots, swa], verbose=0)
    assert swa.n_averaged == 3  # epochs 2, 4, 6
    for i, v in enumerate(model.trainable_variables):
        expected = np.mean([snapshots.weights[e][i] for e in (2, 4, 6)], axis=0)
        np.testing.assert_allclose(_np(v), expected, rtol=1e-6, atol=1e-7)
    for final, last in zip(swa.final_weights, snapshots.weights[6]):
        np.testing.assert_array_equal(final, last)


def test_batch_norm_refresh_gives_the_average_of_batch_statistics():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(96, 5)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    bn = model.layers[0]
    assert refresh_batch_norm(model, x, batch_size=32) == 1
    batches = x.reshape(3, 32, 5)
    np.testing.assert_allclose(_np(bn.moving_mean), batches.mean(axis=1).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(_np(bn.moving_variance), batches.var(axis=1).mean(axis=0), rtol=1e-5)
    assert bn.momentum == 0.99  # restored


def test_bad_arguments():
    with pytest.raises(ValueError, match="start_epoch=-1"):
        StochasticWeightAveraging(start_epoch=-1)
    with pytest.raises(ValueError, match="every_n_epochs=0"):
        StochasticWeightAveraging(every_n_epochs=0)
