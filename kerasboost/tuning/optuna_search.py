"""keras-tuner searches driven by Optuna: its samplers, and its storage for many processes.

A keras-tuner `HyperModel` (or `build(hp)` function) keeps its code; the oracle asks an Optuna
study for each trial's values (TPE by default) and tells it the trial's score. The study lives
in Optuna storage: by default a SQLite file in the tuner's project directory, so a search
resumes after a crash; any storage URL (`sqlite:///...`, `postgresql://...`, `mysql://...`)
lets several processes, on one machine or many, each running the same script, share one study.
"""

from __future__ import annotations

import os
import time
from typing import Any

import keras_tuner

from kerasboost.api_export import kerasboost_export
from kerasboost.tuning.pruning import _PruningTuner, best_so_far
from kerasboost.utils.validation import check_choice, fail

SAMPLERS = ("tpe", "cmaes", "gp", "random")
STORAGE_SCHEMES = ("sqlite", "postgresql", "mysql", "oracle", "mssql")
_TRIAL_KEY = "keras_tuner_trial_id"


def _optuna():
    try:
        import optuna
    except ImportError as e:  # pragma: no cover - the extra is not installed
        raise ImportError("The Optuna oracle needs Optuna: pip install kerasboost[optuna]") from e
    return optuna


def make_sampler(sampler: Any, seed: Any) -> Any:
    """An Optuna sampler from its name (`SAMPLERS`), or the sampler given."""
    optuna = _optuna()
    if isinstance(sampler, str):
        name = check_choice("sampler", sampler, SAMPLERS)
        return {
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
            "gp": lambda: optuna.samplers.GPSampler(seed=seed),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        }[name]()
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    raise fail("sampler", f"one of {SAMPLERS} or an optuna.samplers.BaseSampler", sampler)


def check_storage(storage: Any) -> Any:
    """None, an Optuna storage object, or a URL whose scheme Optuna's RDB storage knows."""
    if storage is None or not isinstance(storage, str):
        return storage
    scheme = storage.split(":", 1)[0].split("+", 1)[0].lower()
    if "://" not in storage or scheme not in STORAGE_SCHEMES:
        raise fail("storage", f"None or a database URL with one of the schemes {STORAGE_SCHEMES}", storage)
    return storage


def suggest(trial: Any, hp: Any) -> Any:
    """The value Optuna's `trial` suggests for keras-tuner hyperparameter `hp`."""
    kind = type(hp).__name__
    if kind == "Fixed":
        return hp.value
    if kind == "Boolean":
        return trial.suggest_categorical(hp.name, [False, True])
    if kind == "Choice":
        return trial.suggest_categorical(hp.name, list(hp.values))
    log = getattr(hp, "sampling", "linear") == "log"
    if kind == "Int":
        step = None if log else (hp.step or 1)
        return trial.suggest_int(hp.name, hp.min_value, hp.max_value, step=step or 1, log=log)
    if kind == "Float":
        step = None if log or not hp.step else hp.step
        return trial.suggest_float(hp.name, hp.min_value, hp.max_value, step=step, log=log)
    raise ValueError(f"The Optuna oracle cannot sample a keras-tuner {kind} hyperparameter ({hp.name}).")


class _StudyCurves:
    """The trials' curves kept in the Optuna study (the pruning hooks use it): each trial's
    intermediate values are reported to its Optuna trial as they come, and a pruner compares a
    trial with every other trial of the study, whichever process runs it."""

    def __init__(self, oracle: OptunaOracle) -> None:
        self.oracle = oracle

    def report(self, trial_id: str, value: float, step: int) -> None:
        # TPE ranks pruned trials by how far they went and where they stood; optuna-dashboard
        # plots the curves, live
        asked = self.oracle._asked.get(trial_id)
        if asked is not None:
            asked.report(value, int(step))

    def others(self, trial_id: str, sign: float) -> list[list[float]]:
        """Every other trial's curve in the study, as best-so-far, larger better."""
        asked = self.oracle._asked.get(trial_id)
        mine = None if asked is None else asked.number
        return [
            best_so_far([v for _, v in sorted(trial.intermediate_values.items())], sign)
            for trial in self.oracle.study.get_trials(deepcopy=False)
            if trial.number != mine and trial.intermediate_values
        ]


