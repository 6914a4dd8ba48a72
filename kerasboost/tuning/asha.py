"""Asynchronous successive halving with paused trials: `kerasboost.tuning.ASHA`.

A configuration trains to the first rung (`min_epochs`) and pauses there, its weights and
optimizer state saved. Whenever a worker asks for work, the best paused configuration of the
highest rung that ranks in its rung's top `1 / reduction_factor` resumes from where it paused
and trains to the next rung; when none does, a new configuration starts. Each stretch between
two rungs is one keras-tuner trial, with the values keras-tuner's own Hyperband uses
(`tuner/epochs`, `tuner/initial_epoch`, `tuner/trial_id`: the trial it resumes), so a
configuration's trials form a chain that ends at `max_epochs` or at the rung where it ranked too
low. Unlike `ASHAPruner`, which must decide at a rung whether a running trial goes on, a
paused configuration can still be resumed later, once later configurations show it ranks high.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections import OrderedDict
from typing import Any

import keras
import keras_tuner

from kerasboost.api_export import kerasboost_export
from kerasboost.tuning.pruning import CUT, INTERMEDIATE, _PruningTuner
from kerasboost.utils.validation import check_number, fail

EPOCHS, INITIAL_EPOCH, RESUMED_FROM, RUNG = "tuner/epochs", "tuner/initial_epoch", "tuner/trial_id", "tuner/rung"
PAUSED = "paused.weights.h5"  # a trial's state at its last epoch, weights and optimizer: where its successor resumes


def asha_rungs(min_epochs: int, reduction_factor: int, max_epochs: int) -> list[int]:
    """The rungs: `min_epochs * reduction_factor ** k` below `max_epochs`, then `max_epochs`."""
    rungs = [min_epochs]
    while rungs[-1] * reduction_factor < max_epochs:
        rungs.append(rungs[-1] * reduction_factor)
    if rungs[-1] < max_epochs:
        rungs.append(max_epochs)
    return rungs


class ASHAOracle(keras_tuner.Oracle):
    """The oracle of `kerasboost.tuning.ASHA` (Li et al. 2020, Algorithm 2, on keras-tuner).

    Its state is its trials: a trial's rung and the trial it resumed are among its values, so a
    search reloaded from its directory (or a chief restarted) goes on from the trials it finds.
    """

    def __init__(
        self,
        objective: Any = None,
        max_epochs: int = 12,
        min_epochs: int = 1,
        reduction_factor: int = 3,
        max_configurations: int | None = 10,
        seed: int | None = None,
        hyperparameters: Any = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
    ) -> None:
        self.min_epochs = check_number("min_epochs", min_epochs, low=1, integer=True)
        self.reduction_factor = check_number("reduction_factor", reduction_factor, low=2, integer=True)
        self.max_epochs = check_number("max_epochs", max_epochs, low=1, integer=True)
        if self.min_epochs > self.max_epochs:
            raise fail("min_epochs", f"at most max_epochs ({self.max_epochs})", min_epochs)
        if max_configurations is not None:
            max_configurations = check_number("max_configurations", max_configurations, low=1, integer=True)
        self.max_configurations = max_configurations
        super().__init__(
            objective=objective,
            max_trials=None,  # trials are stretches of configurations: `max_configurations` bounds the search
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        self.rungs = asha_rungs(self.min_epochs, self.reduction_factor, self.max_epochs)

    # --------------------------------------------------------------------------- the rungs

    def _sign(self) -> float:
        return 1.0 if self.objective.direction == "max" else -1.0

    def _reached(self, trial) -> bool:
        """Whether the trial completed its stretch: it reported its last epoch's objective."""
        name = INTERMEDIATE + self.objective.name
        if trial.status != "COMPLETED" or trial.score is None:
            return False
        if not trial.metrics.exists(name):
            return False
        steps = [o.step for o in trial.metrics.get_history(name)]
        return bool(steps) and max(steps) >= trial.hyperparameters.values[EPOCHS]

    def _cut(self, trial) -> bool:
        """Whether the time budget ended the trial's stretch before its rung: it did not pause
        there, and its configuration resumes again from the pause that this stretch resumed."""
        return trial.status == "COMPLETED" and trial.metrics.exists(CUT) and not self._reached(trial)

    def rung_values(self) -> list[dict[str, float]]:
        """For each rung, `{trial_id: the best objective its configuration reached up to that rung}`
        (larger is better: a minimized objective negated), over the trials that reached it."""
        sign = self._sign()
        values: list[dict[str, float]] = [{} for _ in self.rungs]
        best: dict[str, float] = {}
        for trial_id in sorted(self.trials, key=lambda i: self.trials[i].hyperparameters.values.get(RUNG, 0)):
            trial = self.trials[trial_id]
            rung = trial.hyperparameters.values.get(RUNG)
            if rung is None or not self._reached(trial):
                continue
            value = sign * float(trial.score)
            parent = trial.hyperparameters.values.get(RESUMED_FROM)
            if parent in best:  # the configuration's best so far: its earlier stretches' epochs count
                value = max(value, best[parent])
            best[trial_id] = values[rung][trial_id] = value
        return values

    def _promotion(self, final: bool) -> tuple[str, int] | None:
        """`(trial_id, rung)` of the paused trial to resume, or None. Each rung's top
        `1 / reduction_factor` goes on; once no new configuration may start (`final`), at least
        each rung's best does, or no configuration of a small search reaches `max_epochs`."""
        resumed = {t.hyperparameters.values.get(RESUMED_FROM) for t in self.trials.values() if not self._cut(t)}
        values = self.rung_values()
        for rung in range(len(self.rungs) - 2, -1, -1):
            keep = len(values[rung]) // self.reduction_factor
            if final:
                keep = max(1, keep)
            ranked = sorted(values[rung], key=lambda i: (-values[rung][i], i))[:keep]
            waiting = [i for i in ranked if i not in resumed]
            if waiting:
                return waiting[0], rung
        return None

    def _first_stretches(self) -> list:
        """The trials at the first rung (a configuration's first stretch, or one started again), in order."""
        return [self.trials[i] for i in sorted(self.trials) if self.trials[i].hyperparameters.values.get(RUNG) == 0]

    def configurations(self) -> int:
        """The configurations started so far (those with a trial at the first rung)."""
        return len({self._compute_values_hash(t.hyperparameters.values) for t in self._first_stretches()})

    def _restart(self) -> dict | None:
        """The values of a configuration whose first stretch the time budget cut before the
        first rung (it paused nowhere, so it starts again from epoch 0), unless another first
        stretch of it is running or has completed its rung; None if there is none."""
        first = self._first_stretches()
        going = {self._compute_values_hash(t.hyperparameters.values) for t in first if not self._cut(t)}
        for trial in first:
            if self._cut(trial) and self._compute_values_hash(trial.hyperparameters.values) not in going:
                return copy.copy(trial.hyperparameters.values)
        return None

    def populate_space(self, trial_id):
        job = self._promotion(final=False)
        restart = self._restart() if job is None else None
        if restart is not None:
            return {"status": "RUNNING", "values": restart}
        if job is None and (self.max_configurations is None or self.configurations() < self.max_configurations):
            values = self._random_values()
            if values is not None:
                values.update({EPOCHS: self.rungs[0], INITIAL_EPOCH: 0, RUNG: 0})
                return {"status": "RUNNING", "values": values}
        if job is None and not self.ongoing_trials:
            job = self._promotion(final=True)
        if job is None:
            return {"status": "IDLE" if self.ongoing_trials else "STOPPED"}
        paused, rung = job
        values = copy.copy(self.trials[paused].hyperparameters.values)
        values.update(
            {EPOCHS: self.rungs[rung + 1], INITIAL_EPOCH: self.rungs[rung], RUNG: rung + 1, RESUMED_FROM: paused}
        )
        return {"status": "RUNNING", "values": values}

    def _compute_values_hash(self, values):
        # a configuration's stretches are one configuration: a new draw never repeats it
        values = {k: v for k, v in values.items() if not k.startswith("tuner/")}
        return super()._compute_values_hash(values)

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "max_epochs": self.max_epochs,
                "min_epochs": self.min_epochs,
                "reduction_factor": self.reduction_factor,
                "max_configurations": self.max_configurations,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.max_epochs, self.min_epochs = state["max_epochs"], state["min_epochs"]
        self.reduction_factor, self.max_configurations = state["reduction_factor"], state["max_configurations"]
        self.rungs = asha_rungs(self.min_epochs, self.reduction_factor, self.max_epochs)


