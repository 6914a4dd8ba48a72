"""Trial pruning and a time budget for keras-tuner searches.

keras-tuner passes no intermediate results to its oracle, so every trial trains to its last
epoch. Here the tuners (`RandomSearch`, `BayesianOptimization`: keras-tuner's, with `pruner`
and `max_time`) report the objective at the end of every epoch to the oracle, under the metric
`intermediate/<objective>`; the oracle asks the pruner whether the trial goes on, and a trial
told to stop ends after that epoch, its score the best of the epochs it ran, its stopping epoch
kept as the metric `pruned_at_epoch`. The decisions are taken where the oracle lives: with
keras-tuner's distributed search (a chief and workers), in the chief, from every worker's
reports; the state is the trials' own metrics, so a resumed search prunes as before.
"""

from __future__ import annotations

import gc
import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import keras
import keras_tuner
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_bool, check_number, fail

INTERMEDIATE = "intermediate/"
PRUNED = "pruned_at_epoch"
CUT = "cut_at_epoch"  # `ASHA`: the time budget ended a stretch short of its rung
STOPPED = "STOPPED"  # keras-tuner's TrialStatus.STOPPED: for a running trial, "stop after this epoch"


class Pruner:
    """Decides, from the values every trial reported at each epoch, whether a trial stops.

    Subclasses implement `prune(curve, others)`: `curve` the trial's best-so-far values of
    epochs 1..e (oriented so that larger is better), `others` the same curves of the other
    trials (finished or running); True stops the trial after epoch e.
    """

    def __init__(self, min_epochs: int = 1) -> None:
        self.min_epochs = check_number("min_epochs", min_epochs, low=1, integer=True)

    def prune(self, curve: Sequence[float], others: Sequence[Sequence[float]]) -> bool:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"min_epochs": self.min_epochs}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


@kerasboost_export("kerasboost.tuning.MedianPruner", register=False)
class MedianPruner(Pruner):
    """Median stopping: stop a trial whose best value so far is worse than the median of the
    other trials' best values at the same epoch.

    From epoch `min_epochs` on, and once at least `min_trials` other trials have reported that
    epoch, a trial whose best objective over its first `e` epochs is worse than the median of
    the other trials' bests over their first `e` epochs stops after epoch `e` (Golovin et al.'s
    median stopping rule, as Optuna's `MedianPruner` applies it).

    Args:
        min_epochs: int >= 1, epochs every trial runs before it can be stopped. Defaults to 1.
        min_trials: int >= 1, other trials that must have reached an epoch before a trial is
            compared there. Defaults to 4.

    Example:

    ```python
    >>> import kerasboost
    >>> pruner = kerasboost.tuning.MedianPruner(min_epochs=2, min_trials=2)
    >>> pruner.prune([0.5, 0.6], others=[[0.7, 0.8], [0.6, 0.9]])   # 0.6 < median(0.8, 0.9)
    True

    ```

    References:
        - Golovin et al., 2017, "Google Vizier: A Service for Black-Box
          Optimization", KDD (median stopping rule)
    """

    def __init__(self, min_epochs: int = 1, min_trials: int = 4) -> None:
        super().__init__(min_epochs)
        self.min_trials = check_number("min_trials", min_trials, low=1, integer=True)

    def prune(self, curve, others) -> bool:
        epoch = len(curve)
        if epoch < self.min_epochs:
            return False
        at_epoch = [max(o[:epoch]) for o in others if len(o) >= epoch]
        if len(at_epoch) < self.min_trials:
            return False
        return max(curve) < float(np.median(at_epoch))

    def get_config(self) -> dict:
        return {**super().get_config(), "min_trials": self.min_trials}


