"""What the monitoring callbacks (EarlyStopping, ReduceLROnPlateau) share: the monitored key and
its direction, the improvement test, the resumable state in `state_dir`, and their checks."""

from __future__ import annotations

import json
import os
from typing import Any

import keras

from kerasboost import _keras
from kerasboost.utils.user_warning import warn
from kerasboost.utils.validation import check_choice, check_number, fail


def direction(monitor: str, mode: str, model: keras.Model | None, caller: str) -> str:
    """`"min"` or `"max"`. `mode="auto"` decides as Keras's own monitors do: a loss (`loss`,
    `val_loss`, or a key ending in `_loss`) is minimized; a metric of `model` goes the way the
    metric declares (Keras's metrics do: accuracies, AUC, precision, recall, R2 up; errors down),
    whatever its name; anything else is a `ValueError`, from `caller`, asking for `mode`."""
    if mode != "auto":
        return mode
    name = monitor[len("val_") :] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    declared = _keras.metric_direction(model, name)
    if declared is not None:
        return "max" if declared == "up" else "min"
    raise ValueError(
        f"{caller}: cannot tell whether `{monitor}` should go up or down: it is "
        f"not a loss, and the model has no metric `{name}` that declares a direction (Keras's "
        f"metrics do; a metric given as a function, or one of your own, does not). Pass "
        f'`mode="max"` or `mode="min"`.'
    )


def improved(value: float, reference: float | None, delta: float, delta_mode: str, way: str) -> bool:
    """Whether `value` beats `reference` by more than `delta` (absolute, or relative to `reference`)."""
    if reference is None:
        return True
    margin = delta * abs(reference) if delta_mode == "relative" else delta
    return value < reference - margin if way == "min" else value > reference + margin


def write_state(path: str, state: dict) -> None:
    """Write `state` as JSON atomically: a kill leaves the old or the new file, never half of one."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(path + ".tmp", path)


class MonitorCallback(keras.callbacks.Callback):
    """A callback that watches one logs key and keeps its state in `state_dir` between runs.

    Subclasses name their state file (`state_file`), define `_reset()` (a fresh state) and
    `_load_state(state)` (take over what a previous run wrote), and call `_write_state(dict)` at
    the end of each epoch; `on_train_begin` resets, then loads what `state_dir` holds.
    """

    state_file = "state.json"

    def __init__(
        self,
        monitor: str,
        mode: str,
        min_delta: float,
        min_delta_mode: str,
        state_dir: str | os.PathLike | None,
        verbose: int,
    ) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise fail("monitor", "a non-empty logs key", monitor)
        self.monitor = monitor
        self.mode = check_choice("mode", mode, ("auto", "min", "max"))
        self.min_delta = check_number("min_delta", min_delta, low=0.0)
        self.min_delta_mode = check_choice("min_delta_mode", min_delta_mode, ("absolute", "relative"))
        if state_dir is not None and not isinstance(state_dir, (str, os.PathLike)):
            raise fail("state_dir", "None or a folder name", state_dir)
        self.state_dir = None if state_dir is None else os.fspath(state_dir)
        if verbose not in (0, 1, True, False):
            raise fail("verbose", "0 or 1", verbose)
        self.verbose = int(verbose)
        self.resumed = False
        self._resolved_direction: str | None = None

    def _direction(self) -> str:
        """The way the monitored value improves, decided at the first epoch that reports it
        (once the model's metrics are built) and kept for the rest of the run."""
        if self._resolved_direction is None:
            self._resolved_direction = direction(self.monitor, self.mode, self.model, type(self).__name__)
        return self._resolved_direction

    def _improves(self, value: float, reference: float | None, delta: float | None = None) -> bool:
        delta = self.min_delta if delta is None else delta
        return improved(value, reference, delta, self.min_delta_mode, self._direction())

    def _monitored(self, logs: dict | None) -> float | None:
        """The monitored value of this epoch's logs; warns (and returns None) when it is missing."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            warn(
                f"{type(self).__name__}: `{self.monitor}` is not in the logs (available: {sorted(logs or {})}).",
            )
            return None
        return float(value)

    # ------------------------------------------------------------------ state

    def _state_path(self, name: str | None = None) -> str:
        assert self.state_dir is not None, "only called with a state_dir"
        return os.path.join(self.state_dir, self.state_file if name is None else name)

    def _write_state(self, state: dict[str, Any]) -> None:
        if self.state_dir is not None:
            write_state(self._state_path(), state)

    def _read_state(self) -> dict[str, Any] | None:
        """The state a previous run wrote, or None; a file that cannot be read is an error that
        names it (training on with a fresh state would silently change the run)."""
        if self.state_dir is None:
            return None
        path = self._state_path()
        if not os.path.exists(path):
            return None
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(
                f"{type(self).__name__}: the state file {path} cannot be read ({type(e).__name__}: {e}). "
                f"Delete it to start this callback afresh, or pass another `state_dir`."
            ) from e
        if not isinstance(state, dict):
            raise ValueError(
                f"{type(self).__name__}: the state file {path} does not hold a JSON object. "
                f"Delete it to start this callback afresh, or pass another `state_dir`."
            )
        return state

    def _remove_state(self, *others: str) -> None:
        """Delete the state file (and `others` in `state_dir`): the run ended, nothing to resume."""
        if self.state_dir is None:
            return
        for name in (self.state_file, *others):
            if os.path.exists(self._state_path(name)):
                os.remove(self._state_path(name))

    def _reset(self) -> None:
        """Start from a fresh state (hook)."""

    def _load_state(self, state: dict[str, Any]) -> None:
        """Take over the state a previous run wrote (hook)."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._first_epoch_seen = False
        self._resolved_direction = None  # the model (and its metrics) may differ from the last run
        self._reset()
        state = self._read_state()
        self.resumed = state is not None
        if state is not None:
            self._load_state(state)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Warn when a run resumes (its first epoch is not 0, as with BackupAndRestore) while the
        `state_dir` holds no state: the callback then starts afresh."""
        if getattr(self, "_first_epoch_seen", True):
            return
        self._first_epoch_seen = True
        if epoch > 0 and self.state_dir is not None and not self.resumed:
            warn(
                f"{type(self).__name__}: training resumes at epoch {epoch + 1} but {self._state_path()} "
                f"does not exist, so this callback starts afresh (its patience and best value are lost). "
                f"Was `state_dir` deleted or changed since the interrupted run?",
            )
