"""Stochastic weight averaging (Izmailov et al. 2018)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_number, fail


def refresh_batch_norm(model: keras.Model, x: Any, batch_size: int = 128) -> int:
    """Recompute every BatchNormalization layer's moving statistics as exact averages over `x`.

    Weights averaged in weight space need statistics of their own: each
    `keras.layers.BatchNormalization` gets `moving_mean` / `moving_variance`
    equal to the mean of its per-batch statistics over `x` (a cumulative
    average, not an exponential one). Returns the number of layers refreshed.
    """
    layers = [l for l in _keras.flatten_layers(model) if isinstance(l, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    momenta = [l.momentum for l in layers]
    for layer in layers:
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, "float32"))
        layer.moving_variance.assign(np.zeros(layer.moving_variance.shape, "float32"))
    try:
        for k, start in enumerate(range(0, len(x), batch_size)):
            for layer in layers:
                layer.momentum = k / (k + 1)  # moving = (k * moving + batch) / (k + 1)
            model(x[start : start + batch_size], training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return len(layers)


@kerasboost_export("kerasboost.callbacks.StochasticWeightAveraging", register=False)
class StochasticWeightAveraging(keras.callbacks.Callback):
    """Average the weights of the epochs from `start_epoch` on; swap the average in at the end.

    From the end of epoch `start_epoch` (0-based) on, every `every_n_epochs`
    epochs, the trainable weights join a uniform running average (kept on
    the host, float64). When `fit` ends, the average replaces the weights and,
    if `refresh_data` is given, BatchNormalization statistics are recomputed
    for the averaged weights (`refresh_batch_norm`). SWA finds wider optima
    than the last SGD iterate and generalizes better; pair it with a high
    constant or cyclical learning rate over the averaging epochs.
    The last iterate is kept in `final_weights`, nothing is lost; the
    number of averaged snapshots is `n_averaged`.

    Args:
        start_epoch: int >= 0, the first epoch (0-based) whose weights are
            averaged. Defaults to `0`.
        every_n_epochs: int >= 1. Defaults to `1`.
        refresh_data: optional array of training inputs for the BatchNorm
            refresh.
        batch_size: int >= 1, the refresh batch size. Defaults to `128`.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    >>> swa = kerasboost.callbacks.StochasticWeightAveraging(start_epoch=2)
    >>> _ = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=5, callbacks=[swa], verbose=0)
    >>> swa.n_averaged
    3

    ```

    References:
        - Izmailov, Podoprikhin, Garipov, Vetrov & Wilson, 2018, "Averaging
          Weights Leads to Wider Optima and Better Generalization",
          https://arxiv.org/abs/1803.05407
    """

    def __init__(
        self, start_epoch: int = 0, every_n_epochs: int = 1, refresh_data: Any = None, batch_size: int = 128
    ) -> None:
        super().__init__()
        self.start_epoch = check_number("start_epoch", start_epoch, low=0, integer=True)
        self.every_n_epochs = check_number("every_n_epochs", every_n_epochs, low=1, integer=True)
        if refresh_data is not None and not hasattr(refresh_data, "__len__"):
            raise fail("refresh_data", "None or an array of training inputs", refresh_data)
        self.refresh_data = refresh_data
        self.batch_size = check_number("batch_size", batch_size, low=1, integer=True)

    def on_train_begin(self, logs=None):
        self.n_averaged = 0
        self.average = None
        self.final_weights = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_epoch or (epoch - self.start_epoch) % self.every_n_epochs:
            return
        current = [np.asarray(keras.ops.convert_to_numpy(v), "float64") for v in self.model.trainable_variables]
        if self.average is None:
            self.average = current
        else:
            n = self.n_averaged
            self.average = [(a * n + c) / (n + 1) for a, c in zip(self.average, current)]
        self.n_averaged += 1

    def on_train_end(self, logs=None):
        if self.average is None:
            return
        self.final_weights = self.model.get_weights()
        for variable, value in zip(self.model.trainable_variables, self.average):
            variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))
        if self.refresh_data is not None:
            refresh_batch_norm(self.model, self.refresh_data, self.batch_size)
