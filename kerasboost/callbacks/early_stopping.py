"""Early stopping that survives resumed runs, smooths the monitored value and never accepts NaN."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections import deque
from typing import Any

import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks._monitor import MonitorCallback
from kerasboost.utils.validation import check_bool, check_choice, check_number

_BEST = "early_stopping_best.weights.h5"


@kerasboost_export("kerasboost.callbacks.EarlyStopping", register=False)
class EarlyStopping(MonitorCallback):
    """Stop training when a monitored value stops improving; everything Keras's does, and more.

    Beyond `keras.callbacks.EarlyStopping`:

    - `min_delta_mode="relative"`: an improvement must beat the best by
      `min_delta * |best|` (a fraction), not by an absolute amount;
    - `smoothing="ema"` (weight `smoothing_factor` on the newest value) or
      `"window"` (mean of the last `smoothing_window` values): decide on a
      smoothed value, so that one noisy epoch neither resets nor triggers
      patience;
    - a non-finite value is never "best": with `stop_on_non_finite=True`
      training stops at once and the best weights are restored (when kept);
    - `stopping_threshold`: stop as soon as the value is at least this good
      (goal reached); `divergence_threshold`: stop as soon as it is worse
      (diverged);
    - best weights kept in host memory (`restore_to="memory"`) or in a
      `.weights.h5` file (`"disk"`, for models too large to copy);
    - `state_dir`: the callback's state (`wait`, `best`, best epoch, the
      smoothing history, best weights) is written there every epoch, and an
      interrupted run resumed with `keras.callbacks.BackupAndRestore` picks
      it up, ending with the same best epoch and weights as an
      uninterrupted run. Use a folder of its own (BackupAndRestore deletes
      its `backup_dir` at the end); the state is deleted when `fit` ends
      normally.

    `baseline`: patience restarts only at an epoch that beats both the best so
    far and the baseline (by `min_delta`); an epoch that improves on the best
    without beating the baseline is still the best epoch (kept and restored
    with `restore_best_weights`), and training does not stop on an epoch that
    improves. This is Keras's rule. The state is reset in `on_train_begin` (one
    instance serves several `fit` calls) unless a resumable state is found in
    `state_dir`.

    Differences from `keras.callbacks.EarlyStopping` (3.15): none in the
    decisions and the restored epoch for the arguments both take (pinned by
    tests against Keras's callback); a NaN or Inf value is never the best
    epoch here, and `patience=0` stops at the first epoch without improvement
    (Keras's too, after its first epoch).

    Args:
        monitor: the `logs` key to watch. Defaults to `"val_loss"`.
        min_delta: float >= 0, the least change that counts as improvement.
        min_delta_mode: `"absolute"` or `"relative"`. Defaults to `"absolute"`.
        patience: int >= 0, epochs without improvement before stopping.
        mode: `"auto"`, `"min"` or `"max"`. `"auto"` decides as Keras does: a
            loss is minimized, a metric goes the way it declares (Keras's metrics
            do, whatever name they are given); for anything else, a `ValueError`
            at the first epoch asks for `"min"` or `"max"`.
        baseline: optional float, see above.
        restore_best_weights: bool. Defaults to `False`.
        start_from_epoch: int >= 0, epochs to ignore at the start (warmup).
        smoothing: `None`, `"ema"` or `"window"`. Defaults to `None`.
        smoothing_factor: float in (0, 1], the EMA weight of the newest value.
        smoothing_window: int >= 1, the window length.
        stopping_threshold: optional float, stop when reached.
        divergence_threshold: optional float, stop when crossed.
        stop_on_non_finite: bool. Defaults to `True`.
        restore_to: `"memory"` or `"disk"`. Defaults to `"memory"`.
        state_dir: optional folder for the resumable state.
        verbose: 0 or 1.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")   # never improves
    >>> stop = kerasboost.callbacks.EarlyStopping(monitor="loss", patience=2)
    >>> history = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=10, callbacks=[stop], verbose=0)
    >>> len(history.history["loss"]), stop.stopped_epoch
    (3, 2)

    ```

    References:
        - Prechelt, 1998, "Early Stopping - But When?", Neural Networks: Tricks
          of the Trade, LNCS 1524
    """

    state_file = "early_stopping_state.json"

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        min_delta_mode: str = "absolute",
        patience: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
        smoothing: str | None = None,
        smoothing_factor: float = 0.5,
        smoothing_window: int = 3,
        stopping_threshold: float | None = None,
        divergence_threshold: float | None = None,
        stop_on_non_finite: bool = True,
        restore_to: str = "memory",
        state_dir: str | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta, min_delta_mode, state_dir, verbose)
        self.patience = check_number("patience", patience, low=0, integer=True)
        self.baseline = check_number("baseline", baseline, allow_none=True)
        self.restore_best_weights = check_bool("restore_best_weights", restore_best_weights)
        self.start_from_epoch = check_number("start_from_epoch", start_from_epoch, low=0, integer=True)
        if smoothing is not None:
            check_choice("smoothing", smoothing, ("ema", "window"))
        self.smoothing = smoothing
        self.smoothing_factor = check_number(
            "smoothing_factor", smoothing_factor, low=0.0, high=1.0, low_inclusive=False
        )
        self.smoothing_window = check_number("smoothing_window", smoothing_window, low=1, integer=True)
        self.stopping_threshold = check_number("stopping_threshold", stopping_threshold, allow_none=True)
        self.divergence_threshold = check_number("divergence_threshold", divergence_threshold, allow_none=True)
        self.stop_on_non_finite = check_bool("stop_on_non_finite", stop_on_non_finite)
        self.restore_to = check_choice("restore_to", restore_to, ("memory", "disk"))
        self._reset()

    # ------------------------------------------------------------------ state

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self.stop_reason = None
        self._smoothed = None
        self._window: deque = deque(maxlen=self.smoothing_window)
        self._has_best_file = False

    def _smooth(self, value: float) -> float:
        if self.smoothing == "ema":
            self._smoothed = (
                value
                if self._smoothed is None
                else self.smoothing_factor * value + (1 - self.smoothing_factor) * self._smoothed
            )
            return self._smoothed
        if self.smoothing == "window":
            self._window.append(value)
            return float(np.mean(self._window))
        return value

    def _best_file(self) -> str:
        if self.state_dir is not None:
            return self._state_path(_BEST)
        if not hasattr(self, "_tmpdir"):
            self._tmpdir = tempfile.mkdtemp(prefix="kerasboost-early-stopping-")
        return os.path.join(self._tmpdir, _BEST)

    def _keep_best_weights(self):
        if self.restore_to == "disk" or self.state_dir is not None:
            os.makedirs(os.path.dirname(self._best_file()), exist_ok=True)
            self.model.save_weights(self._best_file(), overwrite=True)
            self._has_best_file = True
        if self.restore_to == "memory":
            self.best_weights = [np.array(w) for w in self.model.get_weights()]

    def _restore(self):
        if not self.restore_best_weights or self.best_epoch is None:
            return
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        elif self._has_best_file:
            self.model.load_weights(self._best_file())
        else:
            return
        if self.verbose:
            print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1}.")

    def _save_state(self, epoch: int):
        if self.state_dir is None:
            return
        state = {
            "epoch": epoch,
            "wait": self.wait,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "smoothed": self._smoothed,
            "window": list(self._window),
            "has_best_file": self._has_best_file,
        }
        self._write_state(state)

    def _load_state(self, state: dict[str, Any]) -> None:
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        self._smoothed = state["smoothed"]
        self._window.extend(state["window"])
        self._has_best_file = state["has_best_file"] and os.path.exists(self._state_path(_BEST))
        if self._has_best_file and self.restore_to == "memory" and self.restore_best_weights:
            current = self.model.get_weights()
            self.model.load_weights(self._state_path(_BEST))
            self.best_weights = self.model.get_weights()
            self.model.set_weights(current)

    # ------------------------------------------------------------------ hooks

    def on_epoch_end(self, epoch, logs=None):
        value = self._monitored(logs)
        if value is None:
            return
        if not math.isfinite(value):
            if self.stop_on_non_finite:
                self._stop(epoch, f"{self.monitor} is {value}")
            return
        smoothed = self._smooth(value)
        if epoch < self.start_from_epoch:
            self._save_state(epoch)
            return
        if (
            self.divergence_threshold is not None
            and not self._improves(smoothed, self.divergence_threshold, 0.0)
            and smoothed != self.divergence_threshold
        ):
            self._stop(epoch, f"{self.monitor}={smoothed:.6g} crossed divergence_threshold={self.divergence_threshold}")
            return
        self.wait += 1
        improved_now = self._improves(smoothed, self.best, self.min_delta)
        if improved_now:
            self.best, self.best_epoch = smoothed, epoch
            if self.restore_best_weights:
                self._keep_best_weights()
            # patience restarts only when the value beats the baseline too (Keras's rule)
            if self.baseline is None or self._improves(smoothed, self.baseline, self.min_delta):
                self.wait = 0
        if self.stopping_threshold is not None and not self._improves(self.stopping_threshold, smoothed, 0.0):
            self._stop(epoch, f"{self.monitor}={smoothed:.6g} reached stopping_threshold={self.stopping_threshold}")
            return
        if self.wait >= max(self.patience, 1) and not improved_now:
            self._stop(epoch, f"no improvement of {self.monitor} for {self.wait} epochs")
            return
        self._save_state(epoch)

    def _stop(self, epoch: int, reason: str):
        self.stopped_epoch = epoch
        self.stop_reason = reason
        self.model.stop_training = True
        if self.verbose:
            print(f"EarlyStopping: epoch {epoch + 1}: {reason}.")
        self._save_state(epoch)

    def on_train_end(self, logs=None):
        self._restore()
        self._remove_state(_BEST)
        if hasattr(self, "_tmpdir"):
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            del self._tmpdir
