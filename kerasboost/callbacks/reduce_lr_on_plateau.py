"""Reduce the learning rate when a metric stops improving, for float rates and schedules alike."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks import _compiled_steps
from kerasboost.callbacks._learning_rate_control import LearningRateControl, is_float_rate
from kerasboost.callbacks._monitor import MonitorCallback
from kerasboost.optimizers.wrapper import optimizer_chain
from kerasboost.schedules.scaled import Scaled
from kerasboost.utils.user_warning import warn
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.callbacks.ReduceLROnPlateau", register=False)
class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement.

    What Keras's `ReduceLROnPlateau` does, for every optimizer: Keras's raises
    `TypeError` when the optimizer holds a `LearningRateSchedule`. Here:

    - a float rate is reduced in place (`rate <- max(rate * factor, min_lr)`),
      as Keras does; it is saved with the optimizer;
    - a schedule keeps its shape and is multiplied, inside the compiled step, by
      a scale that each reduction multiplies by `factor` (never bringing the
      current rate below `min_lr`). When training ends the scale is folded into
      the optimizer as `kerasboost.schedules.Scaled(schedule, scale)`, so a
      saved model and a later `fit` continue at the reduced level.

    `learning_rate` (the rate applied at the end of the epoch, after any
    reduction) is added to the logs. With `state_dir`, `wait`, `best`, the
    cooldown and the schedule's scale survive an interrupted run resumed with
    `BackupAndRestore` (a float rate is restored with the optimizer).

    Differences from `keras.callbacks.ReduceLROnPlateau` (3.15): it takes
    schedules (above); and `cooldown=c` skips `c` epochs after a reduction, as
    documented by both and as PyTorch's `ReduceLROnPlateau` does, where Keras's
    skips `c - 1` (it decrements the counter before testing it, so
    `cooldown=1` changes nothing). With `cooldown=0`, the same reductions at the
    same epochs as Keras's.

    Args:
        monitor: the logs key to watch. Defaults to `"val_loss"`.
        factor: float in (0, 1), the multiplier of each reduction. Defaults to 0.1.
        patience: int >= 0, epochs without improvement before a reduction. Defaults to 10.
        mode: `"auto"`, `"min"` or `"max"`. `"auto"` decides as Keras does: a loss is
            minimized, a metric goes the way it declares (Keras's metrics do, whatever name
            they are given); for anything else, a `ValueError` at the first epoch asks for
            `"min"` or `"max"`.
        min_delta: float >= 0, the least change that counts as improvement. Defaults to 1e-4.
        min_delta_mode: `"absolute"` (default) or `"relative"` (a fraction of the best value).
        cooldown: int >= 0, epochs after a reduction that are not counted (the
            `cooldown + 1`-th epoch after it is the first counted). Defaults to 0.
        min_lr: float >= 0, the floor of the learning rate. Defaults to 0.0.
        state_dir: optional folder for the resumable state (removed when training ends).
        verbose: 0 or 1 (print each reduction).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=1000)
    >>> model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    >>> reduce = kerasboost.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1, mode="max")
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[reduce])
    >>> # the loss fell, but with mode="max" it never improves
    >>> model.optimizer.get_config()["learning_rate"]["registered_name"], reduce.scale
    ('kerasboost>Scaled', 0.25)

    ```

    References:
        - He et al., 2016, "Deep Residual Learning for Image Recognition",
          https://arxiv.org/abs/1512.03385 (divide the rate by 10 when the error plateaus)
    """

    state_file = "reduce_lr_on_plateau.json"

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        min_delta_mode: str = "absolute",
        cooldown: int = 0,
        min_lr: float = 0.0,
        state_dir: str | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta, min_delta_mode, state_dir, verbose)
        self.factor = check_number("factor", factor, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        self.patience = check_number("patience", patience, low=0, integer=True)
        self.cooldown = check_number("cooldown", cooldown, low=0, integer=True)
        self.min_lr = check_number("min_lr", min_lr, low=0.0)
        self._control = None
        self._reset()

    def _reset(self):
        self.wait = 0
        self.best = None
        self.cooldown_counter = 0
        self.scale = 1.0
        self.reductions: list[tuple[int, float]] = []

    # ------------------------------------------------------------------ state

    def _save_state(self):
        state = {"wait": self.wait, "best": self.best, "cooldown_counter": self.cooldown_counter, "scale": self.scale}
        self._write_state(state)

    def _load_state(self, state: dict[str, Any]) -> None:
        self.wait, self.best = state["wait"], state["best"]
        self.cooldown_counter, self.scale = state["cooldown_counter"], state["scale"]

    # ------------------------------------------------------------------ hooks

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if not is_float_rate(self.model.optimizer):
            self._control = LearningRateControl.acquire(self.model, self)
            self._control.scale.assign(self.scale)

    def _current(self) -> float:
        return float(keras.ops.convert_to_numpy(optimizer_chain(self.model.optimizer)[-1].learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        value = self._monitored(logs)
        if value is not None and math.isfinite(value):
            self._update(epoch, value)
        logs["learning_rate"] = self._current()
        self._save_state()

    def _update(self, epoch: int, value: float):
        improved = self._improves(value, self.best)
        if improved:
            self.best, self.wait = value, 0
        if self.cooldown_counter > 0:
            # the `cooldown` epochs after a reduction are not counted (PyTorch's order; Keras
            # decrements first and so counts the last of them)
            self.cooldown_counter -= 1
            self.wait = 0
            return
        if improved:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        optimizer = optimizer_chain(self.model.optimizer)[-1]
        old = self._current()
        if self._control is None:
            base = float(keras.ops.convert_to_numpy(_keras.learning_rate_value(optimizer)))
            if base <= np.float32(self.min_lr):
                return
            optimizer.learning_rate = max(base * self.factor, self.min_lr)
        else:
            base = self._control.base_learning_rate()
            if base * self.scale <= np.float32(self.min_lr):
                return
            floor = self.min_lr / base if base > 0 else 0.0
            self.scale = min(self.scale, max(self.scale * self.factor, floor))
            self._control.scale.assign(self.scale)
        new = self._current()
        self.reductions.append((epoch, new))
        self.cooldown_counter, self.wait = self.cooldown, 0
        if self.verbose:
            print(f"ReduceLROnPlateau: epoch {epoch + 1}: learning rate {old:.4g} -> {new:.4g}.")

    def on_train_end(self, logs=None):
        if self._control is not None:
            if self.scale != 1.0:
                optimizer = self._control.optimizer
                schedule = _keras.learning_rate_value(optimizer)
                if isinstance(schedule, Scaled):
                    _keras.set_learning_rate_value(optimizer, Scaled(schedule.schedule, schedule.factor * self.scale))
                    _compiled_steps.invalidate(self.model)  # the compiled steps hold the old schedule
                elif isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
                    _keras.set_learning_rate_value(optimizer, Scaled(schedule, self.scale))
                    _compiled_steps.invalidate(self.model)
                else:
                    warn(
                        f"ReduceLROnPlateau: the optimizer's learning rate is a plain callable, which cannot "
                        f"carry the reduction (x{self.scale:.4g}) past this fit; use a LearningRateSchedule.",
                    )
                self._control.scale.assign(1.0)
            self._control.release(self)
            self._control = None
        self._remove_state()