@kerasboost_export("kerasboost.tuning.ASHAPruner", register=False)
class ASHAPruner(Pruner):
    """Asynchronous successive halving: at each rung, only the top `1 / reduction_factor` go on.

    The rungs are the epochs `min_epochs * reduction_factor ** k` (k = 0, 1, ...). A trial
    reaching a rung goes on if its best value so far is among the best
    `max(1, n // reduction_factor)` values recorded at that rung, `n` counting every trial
    that has reached it so far (this one included), and stops there otherwise. No trial waits
    for others: the decision uses what has been reported (Li et al. 2020; the rule of
    Optuna's `SuccessiveHalvingPruner`). With 12-epoch trials, `min_epochs=1` and
    `reduction_factor=3`, the rungs are epochs 1, 3 and 9.

    Args:
        min_epochs: int >= 1, the first rung (the epochs every trial runs). Defaults to 1.
        reduction_factor: int >= 2, the inverse of the fraction that goes on. Defaults to 3.

    Example:

    ```python
    >>> import kerasboost
    >>> pruner = kerasboost.tuning.ASHAPruner(min_epochs=1, reduction_factor=2)
    >>> pruner.rungs(12)
    [1, 2, 4, 8]
    >>> pruner.prune([0.5], others=[[0.7], [0.6], [0.4]])   # 4 at rung 1: the best 2 go on
    True

    ```

    References:
        - Li et al., 2020, "A System for Massively Parallel Hyperparameter
          Tuning", MLSys, https://arxiv.org/abs/1810.05934
    """

    def __init__(self, min_epochs: int = 1, reduction_factor: int = 3) -> None:
        super().__init__(min_epochs)
        self.reduction_factor = check_number("reduction_factor", reduction_factor, low=2, integer=True)

    def rungs(self, epochs: int) -> list[int]:
        """The rung epochs up to `epochs`."""
        rungs, rung = [], self.min_epochs
        while rung <= epochs:
            rungs.append(rung)
            rung *= self.reduction_factor
        return rungs

    def prune(self, curve, others) -> bool:
        epoch = len(curve)
        if epoch not in self.rungs(epoch):
            return False
        values = [max(o[:epoch]) for o in others if len(o) >= epoch] + [max(curve)]
        keep = max(1, len(values) // self.reduction_factor)
        return max(curve) < sorted(values, reverse=True)[keep - 1]

    def get_config(self) -> dict:
        return {**super().get_config(), "reduction_factor": self.reduction_factor}


# ---------------------------------------------------------------------------------- the oracle side


def best_so_far(values: Sequence[float], sign: float) -> list[float]:
    """`values` (in step order) as the best so far, larger better (`sign` -1 for a minimum)."""
    return list(np.maximum.accumulate([sign * float(v) for v in values])) if len(values) else []


def _curve(trial, name: str, sign: float) -> list[float]:
    """The trial's reported values of `name`, epoch by epoch, as best-so-far, larger better."""
    if not trial.metrics.exists(name):
        return []
    history = sorted(trial.metrics.get_history(name), key=lambda o: o.step)
    return best_so_far([np.mean(o.value) for o in history], sign)


def _now() -> float:
    """The clock of `max_time` (a test moves it)."""
    return time.monotonic()


def install_oracle_hooks(oracle, pruner: Pruner | None, max_time: float | None) -> None:
    """Make `oracle` (a keras-tuner oracle in this process: the chief's, or a local search's)
    take the pruner's decisions on intermediate reports and stop creating trials after
    `max_time` seconds from now."""
    objective = oracle.objective
    if type(objective).__name__ == "MultiObjective":
        raise fail("pruner", "None with a multi-objective search (prune on one objective)", pruner)
    name, sign = INTERMEDIATE + objective.name, (1.0 if objective.direction == "max" else -1.0)
    # the oracle's own methods, kept from the first install (a second `search` replaces the hooks)
    original_update, original_create = oracle.__dict__.setdefault(
        "_kerasboost_originals", (oracle.update_trial, oracle.create_trial)
    )
    deadline = None if max_time is None else _now() + max_time

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        if name not in metrics and CUT not in metrics:
            return original_update(trial_id, metrics, step=step)
        trial = self.trials[trial_id]
        if CUT in metrics:  # kerasboost's own record, reported without the objective
            if not trial.metrics.exists(CUT):
                trial.metrics.register(CUT, direction="min")
            trial.metrics.update(CUT, float(metrics[CUT]), step=step)
        if name in metrics:
            if not trial.metrics.exists(name):
                trial.metrics.register(name, direction=objective.direction)
            trial.metrics.update(name, float(metrics[name]), step=step)
            shared = getattr(self, "_shared_curves", None)  # an oracle whose trials live elsewhere too
            if shared is not None:
                shared.report(trial_id, float(metrics[name]), step)
            if pruner is not None:
                curve = _curve(trial, name, sign)
                if shared is not None:  # every process's trials (this one's among them)
                    others = shared.others(trial_id, sign)
                else:
                    others = [_curve(t, name, sign) for i, t in self.trials.items() if i != trial_id]
                if pruner.prune(curve, [o for o in others if o]):
                    if not trial.metrics.exists(PRUNED):
                        trial.metrics.register(PRUNED, direction="min")
                    trial.metrics.update(PRUNED, float(len(curve)), step=step)
                    trial.status = STOPPED
        self._save_trial(trial)
        return trial

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        if deadline is not None and _now() > deadline and tuner_id not in self.ongoing_trials:
            # as keras-tuner's own end of a search: the tuner leaves (the chief exits once all have)
            self.tuner_ids.discard(tuner_id)
            return keras_tuner.engine.trial.Trial(self.get_space(), status=STOPPED)
        return original_create(tuner_id)

    oracle.update_trial = update_trial.__get__(oracle)
    oracle.create_trial = create_trial.__get__(oracle)


def as_splitter(cross_validation: Any, seed: Any = None) -> Any:
    """None, or a scikit-learn splitter: an int k >= 2 is `KFold(k, shuffle=True)`."""
    if cross_validation is None:
        return None
    if isinstance(cross_validation, int) and not isinstance(cross_validation, bool):
        if cross_validation < 2:
            raise fail("cross_validation", "None, an int k >= 2 (folds) or a scikit-learn splitter", cross_validation)
        from sklearn.model_selection import KFold

        return KFold(cross_validation, shuffle=True, random_state=seed)
    if callable(getattr(cross_validation, "split", None)) and callable(getattr(cross_validation, "get_n_splits", None)):
        return cross_validation
    raise fail("cross_validation", "None, an int k >= 2 (folds) or a scikit-learn splitter", cross_validation)


def seed_zero(oracle: Any, seed: Any) -> None:
    """Give a new keras-tuner oracle the seed 0 it was asked for: keras-tuner's oracles take
    `seed or random.randint(1, 10000)`, so `seed=0` drew a random seed."""
    if isinstance(seed, int) and not isinstance(seed, bool) and seed == 0 and oracle.seed != 0:
        oracle.seed = oracle._seed_state = 0
        if hasattr(oracle, "_random_state"):  # BayesianOptimization's initial points
            oracle._random_state = np.random.RandomState(0)
        if hasattr(oracle, "_make_gpr"):  # and its Gaussian process
            oracle.gpr = oracle._make_gpr()


class _PruningTuner:
    """What `RandomSearch` and `BayesianOptimization` add to keras-tuner's tuners."""

    def __init__(
        self,
        hypermodel: Any = None,
        pruner: Pruner | None = None,
        max_time: float | None = None,
        cross_validation: Any = None,
        defer_jit_compile: bool = True,
        **kwargs: Any,
    ) -> None:
        self._setup_pruning(pruner, max_time, cross_validation, kwargs.get("seed"), defer_jit_compile, hypermodel)
        super().__init__(hypermodel, **kwargs)  # type: ignore[call-arg]
        self._check_oracle()

    def _check_oracle(self) -> None:
        """Warn, once the tuner is built, of what its oracle will do that its arguments do not say."""

    def _setup_pruning(
        self,
        pruner: Pruner | None,
        max_time: float | None,
        cross_validation: Any = None,
        seed: Any = None,
        defer_jit_compile: bool = True,
        hypermodel: Any = None,
    ) -> None:
        if pruner is not None and not isinstance(pruner, Pruner):
            raise fail("pruner", "None, MedianPruner(...) or ASHAPruner(...)", pruner)
        epochs = getattr(hypermodel, "epochs", None)  # kerasboost's HyperModels train this many
        if pruner is not None and isinstance(epochs, int) and cross_validation is None and pruner.min_epochs > epochs:
            raise fail("pruner", f"a pruner whose min_epochs is at most the hypermodel's epochs ({epochs})", pruner)
        if max_time is not None:
            max_time = check_number("max_time", max_time, low=0.0, low_inclusive=False)
        self.pruner, self.max_time = pruner, max_time
        self.cross_validation = as_splitter(cross_validation, seed)
        self.defer_jit_compile = check_bool("defer_jit_compile", defer_jit_compile)
        self._seed = seed
        self._deadline: float | None = None
        self._deferred: Any = None  # the running trial's model while its XLA compile waits
        self._training = False

    def _populate_initial_space(self):
        super()._populate_initial_space()
        seed_zero(self.oracle, self._seed)  # a new search (a reloaded one keeps its oracle's state)

    def _build_and_fit_model(self, trial, *args, **kwargs):
        self._training = True  # a trial's build (not `get_best_models`'): its XLA compile may wait
        kwargs["callbacks"] = [
            _SaveBestAtEnd(c) if type(c).__name__ == "SaveBestEpoch" and hasattr(c, "_save_model") else c
            for c in kwargs.get("callbacks", [])
        ]
        try:
            return super()._build_and_fit_model(trial, *args, **kwargs)
        finally:
            self._training, self._deferred = False, None

    def _try_build(self, hp):
        if self._training:
            # keras-tuner collects garbage (twice) before every build: a full collection walks
            # every object TensorFlow and Keras hold (some 0.3 s each on a 2-core machine). The
            # last trial's model is freed here, the survivors frozen (`search` unfreezes them),
            # so the collections walk only what one trial made.
            gc.collect()
            gc.freeze()
        model = super()._try_build(hp)
        self._deferred = None
        if (
            self._training
            and keras.backend.backend() == "tensorflow"  # elsewhere no XLA is no compiled step
            and self._first_rung() is not None
            and self.defer_jit_compile
            and self.cross_validation is None
            and model.jit_compile is True  # "auto" resolved
        ):
            # the first rung runs without XLA: the trials the pruner stops there (most, with
            # ASHA) never pay the XLA compile; the ones it keeps are compiled with XLA then
            model.jit_compile = False
            self._deferred = model
        return model

    def _first_rung(self) -> int | None:
        """The epochs the running trial trains without XLA before the pruner's first decision
        (None: no pruner, every epoch as compiled)."""
        return None if self.pruner is None else self.pruner.min_epochs

    def _compile_deferred(self, model) -> None:
        self._deferred = None
        model.jit_compile = True
        model.make_train_function(force=True)
        model.make_test_function(force=True)
        model.predict_function = None

    def _over_time(self) -> bool:
        return self._deadline is not None and _now() > self._deadline

    def run_trial(self, trial, *args, **kwargs):
        if self.cross_validation is None:
            return super().run_trial(trial, *args, **kwargs)
        return self._run_folds(trial, *args, **kwargs)

    def _run_folds(self, trial, *args, **kwargs):
        """Train the trial's model on each fold; report the running mean of the folds' best
        objective after each fold (the pruner's steps are folds); return its mean and spread."""
        x, y, groups, kwargs = _fold_data(args, kwargs)
        objective = self.oracle.objective
        name, direction = objective.name, objective.direction
        callbacks = kwargs.pop("callbacks", [])
        scores: list[float] = []
        for fold, (train, held_out) in enumerate(self.cross_validation.split(x, y, groups)):
            hp = trial.hyperparameters
            model = self.hypermodel.build(hp)
            history = self.hypermodel.fit(
                hp,
                model,
                x[train],
                y[train],
                validation_data=(x[held_out], y[held_out]),
                callbacks=list(callbacks),
                **kwargs,
            )
            values = [float(v) for v in history.history[name]]
            scores.append(max(values) if direction == "max" else min(values))
            reported = self.oracle.update_trial(
                trial.trial_id, {INTERMEDIATE + name: float(np.mean(scores))}, step=fold + 1
            )
            if getattr(reported, "status", None) == STOPPED or self._over_time():
                break
        return {name: float(np.mean(scores)), f"{name}_std": float(np.std(scores)), "folds": float(len(scores))}

    def search(self, *fit_args, **fit_kwargs):
        if self.cross_validation is not None:
            _fold_data(fit_args, fit_kwargs)  # the arguments' errors here, not as failed trials
        epochs = fit_kwargs.get("epochs")
        if self.pruner is not None and epochs is not None and self.pruner.min_epochs > epochs:
            raise fail("pruner", f"a pruner whose min_epochs is at most the search's epochs ({epochs})", self.pruner)
        if not _is_client(self.oracle):
            install_oracle_hooks(self.oracle, self.pruner, self.max_time)
        self._deadline = None if self.max_time is None else _now() + self.max_time
        try:
            return super().search(*fit_args, **fit_kwargs)
        finally:
            gc.unfreeze()  # what the trials froze is collectable again

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs)
        objective = self.oracle.objective
        value = (logs or {}).get(objective.name)
        if value is not None and math.isfinite(float(value)) and self.cross_validation is None:
            reported = self.oracle.update_trial(
                trial.trial_id, {INTERMEDIATE + objective.name: float(value)}, step=epoch + 1
            )
            if getattr(reported, "status", None) == STOPPED:
                model.stop_training = True
        if self._over_time():
            model.stop_training = True  # the time budget: this trial ends here, with what it has
        first_rung = self._first_rung()
        if self._deferred is model and not model.stop_training and first_rung is not None and epoch + 1 >= first_rung:
            self._compile_deferred(model)  # it survived the pruner's first decision