class OptunaOracle(keras_tuner.Oracle):
    """A keras-tuner oracle whose values come from an Optuna study (`OptunaSearch` builds it)."""

    def __init__(
        self,
        objective: Any = None,
        max_trials: int = 10,
        sampler: Any = "tpe",
        storage: Any = None,
        study_name: str | None = None,
        seed: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(objective=objective, max_trials=max_trials, seed=seed, **kwargs)
        self.sampler = make_sampler(sampler, seed)
        self.storage = check_storage(storage)
        self.study_name = study_name
        self._study: Any = None
        self._asked: dict[str, Any] = {}  # keras-tuner trial id -> the Optuna trial asked for it
        self._shared_curves = _StudyCurves(self)  # found by the pruning hooks (pruning.py)

    @property
    def study(self) -> Any:
        """The Optuna study (created or loaded on first use)."""
        if self._study is None:
            optuna = _optuna()
            storage = self.storage
            if storage is None:
                storage = "sqlite:///" + os.path.abspath(os.path.join(self._project_dir, "optuna.db"))
            direction = "maximize" if self.objective.direction == "max" else "minimize"
            for attempt in range(10):
                try:
                    self._study = optuna.create_study(
                        storage=storage,
                        study_name=self.study_name or "keras_tuner",
                        sampler=self.sampler,
                        direction=direction,
                        load_if_exists=True,
                    )
                    break
                except Exception:  # processes starting together race to create the tables
                    if attempt == 9:
                        raise
                    time.sleep(0.2 * (attempt + 1))
        return self._study

    def populate_space(self, trial_id: str) -> dict:
        study = self.study
        trial = study.ask()
        # which process and project ran it (several share a study), and its keras-tuner id
        project = getattr(self, "_project_name", None) or "-"
        trial.set_user_attr(_TRIAL_KEY, f"{os.getpid()}:{project}:{trial_id}")
        self._asked[trial_id] = trial
        hps = self.hyperparameters.copy()
        values: dict = {}
        for hp in hps.space:  # declaration order: a condition's parent comes first
            hps.values = dict(values)
            if hps.is_active(hp):
                values[hp.name] = suggest(trial, hp)
        return {"status": "RUNNING", "values": values}

    def end_trial(self, trial):
        super().end_trial(trial)
        asked = self._asked.pop(trial.trial_id, None)
        if asked is None:
            return
        optuna = _optuna()
        number = asked.number
        ended = self.trials[trial.trial_id]
        if ended.status == "COMPLETED" and ended.score is not None:
            pruned = ended.metrics.exists("pruned_at_epoch") and ended.metrics.get_history("pruned_at_epoch")
            if pruned:
                self.study.tell(number, state=optuna.trial.TrialState.PRUNED)
            else:
                self.study.tell(number, float(ended.score))
        elif ended.status in ("FAILED", "INVALID"):
            self.study.tell(number, state=optuna.trial.TrialState.FAIL)


@kerasboost_export("kerasboost.tuning.OptunaSearch", register=False)
class OptunaSearch(_PruningTuner, keras_tuner.Tuner):
    """A keras-tuner search whose values come from Optuna (TPE, CMA-ES, GP, random).

    Any keras-tuner `HyperModel` or `build(hp)` function runs unchanged: each trial asks an
    Optuna study for its values (keras-tuner's `Int` / `Float` with log sampling / `Choice` /
    `Boolean` / `Fixed` map to Optuna's distributions; conditional scopes are asked only when
    active), reports the trial's curve to it as it trains (the objective after each epoch, or
    the running mean after each fold, as intermediate values) and tells it the score; a trial a
    `pruner` stopped is told as pruned, and the pruner compares each trial with every other
    trial of the study, those of other processes sharing it included. The
    study is kept in Optuna storage: by default `optuna.db` (SQLite) in the project directory,
    so a crashed search resumes (`overwrite=False`); with a database URL, several processes
    (each running the same script, each with its own `project_name`) share one study and its
    sampler sees every process's trials. `optuna-dashboard <storage URL>` shows the study.

    Args:
        hypermodel: a `keras_tuner.HyperModel` or a `build(hp)` function.
        objective: as keras-tuner's (a metric name, a `keras_tuner.Objective`).
        max_trials: int >= 1, the trials this process runs. Defaults to 10.
        sampler: `"tpe"` (default), `"cmaes"`, `"gp"`, `"random"` or an Optuna sampler.
        storage: None (default: SQLite in the project directory) or a database URL
            (`sqlite:///search.db`, `postgresql://...`, `mysql://...`) or an Optuna storage.
        study_name: the study's name in the storage. Defaults to `"keras_tuner"`.
        pruner: None, `MedianPruner(...)` or `ASHAPruner(...)` (as in `RandomSearch`).
        max_time: None or seconds (as in `RandomSearch`).
        cross_validation: None, an int k >= 2 or a scikit-learn splitter (as in `RandomSearch`).
        defer_jit_compile: bool, as in `RandomSearch`: the first rung without XLA. Defaults to True.
        seed: optional int, the sampler's seed.
        **kwargs: keras-tuner's `Tuner` arguments (`directory`, `project_name`, `overwrite`,
            `executions_per_trial`, ...).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")), "mse")
    ...     return model
    >>> tuner = kerasboost.tuning.OptunaSearch(build, objective="val_loss", max_trials=3, seed=0,
    ...                                        overwrite=True, directory="/tmp/kb-doctest", project_name="optuna")
    >>> x = np.random.default_rng(0).normal(size=(64, 4))
    >>> tuner.search(x, x.sum(1), validation_split=0.25, epochs=2, verbose=0)
    >>> len(tuner.oracle.study.trials)
    3

    ```

    References:
        - Akiba et al., 2019, "Optuna: A Next-generation Hyperparameter
          Optimization Framework", KDD, https://arxiv.org/abs/1907.10902
        - Bergstra et al., 2011, "Algorithms for Hyper-Parameter
          Optimization", NeurIPS (TPE)
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int = 10,
        sampler: Any = "tpe",
        storage: Any = None,
        study_name: str | None = None,
        pruner: Any = None,
        max_time: float | None = None,
        cross_validation: Any = None,
        defer_jit_compile: bool = True,
        seed: Any = None,
        **kwargs: Any,
    ) -> None:
        self._setup_pruning(pruner, max_time, cross_validation, seed, defer_jit_compile, hypermodel)
        oracle = OptunaOracle(
            objective=objective,
            max_trials=max_trials,
            sampler=sampler,
            storage=storage,
            study_name=study_name,
            seed=seed,
            max_retries_per_trial=kwargs.pop("max_retries_per_trial", 0),
            max_consecutive_failed_trials=kwargs.pop("max_consecutive_failed_trials", 3),
        )
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)
