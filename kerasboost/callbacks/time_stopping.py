"""Stop training after a wall-clock budget."""

from __future__ import annotations

import time

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.callbacks.TimeStopping", register=False)
class TimeStopping(keras.callbacks.Callback):
    """Stop `fit` once `seconds` of wall-clock time have passed since it began.

    Checked after every batch, so training stops within one batch (or one
    `steps_per_execution` group) of the budget; the epoch in progress is then
    ended by Keras as usual (its logs and other callbacks still run).
    `stopped_epoch` is the epoch in which the budget ran out, or `None`.

    The check only reads the clock and sets `model.stop_training`, so the
    callback declares itself `async_safe`: on backends where Keras dispatches
    batch-end callbacks on a background thread (JAX), it does not make every
    step wait for the host, which a batch-end hook otherwise does. There the
    stop may come one step later.

    Args:
        seconds: float > 0, the budget. Defaults to one day.
        verbose: 0 or 1.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> stop = kerasboost.callbacks.TimeStopping(seconds=1e-9)
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=50, callbacks=[stop], verbose=0)
    >>> len(history.history["loss"]), stop.stopped_epoch
    (1, 0)

    ```

    References:
        - TensorFlow Addons, `tfa.callbacks.TimeStopping` (Keras 2; end of life),
          https://www.tensorflow.org/addons/api_docs/python/tfa/callbacks/TimeStopping
    """

    # read by keras.callbacks.CallbackList: batch ends may run on its background thread
    async_safe = True

    def __init__(self, seconds: float = 86400.0, verbose: int = 0) -> None:
        super().__init__()
        self.seconds = check_number("seconds", seconds, low=0.0, low_inclusive=False)
        self.verbose = int(check_number("verbose", verbose, low=0, high=1, integer=True))

    def on_train_begin(self, logs=None):
        self._deadline = time.monotonic() + self.seconds
        self.stopped_epoch = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def set_model(self, model) -> None:
        super().set_model(model)
        self._fit_model = model

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_epoch is None and time.monotonic() >= self._deadline:
            self.stopped_epoch = self._epoch
            # not `self.model`: on JAX that property syncs the trainer's state into the model's
            # variables, and on the background thread this hook runs on, the next step may
            # already have donated those buffers
            self._fit_model.stop_training = True
            if self.verbose:
                print(f"TimeStopping: {self.seconds:g} s budget used up in epoch {self._epoch + 1}.")
