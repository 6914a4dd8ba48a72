"""Snapshot ensembles (Huang et al. 2017) as a `fit` callback."""

from __future__ import annotations

import os

import keras
import numpy as np

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.ensemble.averaging import average_models
from kerasboost.optimizers.wrapper import optimizer_chain
from kerasboost.utils.validation import check_bool, check_number, fail


@kerasboost_export("kerasboost.ensemble.SnapshotEnsemble", register=False)
class SnapshotEnsemble(keras.callbacks.Callback):
    """Keep the weights at the end of every learning-rate cycle, then average the snapshots' outputs.

    Train with a schedule that restarts (`kerasboost.schedules.CosineRestarts`,
    `CyclicalLearningRate`, ...): each cycle ends in a low-rate minimum, and
    the models at those minima differ enough for their average to beat each
    of them, for the cost of one training run. A snapshot is taken at the end
    of an epoch when

    - `cycle_epochs` is given: every `cycle_epochs` epochs;
    - otherwise: the learning rate restarts there (the schedule's value at the
      next step is above the value at the last one); cycles should then end on
      epoch boundaries (`first_cycle_steps` a multiple of the steps per epoch);

    and at the end of training when `snapshot_at_end` (the last cycle has no
    restart after it). Snapshots are host copies of the weights (and
    `snapshot_{k}.weights.h5` files in `directory`); `max_snapshots` keeps the
    latest ones. `models()` rebuilds them (functional and Sequential models),
    `ensemble()` averages them in one model (`average_models`).

    Weight averaging (`StochasticWeightAveraging`) is the other way to use the
    same trajectory: one model, no extra inference cost, but it needs the
    averaged points in one basin (one cycle of a constant or cyclical rate);
    a snapshot ensemble averages outputs of models from different basins and
    costs one forward pass per member.

    Args:
        cycle_epochs: optional int >= 1, the cycle length in epochs.
        max_snapshots: optional int >= 1, keep the latest this many.
        directory: optional folder for the snapshots' weight files.
        snapshot_at_end: bool, take a snapshot when training ends (unless one
            was just taken). Defaults to True.
        verbose: 0 or 1.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> schedule = kerasboost.schedules.CosineRestarts(0.1, first_cycle_steps=2)   # 2 steps = 2 epochs
    >>> model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    >>> snapshots = kerasboost.ensemble.SnapshotEnsemble()
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=4, epochs=6, verbose=0, callbacks=[snapshots])
    >>> snapshots.epochs   # restarts after epochs 2 and 4, and the end
    [1, 3, 5]

    ```

    References:
        - Huang et al., 2017, "Snapshot Ensembles: Train 1, get M for Free",
          https://arxiv.org/abs/1704.00109
        - Loshchilov & Hutter, 2017, "SGDR: Stochastic Gradient Descent with
          Warm Restarts", https://arxiv.org/abs/1608.03983
    """

    def __init__(
        self,
        cycle_epochs: int | None = None,
        max_snapshots: int | None = None,
        directory: str | None = None,
        snapshot_at_end: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        self.cycle_epochs = check_number("cycle_epochs", cycle_epochs, low=1, integer=True, allow_none=True)
        self.max_snapshots = check_number("max_snapshots", max_snapshots, low=1, integer=True, allow_none=True)
        if directory is not None and not isinstance(directory, (str, os.PathLike)):
            raise fail("directory", "None or a folder name", directory)
        self.directory = None if directory is None else os.fspath(directory)
        self.snapshot_at_end = check_bool("snapshot_at_end", snapshot_at_end)
        if verbose not in (0, 1, True, False):
            raise fail("verbose", "0 or 1", verbose)
        self.verbose = int(verbose)
        self.snapshots: list[list[np.ndarray]] = []
        self.epochs: list[int] = []
        self.files: list[str] = []

    def on_train_begin(self, logs=None):
        self.snapshots, self.epochs, self.files = [], [], []
        self._last_epoch = None
        if self.cycle_epochs is None:
            schedule = _keras.learning_rate_value(optimizer_chain(self.model.optimizer)[-1])
            if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
                raise ValueError(
                    "SnapshotEnsemble finds cycle ends from the learning-rate schedule, but the optimizer "
                    "holds a constant rate: compile with a restarting schedule (CosineRestarts, "
                    "CyclicalLearningRate) or pass cycle_epochs."
                )
            self._schedule = schedule

    def _restarts(self) -> bool:
        step = int(keras.ops.convert_to_numpy(optimizer_chain(self.model.optimizer)[-1].iterations))
        if step < 1:
            return False
        after = float(keras.ops.convert_to_numpy(self._schedule(step)))
        before = float(keras.ops.convert_to_numpy(self._schedule(step - 1)))
        return after > before

    def _take(self, epoch: int):
        self.snapshots.append([np.array(w) for w in self.model.get_weights()])
        self.epochs.append(epoch)
        if self.directory is not None:
            os.makedirs(self.directory, exist_ok=True)
            path = os.path.join(self.directory, f"snapshot_{len(self.files):03d}.weights.h5")
            self.model.save_weights(path, overwrite=True)
            self.files.append(path)
        if self.max_snapshots is not None and len(self.snapshots) > self.max_snapshots:
            del self.snapshots[0], self.epochs[0]
        self._last_epoch = epoch
        if self.verbose:
            print(f"SnapshotEnsemble: epoch {epoch + 1}: snapshot {len(self.epochs)} kept.")

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        due = (epoch + 1) % self.cycle_epochs == 0 if self.cycle_epochs is not None else self._restarts()
        if due:
            self._take(epoch)

    def on_train_end(self, logs=None):
        epoch = getattr(self, "_epoch", None)
        if self.snapshot_at_end and epoch is not None and self._last_epoch != epoch:
            self._take(epoch)

    def models(self) -> list[keras.Model]:
        """The snapshots as models (clones of the trained model with the snapshot weights)."""
        out = []
        for i, weights in enumerate(self.snapshots):
            clone = keras.models.clone_model(self.model)
            clone.set_weights(weights)
            clone.name = f"{self.model.name}_snapshot_{i}"
            out.append(clone)
        return out

    def ensemble(self, weights=None, mode: str = "mean", name: str = "snapshot_ensemble") -> keras.Model:
        """`average_models` over the snapshots (needs at least 2)."""
        if len(self.snapshots) < 2:
            raise ValueError(
                f"SnapshotEnsemble: {len(self.snapshots)} snapshot(s) taken; an ensemble needs at least 2."
            )
        return average_models(self.models(), weights=weights, mode=mode, name=name)