class _Pause(keras.callbacks.Callback):
    """Writes the model's state (weights and optimizer) after the stretch's last epoch, for the
    trial that may resume it. First among the callbacks, so no later one (an early stopping that
    restores its best weights) has changed the model yet."""

    def __init__(self, path: str, last_epoch: int) -> None:
        super().__init__()
        self.path, self.last_epoch, self.written = path, last_epoch, False

    def __deepcopy__(self, memo):
        return self  # keras-tuner copies a trial's callbacks: `written` is read from this one

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.last_epoch:
            self.model.save_weights(self.path)
            self.written = True


def _variable_bytes(model) -> int:
    """The bytes of a model's variables and its optimizer's."""
    variables = list(model.weights) + list(getattr(getattr(model, "optimizer", None), "variables", []))
    return sum(math.prod(v.shape) * _itemsize(v.dtype) for v in variables)


def _itemsize(dtype: Any) -> int:
    bits = re.search(r"\d+", str(dtype))  # Keras' dtype names: "float32", "bfloat16", "bool", ...
    return 1 if bits is None else max(1, int(bits.group()) // 8)


@kerasboost_export("kerasboost.tuning.ASHA", register=False)
class ASHA(_PruningTuner, keras_tuner.Tuner):
    """Asynchronous successive halving (ASHA), its trials paused at each rung and resumed when they rank high.

    The rungs are the epochs `min_epochs * reduction_factor ** k` below `max_epochs`, and
    `max_epochs`. A new configuration (drawn at random, as `RandomSearch`) trains to the first
    rung and pauses: its weights and optimizer state are written to its trial's directory.
    Whenever a worker is free, the best paused configuration of the highest rung that ranks
    in the top `1 / reduction_factor` of the configurations that reached its rung resumes
    from its pause and trains to the next rung; if there is none, the next configuration
    starts. After `max_configurations` configurations, each rung's best goes on too, until a
    configuration has trained `max_epochs`. This is Li et al.'s ASHA as the paper writes it;
    `RandomSearch(pruner=ASHAPruner(...))` is the variant of Optuna's `SuccessiveHalvingPruner`
    and Ray Tune's `ASHAScheduler`, which decides at the rung whether a running trial goes on
    and can never resume one it stopped.

    Each stretch from one rung to the next is a keras-tuner trial whose values hold
    `tuner/epochs` (the rung it trains to), `tuner/initial_epoch`, `tuner/rung` and
    `tuner/trial_id` (the trial it resumes), as in keras-tuner's `Hyperband`; its score is the
    best objective of its own epochs, and `get_best_models` loads the best trial's best epoch.
    `trials_dataframe` shows the stretches (`epochs`, `initial_epoch`, `resumed_from`) and
    `plot_intermediate` draws each configuration's curve through its stretches. The resumed
    training goes on with the same optimizer state, so a learning-rate schedule and the
    epoch count continue where they paused; only the data order after the pause is a new
    draw. A paused state is removed once the stretch that resumed it has completed: the
    search's directory keeps one per configuration that may still resume. With keras-tuner's
    distributed search (`run_distributed_search`), the chief ranks every worker's trials; the
    workers share the search's directory, where the paused states are.

    Args:
        hypermodel: a `HyperModel` or a `build(hp)` function, as keras-tuner's. The model must
            report the objective at each epoch's end (`fit` with validation data for a
            `val_...` objective).
        objective: as keras-tuner's (a metric name, or a `keras_tuner.Objective`).
        max_epochs: int >= 1, the epochs of a configuration that climbs every rung. Defaults
            to the hypermodel's `epochs` (kerasboost's HyperModels have one); needed otherwise.
        min_epochs: int >= 1, the first rung. Defaults to 1.
        reduction_factor: int >= 2: a rung's top `1 / reduction_factor` goes on. Defaults to 3.
        max_configurations: int >= 1 or None, the configurations drawn (trials count their
            stretches, so the trials table has more rows). None: as many as `max_time` allows.
            Defaults to 10.
        max_time: None (default) or seconds: no trial starts after `max_time` seconds of this
            `search` call, and a running one stops at its next epoch end; `search` again
            (`overwrite=False`) goes on. A resumed stretch stopped short of its rung is
            recorded (`cut_at_epoch`), and its configuration resumes again from the same pause
            (a first stretch stopped short of the first rung, with nothing paused, starts again).
        defer_jit_compile: bool. On the TensorFlow backend, a configuration's first stretch
            (up to the first rung, the only one most configurations train) runs without XLA
            even if the model was compiled for it, saving an XLA compile per configuration that
            pauses there; the resumed stretches run as the model was compiled. Defaults to True.
        paused_models_bytes: int >= 0. The models of paused configurations stay in memory,
            built and compiled, up to this many bytes of their variables (weights and optimizer
            state; the compiled steps are not counted); beyond it, the longest kept is released.
            A stretch that resumes a kept model loads the pause's weights and optimizer state
            into it instead of building, compiling and tracing a new one. `build(hp)` is not
            called again (kerasboost's HyperModels are seeded as their build would, so the data
            order is the configuration's), and a random layer's draws (dropout) go on from the
            pause instead of starting again. The paused states are written either way: a
            worker that did not keep the model, or the next `search`, builds it. Kept models
            are released when `search` returns. 0: every resumed stretch builds its model.
            Defaults to 256 MiB.
        seed: optional int, the random seed of the draws.
        hyperparameters: optional `keras_tuner.HyperParameters`, as keras-tuner's oracles.
        tune_new_entries: bool, as keras-tuner's oracles. Defaults to True.
        allow_new_entries: bool, as keras-tuner's oracles. Defaults to True.
        max_retries_per_trial: int, as keras-tuner's oracles. Defaults to 0.
        max_consecutive_failed_trials: int, as keras-tuner's oracles. Defaults to 3.
        **kwargs: keras-tuner's `Tuner` arguments (`directory`, `project_name`, `overwrite`, ...).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")), "mse")
    ...     return model
    >>> tuner = kerasboost.tuning.ASHA(build, objective="val_loss", max_epochs=4, min_epochs=1,
    ...     reduction_factor=2, max_configurations=4, seed=0, overwrite=True, directory="/tmp/kb-doctest")
    >>> tuner.oracle.rungs
    [1, 2, 4]
    >>> x = np.random.default_rng(0).normal(size=(64, 4))
    >>> tuner.search(x, x.sum(1), validation_split=0.25, verbose=0)
    >>> frame = kerasboost.tuning.trials_dataframe(tuner)
    >>> int((frame["epochs"] - frame["initial_epoch"]).sum()) < 4 * 4   # epochs, against 4 full trials
    True

    ```

    References:
        - Li et al., 2020, "A System for Massively Parallel Hyperparameter
          Tuning", MLSys, https://arxiv.org/abs/1810.05934 (ASHA, Algorithm 2)
        - Jamieson & Talwalkar, 2016, "Non-stochastic Best Arm Identification and
          Hyperparameter Optimization", AISTATS (successive halving)
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int | None = None,
        min_epochs: int = 1,
        reduction_factor: int = 3,
        max_configurations: int | None = 10,
        max_time: float | None = None,
        defer_jit_compile: bool = True,
        paused_models_bytes: int = 256 * 2**20,
        seed: int | None = None,
        hyperparameters: Any = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        **kwargs: Any,
    ) -> None:
        if max_epochs is None:
            max_epochs = getattr(hypermodel, "epochs", None)
            if not isinstance(max_epochs, int):
                raise fail("max_epochs", "an int >= 1 (the hypermodel has no `epochs` to take it from)", None)
        if kwargs.get("executions_per_trial", 1) != 1:
            raise fail(
                "executions_per_trial", "1 with ASHA (a paused trial resumes one model)", kwargs["executions_per_trial"]
            )
        if max_configurations is None and max_time is None:
            raise fail("max_configurations", "an int >= 1, or None with a `max_time`", None)
        oracle = ASHAOracle(
            objective,
            max_epochs=max_epochs,
            min_epochs=min_epochs,
            reduction_factor=reduction_factor,
            max_configurations=max_configurations,
            seed=seed,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        self._setup_pruning(None, max_time, None, seed, defer_jit_compile, hypermodel)
        self._stretch: dict = {}  # the running trial's values
        self._cut_trials: set[str] = set()  # the trials whose stretch the time budget ended before their rung
        self.paused_models_bytes = check_number("paused_models_bytes", paused_models_bytes, low=0, integer=True)
        # trial id -> (its model at its pause, whether its XLA compile was deferred, its bytes)
        self._kept: OrderedDict[str, tuple[keras.Model, bool, int]] = OrderedDict()
        self._running: tuple[keras.Model, bool] | None = None  # the running stretch's model
        self._max_epochs = oracle.max_epochs  # a worker's oracle is the chief's client: kept here
        keras_tuner.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)

    def _paused_path(self, trial_id: str) -> str:
        return os.path.join(self.get_trial_dir(trial_id), PAUSED)

    def _first_rung(self) -> int | None:
        if self._stretch.get(INITIAL_EPOCH) == 0:
            return self._stretch[EPOCHS] + 1  # the stretch ends at the first rung: no XLA compile in it
        return None

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        kwargs["epochs"], kwargs["initial_epoch"] = values[EPOCHS], values[INITIAL_EPOCH]
        callbacks = list(kwargs.pop("callbacks", None) or [])
        pause = None
        if values[EPOCHS] < self._max_epochs:  # it may resume: its last state is written
            pause = _Pause(self._paused_path(trial.trial_id), values[EPOCHS])
            callbacks.insert(0, pause)
        self._stretch, self._running = dict(values), None
        try:
            result = super().run_trial(trial, *args, callbacks=callbacks, **kwargs)
        finally:
            self._stretch, running, self._running = {}, self._running, None
        if pause is not None and pause.written and running is not None:
            self._keep(trial.trial_id, *running)
        return result

    def _keep(self, trial_id: str, model, deferred: bool) -> None:
        """Keep a paused stretch's model, releasing the longest-kept ones beyond the byte bound."""
        size = _variable_bytes(model)
        if size > self.paused_models_bytes:
            return
        self._kept[trial_id] = (model, deferred, size)
        while sum(kept[2] for kept in self._kept.values()) > self.paused_models_bytes:
            self._kept.popitem(last=False)

    def _try_build(self, hp):
        paused = hp.values.get(RESUMED_FROM)
        kept = self._kept.pop(paused, None) if self._training and paused is not None else None
        if kept is None:
            model = super()._try_build(hp)
            self._running = (model, self._deferred is model)
            return model
        model, deferred, _ = kept
        seed_trial = getattr(self.hypermodel, "seed_trial", None)  # kerasboost's HyperModels seed each build
        if callable(seed_trial):
            seed_trial(hp)
        model.load_weights(self._paused_path(paused))  # the pause, whatever a callback did after it
        if deferred:
            self._compile_deferred(model)  # its first stretch ran without XLA; this one runs as compiled
        self._running = (model, False)
        return model

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs)
        if model.stop_training and self._over_time() and epoch + 1 < self._stretch.get(EPOCHS, 0):
            # the time budget ends the stretch short of its rung: recorded, so the next `search`
            # resumes its configuration from the same pause
            self.oracle.update_trial(trial.trial_id, {CUT: float(epoch + 1)}, step=epoch + 1)
            self._cut_trials.add(trial.trial_id)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        paused = trial.hyperparameters.values.get(RESUMED_FROM)
        if paused is not None and trial.status == "COMPLETED" and trial.trial_id not in self._cut_trials:
            # the stretch that resumed it is done, so it never resumes again (a failed one may
            # be retried, and one the time budget cut resumes it again: both keep it); its
            # trial keeps its best epoch's checkpoint
            path = self._paused_path(paused)
            if os.path.exists(path):
                os.remove(path)

    def _build_hypermodel(self, hp):
        model = super()._build_hypermodel(hp)
        paused = hp.values.get(RESUMED_FROM)
        if paused is not None and self._training:
            if not model.built:  # a model without an `Input`: built as the paused one was
                with open(self._get_build_config_fname(paused)) as f:
                    model.build_from_config(json.load(f))
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None and not optimizer.built:
                optimizer.build(model.trainable_variables)  # so its state loads too
            model.load_weights(self._paused_path(paused))
        return model

    def search(self, *fit_args, **fit_kwargs):
        epochs = fit_kwargs.pop("epochs", None)
        if epochs is not None and epochs != self._max_epochs:
            raise fail("epochs", f"absent or max_epochs ({self._max_epochs}): ASHA sets each trial's", epochs)
        try:
            return super().search(*fit_args, **fit_kwargs)
        finally:
            self._kept.clear()