class _SaveBestAtEnd(keras.callbacks.Callback):
    """keras-tuner's `SaveBestEpoch`, writing once per `fit` instead of at every better epoch.

    The best epoch's weights are kept in memory and written to the trial's checkpoint when
    training ends (a pruned trial's end included): a short trial improves at most of its
    epochs, and each write of a checkpoint costs more than one epoch of a small model."""

    def __init__(self, saver) -> None:
        super().__init__()
        self.saver = saver  # holds the best value across a trial's executions
        self.best_weights: list | None = None

    def on_train_begin(self, logs=None):
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        objective = self.saver.objective
        if not objective.has_value(logs):  # no objective in the logs: the last epoch, as keras-tuner
            self.best_weights = self.model.get_weights()
            return
        value = objective.get_value(logs)
        if objective.better_than(value, self.saver.best_value):
            self.saver.best_value = value
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is None:
            return
        last = self.model.get_weights()
        self.model.set_weights(self.best_weights)
        self.saver.set_model(self.model)
        self.saver._save_model()
        self.model.set_weights(last)
        self.best_weights = None


def _fold_data(args, kwargs) -> tuple:
    """`(x, y, groups, the other fit arguments)` of a cross-validated search's `search(x, y, ...)`."""
    args, kwargs = list(args), dict(kwargs)
    x = args.pop(0) if args else kwargs.pop("x", None)
    y = args.pop(0) if args else kwargs.pop("y", None)
    groups = kwargs.pop("groups", None)
    if x is None or y is None or args:
        raise ValueError("A cross-validated search takes its data as search(x, y, ...): arrays to split in folds.")
    for name in ("validation_data", "validation_split"):
        if kwargs.get(name) is not None:
            raise fail(name, "absent with cross_validation (each fold's held-out part validates)", kwargs[name])
    return np.asarray(x), np.asarray(y), groups, kwargs


