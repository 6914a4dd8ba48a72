"""Survive loss spikes: go back to the last good state and carry on past the batches that caused them."""

from __future__ import annotations

import collections
import math
import os

import keras
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks._learning_rate_control import LearningRateControl
from kerasboost.optimizers.hidden_variables import hidden_variables
from kerasboost.optimizers.wrapper import optimizer_chain
from kerasboost.utils.user_warning import warn
from kerasboost.utils.validation import check_bool, check_number, fail


class _Snapshot:
    """The values of the restored variables at one step, in memory or in an `.npz` file."""

    def __init__(self, values: list, epoch: int, step: int, tracker: tuple, path: str | None) -> None:
        self.epoch, self.step, self.tracker, self.path = epoch, step, tracker, path
        if path is None:
            self._values: list | None = values
        else:
            self._values = None
            partial = path + ".partial.npz"
            np.savez(partial, *values)
            os.replace(partial, path)  # whole or absent, never half written

    def values(self) -> list:
        if self._values is not None:
            return self._values
        with np.load(self.path) as data:  # type: ignore[arg-type]
            return [data[f"arr_{i}"] for i in range(len(data.files))]


@kerasboost_export("kerasboost.callbacks.SpikeRollback", register=False)
class SpikeRollback(keras.callbacks.Callback):
    """Undo a loss spike: restore the last good state and train on past the batches behind it.

    A bad batch or an unlucky step can send the training loss up by orders of
    magnitude, after which training diverges or spends epochs recovering. The
    practice of large-model training (PaLM, OLMo) is to go back to a recent
    good state and skip the data that led to the spike. This callback does
    that inside `fit`:

    - **state**: every `snapshot_every` steps it copies the model's variables
      (weights, batch-norm statistics, seed-generator states), the optimizer's
      variables (moments, loss scale, wrappers' state, but not its step
      counter: schedules stay on the data's clock) and the metrics' running
      values, to host memory (or to `directory`). A copy becomes the *good*
      state once the next step's loss is found normal, so a state already
      damaged by its last update is never kept as good.
    - **spike**: the loss of a step is the change of the running mean Keras
      reports (exact for equal batch sizes; with `steps_per_execution > 1`,
      the mean over the execution's steps, and a spike is seen at the end of
      its execution). A loss is a spike when it is not finite, or when it
      exceeds `factor` times the median of the last `window` normal losses
      (after `min_history` of them).
    - **rollback**: the good state is restored (the metrics too, so the
      epoch's logged loss leaves the spike out), the batches since it are
      skipped (training goes on with the next batch: the data iterator is not
      rewound), and, with `learning_rate_factor < 1`, the learning rate is
      multiplied by it for `cooldown_steps` steps. Each rollback is printed
      (`verbose`), kept in `rollbacks` (step, epoch, batch, loss, threshold,
      the step restored) and counted in `logs["rollbacks"]` at each epoch's end;
      `losses` keeps every `(step, loss)` it checked, spikes included, to draw.
      After `max_rollbacks` rollbacks to the same good state (no good state
      found in between), the next spike stops training with that state
      restored: a run that spikes again at every attempt is diverging, not
      unlucky.

    Works with `jit_compile=True` (it acts between compiled steps), on
    TensorFlow (`MirroredStrategy` included) and JAX. Use it together with
    `kerasboost.optimizers.SkipNonFinite`: that one skips a step whose
    gradients are not finite inside the compiled step, before any weight
    moves; this one catches finite spikes, and the damage done by the steps
    before a spike shows.

    Args:
        factor: float > 1, a loss above `factor` times the running median is a
            spike. Defaults to 10.0.
        window: int >= 1, how many recent normal losses the median is taken
            over. Defaults to 100.
        min_history: int >= 1, normal losses needed before finite spikes are
            detected (non-finite ones always are). Defaults to 20.
        snapshot_every: int >= 1, steps between copies of the state (the steps
            a rollback may lose). Defaults to 50.
        learning_rate_factor: float in (0, 1], multiplies the learning rate
            for `cooldown_steps` steps after a rollback. Defaults to 1.0 (off).
        cooldown_steps: int >= 0, the steps of that reduction. Defaults to 0.
        max_rollbacks: int >= 0, rollbacks in a row to the same good state
            before a spike stops training. Defaults to 5.
        directory: None (default: copies in host memory) or a folder for the
            copies (`.npz` files; for models whose state does not fit in memory
            twice).
        verbose: bool, print each rollback. Defaults to True.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    >>> y = x @ np.ones((4, 1), "float32")
    >>> x[96:104] *= 1e4   # one poisoned batch
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    >>> rollback = kerasboost.callbacks.SpikeRollback(min_history=5, snapshot_every=1, verbose=False)
    >>> history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[rollback])
    >>> [r["batch"] for r in rollback.rollbacks], bool(history.history["loss"][0] < 1.0)
    ([12], True)

    ```

    References:
        - Chowdhery et al., 2022, "PaLM: Scaling Language Modeling with
          Pathways", https://arxiv.org/abs/2204.02311 (section 5.1: restart
          from a checkpoint before the spike and skip the batches)
        - Groeneveld et al., 2024, "OLMo: Accelerating the Science of Language
          Models", https://arxiv.org/abs/2402.00838
    """

    def __init__(
        self,
        factor: float = 10.0,
        window: int = 100,
        min_history: int = 20,
        snapshot_every: int = 50,
        learning_rate_factor: float = 1.0,
        cooldown_steps: int = 0,
        max_rollbacks: int = 5,
        directory: str | None = None,
        verbose: bool = True,
    ) -> None:
        super().__init__()
        self.factor = check_number("factor", factor, low=1.0, low_inclusive=False)
        self.window = check_number("window", window, low=1, integer=True)
        self.min_history = check_number("min_history", min_history, low=1, integer=True)
        if self.min_history > self.window:
            raise fail("min_history", f"an integer <= window ({self.window})", min_history)
        self.snapshot_every = check_number("snapshot_every", snapshot_every, low=1, integer=True)
        self.learning_rate_factor = check_number(
            "learning_rate_factor", learning_rate_factor, low=0.0, high=1.0, low_inclusive=False
        )
        self.cooldown_steps = check_number("cooldown_steps", cooldown_steps, low=0, integer=True)
        self.max_rollbacks = check_number("max_rollbacks", max_rollbacks, low=0, integer=True)
        if directory is not None and not isinstance(directory, (str, os.PathLike)):
            raise fail("directory", "None or a folder path", directory)
        self.directory = None if directory is None else os.fspath(directory)
        self.verbose = check_bool("verbose", verbose)
        self.rollbacks: list[dict] = []
        self.losses: list[tuple[int, float]] = []
        self._file = 0  # which of the two files the next copy goes to (with `directory`)

    # ------------------------------------------------------------------ state

    def _variables(self) -> list:
        model = self.model  # on JAX, reading `self.model` brings the trainer's state into the variables
        skip = [o.iterations for o in optimizer_chain(model.optimizer)] + hidden_variables(model.optimizer)
        optimizer_variables = [v for v in model.optimizer.variables if not any(v is s for s in skip)]
        return list(model.variables) + optimizer_variables

    def _take(self) -> _Snapshot:
        values = [keras.ops.convert_to_numpy(v) for v in self._variables()]
        path = None
        if self.directory is not None:
            self._file = 1 - self._file  # two files: the good copy and the one being checked
            path = os.path.join(self.directory, f"spike_rollback_{self._file}.npz")
        tracker = (self._tracker_steps, self._mean)
        metrics = [keras.ops.convert_to_numpy(v) for v in self.model.metrics_variables]
        return _Snapshot(values + metrics, self._epoch, self._step, tracker, path)

    def _restore(self, snapshot: _Snapshot) -> None:
        variables = self._variables()
        metrics = list(self.model.metrics_variables)
        values = snapshot.values()
        for variable, value in zip(variables, values[: len(variables)]):
            variable.assign(value)
        if snapshot.epoch == self._epoch:  # the epoch's running metrics as they were then
            for variable, value in zip(metrics, values[len(variables) :]):
                variable.assign(value)
            self._tracker_steps, self._mean = snapshot.tracker
        else:  # a copy from an earlier epoch: this epoch's metrics start again
            for metric in self.model.metrics:
                metric.reset_state()
            self._tracker_steps, self._mean = 0, 0.0

    # ------------------------------------------------------------------ hooks

    def on_train_begin(self, logs=None):
        self.rollbacks = []
        self.losses = []
        self._history: collections.deque = collections.deque(maxlen=self.window)
        self._step, self._epoch, self._file = 0, 0, 0
        self._tracker_steps, self._mean, self._last_batch = 0, 0.0, -1
        self._good: _Snapshot | None = None
        self._pending: _Snapshot | None = None
        self._since_snapshot = 0
        self._cooldown_left = 0
        self._in_a_row = 0
        self._control = None
        self._temporary = None
        if self.directory is not None:
            os.makedirs(self.directory, exist_ok=True)
        if self.learning_rate_factor < 1.0 and self.cooldown_steps > 0:
            self._control = LearningRateControl.acquire(self.model, self)
        self._good = self._take()  # the state fit starts from is good by definition

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._tracker_steps, self._mean, self._last_batch = 0, 0.0, -1

    def _batch_loss(self, batch: int, logs: dict) -> tuple[float | None, int]:
        """The mean loss of the steps since the last call (from Keras's running mean), and
        their number."""
        mean = logs.get("loss")
        steps = batch - self._last_batch
        self._step += steps
        self._since_snapshot += steps
        self._last_batch = batch
        if mean is None:
            return None, steps
        mean = float(mean)
        total = self._tracker_steps + steps
        loss = (mean * total - self._mean * self._tracker_steps) / steps if math.isfinite(mean) else mean
        self._tracker_steps, self._mean = total, mean
        return loss, steps

    def _threshold(self) -> float:
        if len(self._history) < self.min_history:
            return math.inf
        return self.factor * float(np.median(self._history))

    def on_train_batch_end(self, batch, logs=None):
        loss, steps = self._batch_loss(batch, logs or {})
        if loss is None:
            return
        self._cool_down(steps)
        self.losses.append((self._step, loss))
        threshold = self._threshold()
        if math.isfinite(loss) and loss <= threshold:
            self._history.append(loss)
            if self._pending is not None:  # a normal loss after the copy: the copy is good
                self._good, self._pending = self._pending, None
                self._in_a_row = 0
            if self._since_snapshot >= self.snapshot_every:
                self._pending = self._take()
                self._since_snapshot = 0
            return
        self._roll_back(batch, loss, threshold)

    def _roll_back(self, batch: int, loss: float, threshold: float) -> None:
        assert self._good is not None
        record = {
            "step": self._step,
            "epoch": self._epoch,
            "batch": batch,
            "loss": loss,
            "threshold": threshold,
            "restored_step": self._good.step,
        }
        self._restore(self._good)
        self._pending = None
        self._since_snapshot = 0
        self._last_batch = batch
        if self._in_a_row >= self.max_rollbacks:
            self.model.stop_training = True
            warn(
                f"SpikeRollback: a loss spike at step {self._step} (loss {loss:.4g}) after {self._in_a_row} "
                f"rollbacks in a row (max_rollbacks={self.max_rollbacks}): training stopped with the state of step "
                f"{self._good.step} restored. The run is diverging: lower the learning rate or look at the data."
            )
            return
        self.rollbacks.append(record)
        self._in_a_row += 1
        if self._control is not None:
            if self._cooldown_left == 0:
                self._scale_learning_rate(self.learning_rate_factor)
            self._cooldown_left = self.cooldown_steps
        if self.verbose:
            print(
                f"SpikeRollback: epoch {self._epoch + 1}, batch {batch + 1} (step {self._step}): loss {loss:.4g} "
                f"above {threshold:.4g}; restored the state of step {self._good.step}, skipping the batches since",
                flush=True,
            )

    def _cool_down(self, steps: int) -> None:
        if self._control is None or self._cooldown_left == 0:
            return
        self._cooldown_left = max(0, self._cooldown_left - steps)
        if self._cooldown_left == 0:
            self._scale_learning_rate(1.0 / self.learning_rate_factor)

    def _scale_learning_rate(self, factor: float) -> None:
        self.model  # noqa: B018 (on JAX, reading it brings the trainer's state into the variables)
        scale = self._control.scale
        scale.assign(float(keras.ops.convert_to_numpy(scale)) * factor)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["rollbacks"] = len(self.rollbacks)

    def on_train_end(self, logs=None):
        if self._control is not None:
            if self._cooldown_left:
                self._scale_learning_rate(1.0 / self.learning_rate_factor)
            self._control.release(self)
            self._control = None
        self._good = self._pending = None
        if self.directory is not None:
            for i in (0, 1):
                path = os.path.join(self.directory, f"spike_rollback_{i}.npz")
                if os.path.exists(path):
                    os.remove(path)