def _is_client(oracle) -> bool:
    return type(oracle).__name__ == "OracleClient"


@kerasboost_export("kerasboost.tuning.RandomSearch", register=False)
class RandomSearch(_PruningTuner, keras_tuner.RandomSearch):
    """keras-tuner's `RandomSearch`, with trial pruning and a time budget.

    Every keras-tuner argument works as there. Added:

    Args:
        hypermodel: as keras-tuner's (a `HyperModel` or a `build(hp)` function).
        pruner: None (default), `MedianPruner(...)` or `ASHAPruner(...)`: stops a trial after
            an epoch where it falls behind the others (see `kerasboost.tuning.pruning`).
        max_time: None (default) or seconds: no trial starts after `max_time` seconds of
            this `search` call, and the running ones stop at their next epoch end; every
            finished trial is kept, and `search` again (`overwrite=False`) resumes.
        cross_validation: None (default), an int k >= 2 (`KFold(k, shuffle=True)`) or a
            scikit-learn splitter (`StratifiedKFold`, `GroupKFold(...)` with
            `search(..., groups=...)`): each trial trains one model per fold on
            `search(x, y)`'s arrays and scores the mean over the folds of each fold's best
            objective (`<objective>_std` and `folds` recorded too); a pruner then steps by
            folds, on the running mean. `get_best_models` has no checkpoint to load there:
            rebuild the best hyperparameters and train them on all the data.
        defer_jit_compile: bool. With a pruner, on the TensorFlow backend (where a step
            without XLA is still a compiled graph), a trial whose model is compiled for XLA
            (`jit_compile=True`, or `"auto"` where that means XLA) runs its first
            `pruner.min_epochs` epochs without XLA and is compiled with XLA only when the
            pruner lets it go on: the trials stopped at the first rung (most of them, with
            ASHA) never pay the XLA compile. False: every epoch as the model was compiled.
            Defaults to True.
        **kwargs: keras-tuner's `RandomSearch` arguments (`objective`, `max_trials`, `seed`,
            `directory`, `project_name`, `overwrite`, ...).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> def build(hp):
    ...     layers = [keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 8)), keras.layers.Dense(1)]
    ...     model = keras.Sequential(layers)
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")), "mse")
    ...     return model
    >>> tuner = kerasboost.tuning.RandomSearch(build, objective="val_loss", max_trials=3, seed=0,
    ...     pruner=kerasboost.tuning.MedianPruner(min_trials=1), overwrite=True, directory="/tmp/kb-doctest")
    >>> x = np.random.default_rng(0).normal(size=(64, 4))
    >>> tuner.search(x, x.sum(1), validation_split=0.25, epochs=3, verbose=0)
    >>> len(kerasboost.tuning.trials_dataframe(tuner))
    3

    ```

    References:
        - O'Malley et al., 2019, "KerasTuner", https://github.com/keras-team/keras-tuner
        - Golovin et al., 2017, "Google Vizier: A Service for Black-Box
          Optimization", KDD (median stopping)
        - Li et al., 2020, "A System for Massively Parallel Hyperparameter
          Tuning", MLSys, https://arxiv.org/abs/1810.05934 (ASHA)
    """


def random_only(oracle: Any) -> str | None:
    """Why keras-tuner's Bayesian optimization oracle `oracle` will draw every trial at random
    (its random first trials are `max_trials` or more), or None if its Gaussian process proposes some."""
    dimensions = len(oracle.hyperparameters.space)
    initial = oracle.num_initial_points or max(3 * dimensions, 3)
    if oracle.max_trials is None or initial < oracle.max_trials:
        return None
    why = (
        "num_initial_points"
        if oracle.num_initial_points
        else f"keras-tuner's default, 3 x {dimensions} hyperparameters"
    )
    return (
        f"BayesianOptimization draws its first {initial} trials at random ({why}) and max_trials is "
        f"{oracle.max_trials}: no trial comes from the Gaussian process, the search is a RandomSearch. "
        "Pass num_initial_points below max_trials (a third of it, for example)."
    )


@kerasboost_export("kerasboost.tuning.BayesianOptimization", register=False)
class BayesianOptimization(_PruningTuner, keras_tuner.BayesianOptimization):
    """keras-tuner's `BayesianOptimization`, with trial pruning and a time budget.

    As `kerasboost.tuning.RandomSearch`: keras-tuner's arguments, plus `pruner` and
    `max_time`. A pruned trial's score (the best of its epochs) is what the Gaussian process
    learns from, as for any trial.

    keras-tuner draws the first `num_initial_points` trials at random, by default 3 times the
    number of hyperparameters (60 for the 20 of `MLPHyperModel`'s default space). When that is `max_trials` or more,
    no trial comes from the Gaussian process and the search is a `RandomSearch` of the same
    draws; the tuner warns then, when it is built. Pass `num_initial_points` below `max_trials`.

    Args:
        hypermodel: as keras-tuner's.
        pruner: None (default), `MedianPruner(...)` or `ASHAPruner(...)`.
        max_time: None (default) or seconds for this `search` call.
        cross_validation: None (default), an int k >= 2 or a scikit-learn splitter.
        defer_jit_compile: bool, as in `RandomSearch`. Defaults to True.
        **kwargs: keras-tuner's `BayesianOptimization` arguments.

    Example:

    ```python
    >>> import kerasboost
    >>> tuner = kerasboost.tuning.BayesianOptimization(
    ...     lambda hp: None, objective="val_loss", max_trials=2, max_time=60.0,
    ...     overwrite=True, directory="/tmp/kb-doctest")
    >>> tuner.max_time
    60.0

    ```

    References:
        - Snoek, Larochelle & Adams, 2012, "Practical Bayesian Optimization of
          Machine Learning Algorithms", https://arxiv.org/abs/1206.2944
        - Li et al., 2020, "A System for Massively Parallel Hyperparameter
          Tuning", MLSys, https://arxiv.org/abs/1810.05934 (ASHA)
    """

    def _check_oracle(self) -> None:
        # keras-tuner has built the hypermodel once by now, so the space is known
        if not _is_client(self.oracle) and self.oracle.hyperparameters.space:
            why = random_only(self.oracle)
            if why is not None:
                warnings.warn(why, stacklevel=3)  # the line that built the tuner
