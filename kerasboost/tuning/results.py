"""A keras-tuner search's trials as a pandas DataFrame and as plots."""

from __future__ import annotations

import math
import numbers
from typing import Any

from kerasboost.api_export import kerasboost_export
from kerasboost.tuning.pruning import CUT, INTERMEDIATE, PRUNED
from kerasboost.utils.validation import fail


def _oracle(tuner):
    oracle = getattr(tuner, "oracle", tuner)
    if not hasattr(oracle, "trials") or not hasattr(oracle, "objective"):
        raise fail("tuner", "a keras-tuner Tuner (or its oracle)", type(tuner).__name__)
    return oracle


@kerasboost_export("kerasboost.tuning.trials_dataframe", register=False)
def trials_dataframe(tuner: Any) -> Any:
    """One row per trial: id, status, score, best step, each hyperparameter and each metric's best value.

    keras-tuner keeps trials in its oracle (and in the project directory, so
    a tuner re-created with `overwrite=False` sees a finished or distributed
    search). Hyperparameters a trial did not use (inactive conditional ones)
    are missing values. Rows are sorted by trial id.

    Args:
        tuner: a keras-tuner tuner or oracle.

    Returns:
        A `pandas.DataFrame` with columns `trial_id`, `status`, `score`,
        `best_step`, `pruned` and `pruned_at_epoch` (trials a pruner stopped:
        `kerasboost.tuning.RandomSearch(pruner=...)`), `hp/<name>` per
        hyperparameter and `metric/<name>`; for searches whose trials are
        stretches of a configuration (`kerasboost.tuning.ASHA`, keras-tuner's
        `Hyperband`), `epochs` (the epoch a stretch trains to),
        `initial_epoch` and `resumed_from` (the trial it resumed, or None).

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> oracle = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1)
    >>> list(kerasboost.tuning.trials_dataframe(oracle).columns)
    ['trial_id', 'status', 'score', 'best_step', 'pruned', 'pruned_at_epoch']

    ```
    """
    import pandas as pd

    oracle = _oracle(tuner)
    rows = []
    for trial_id in sorted(oracle.trials):
        trial = oracle.trials[trial_id]
        row = {
            "trial_id": trial_id,
            "status": str(getattr(trial.status, "value", trial.status)),
            "score": trial.score,
            "best_step": trial.best_step,
        }
        hps = trial.hyperparameters
        for hp in hps.space:
            row[f"hp/{hp.name}"] = hps.values[hp.name] if hps.is_active(hp) and hp.name in hps.values else None
        for name, history in trial.metrics.metrics.items():
            row[f"metric/{name}"] = trial.metrics.get_best_value(name) if history.get_history() else None
        if "tuner/epochs" in hps.values:  # a stretch of a configuration (`ASHA`, keras-tuner's `Hyperband`)
            row["epochs"] = hps.values["tuner/epochs"]
            row["initial_epoch"] = hps.values.get("tuner/initial_epoch", 0)
            row["resumed_from"] = hps.values.get("tuner/trial_id")
        pruned = trial.metrics.exists(PRUNED) and trial.metrics.get_history(PRUNED)
        row["pruned"] = bool(pruned)
        row["pruned_at_epoch"] = int(trial.metrics.get_last_value(PRUNED)) if pruned else None
        rows.append(row)
    columns = ["trial_id", "status", "score", "best_step", "pruned", "pruned_at_epoch"]
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    return frame


def _numeric(values: Any) -> bool:
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)


def _relation(values: Any, scores: Any) -> float:
    """How strongly the objective follows a hyperparameter, in [0, 1]: |Spearman's rank
    correlation| for numbers, the correlation ratio (eta) of the scores across choices otherwise."""
    import numpy as np
    import pandas as pd

    if _numeric(values):
        rho = pd.Series(list(values), dtype=float).rank().corr(pd.Series(list(scores), dtype=float).rank())
        return 0.0 if rho != rho else abs(float(rho))
    frame = pd.DataFrame({"value": [str(v) for v in values], "score": list(scores)})
    total = float(((frame["score"] - frame["score"].mean()) ** 2).sum())
    if total == 0:
        return 0.0
    groups = frame.groupby("value")["score"]
    between = float((groups.count() * (groups.mean() - frame["score"].mean()) ** 2).sum())
    return float(np.sqrt(between / total))


@kerasboost_export("kerasboost.tuning.plot_trials", register=False)
def plot_trials(tuner: Any, path: str | None = None, max_hyperparameters: int = 8) -> Any:
    """The objective per trial (with the best so far), and against the hyperparameters that matter.

    Only hyperparameters that took more than one value over the completed
    trials get a panel, ordered by how strongly the objective follows them
    (|Spearman's rank correlation| for numbers, the correlation ratio of the
    scores across choices for categories; shown in each panel's title), so
    the learning rate of an `MLPHyperModel` search is not crowded out by the
    hyperparameters declared before it. Numeric values spanning more than
    two decades get a log axis; ticks are few and short. Failed trials are
    left out.

    Args:
        tuner: a keras-tuner tuner or oracle.
        path: optional PNG path to save the figure to.
        max_hyperparameters: int >= 1, panels for at most this many
            hyperparameters (the most related to the objective). Defaults to 8.

    Returns:
        The matplotlib `Figure`.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> oracle = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1)
    >>> len(kerasboost.tuning.plot_trials(oracle).axes)
    1

    ```
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    if (
        isinstance(max_hyperparameters, bool)
        or not isinstance(max_hyperparameters, numbers.Integral)
        or max_hyperparameters < 1
    ):
        raise fail("max_hyperparameters", "an int >= 1", max_hyperparameters)
    oracle = _oracle(tuner)
    frame = trials_dataframe(oracle)
    if len(frame):
        frame = frame[frame["score"].notna()].reset_index(drop=True)
    direction = getattr(oracle.objective, "direction", "min")
    name = getattr(oracle.objective, "name", "objective")
    related = []
    for column in (c for c in frame.columns if c.startswith("hp/")):
        kept = frame[column].notna()
        values, scores = frame[column][kept], frame["score"][kept]
        if len({str(v) for v in values}) > 1:
            related.append((_relation(values, scores), column))
    related.sort(key=lambda item: -item[0])
    related = related[:max_hyperparameters]
    panels = 1 + len(related)
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.4 * rows), squeeze=False, layout="constrained")
    axes = axes.ravel()
    for ax in axes[panels:]:
        fig.delaxes(ax)
    ax = axes[0]
    scores = frame["score"].to_numpy(dtype=float) if len(frame) else np.array([])
    trials = np.arange(1, len(scores) + 1)
    ax.plot(trials, scores, "o", label="trial")
    if len(scores):
        best = np.minimum.accumulate(scores) if direction == "min" else np.maximum.accumulate(scores)
        ax.plot(trials, best, "-", label="best so far")
        ax.legend(fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="completed trial", ylabel=name, title=f"{name} per trial ({direction})")
    for ax, (strength, column) in zip(axes[1:], related):
        kept = frame[column].notna()
        x, y = frame[column][kept], frame["score"][kept].to_numpy(dtype=float)
        if _numeric(x):
            xs = x.to_numpy(dtype=float)
            ax.plot(xs, y, "o")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            if xs.min() > 0 and xs.max() / xs.min() > 100:
                ax.set_xscale("log")
            else:
                ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))
            measure = "|rank corr.|"
        else:
            labels = sorted({str(v) for v in x})
            ax.plot([labels.index(str(v)) for v in x], y, "o")
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
            measure = "corr. ratio"
        ax.set(xlabel=column[3:], ylabel=name, title=f"{column[3:]} ({measure} {strength:.2f})")
        ax.title.set_fontsize(9)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


@kerasboost_export("kerasboost.tuning.plot_intermediate", register=False)
def plot_intermediate(tuner: Any, path: str | None = None, ax: Any = None) -> Any:
    """Every trial's objective epoch by epoch, the trials a pruner stopped marked where they stopped.

    The curves are the values a pruning search reports at each epoch's end
    (`kerasboost.tuning.RandomSearch(pruner=...)`, `BayesianOptimization`,
    `ASHA`): completed trials as lines, pruned ones fainter and ending in an
    "x". With `ASHA`, a trial that resumed another starts where that one
    ended, and a configuration left paused below the last rung ends in an "x"
    (a stretch the time budget cut takes the colour of its configuration).

    Args:
        tuner: a keras-tuner tuner or oracle of a search run with a pruner.
        path: optional PNG path to save the figure to.
        ax: optional matplotlib `Axes` to draw into.

    Returns:
        The matplotlib `Figure`.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_loss", max_trials=1)
    >>> kerasboost.tuning.plot_intermediate(oracle).axes[0].get_xlabel()
    'epoch'

    ```

    References:
        - Akiba et al., 2019, "Optuna: A Next-generation Hyperparameter
          Optimization Framework", KDD, https://arxiv.org/abs/1907.10902
          (its intermediate-values plot)
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    oracle = _oracle(tuner)
    name = getattr(oracle.objective, "name", "objective")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 3.8), layout="constrained")
    else:
        fig = ax.figure
    pruned_label = kept_label = None
    curves = {}
    for trial_id, trial in oracle.trials.items():
        if trial.metrics.exists(INTERMEDIATE + name):
            history = sorted(trial.metrics.get_history(INTERMEDIATE + name), key=lambda o: o.step)
            curves[trial_id] = ([o.step for o in history], [float(sum(o.value) / len(o.value)) for o in history])
    # stretches of a configuration (`ASHA`): each drawn from where the one it resumed ended
    resumes = {t: oracle.trials[t].hyperparameters.values.get("tuner/trial_id") for t in curves}
    resumed = set(resumes.values())
    last_rung = max((oracle.trials[t].hyperparameters.values.get("tuner/epochs", 0) for t in curves), default=0)
    for trial_id in sorted(curves):
        trial = oracle.trials[trial_id]
        epochs, values = curves[trial_id]
        if resumes[trial_id] in curves and epochs:
            before_epochs, before_values = curves[resumes[trial_id]]
            epochs, values = before_epochs[-1:] + epochs, before_values[-1:] + values
        end = trial_id  # the configuration's last stretch: its fate colours every stretch
        if trial.metrics.exists(CUT) and resumes[trial_id] is not None:
            end = resumes[trial_id]  # cut by `max_time`: its configuration goes on from the same pause
        elif trial.metrics.exists(CUT):  # a first stretch cut: its configuration started again
            # (the same configuration as `ASHAOracle` counts one: its values but the search's own)
            config = oracle._compute_values_hash(trial.hyperparameters.values)
            end = max(
                t
                for t in curves
                if resumes[t] is None and oracle._compute_values_hash(oracle.trials[t].hyperparameters.values) == config
            )
        while end in resumed:
            end = max(t for t, r in resumes.items() if r == end)  # the latest: a cut stretch ran again
        paused = 0 < oracle.trials[end].hyperparameters.values.get("tuner/epochs", 0) < last_rung
        if (trial.metrics.exists(PRUNED) and trial.metrics.get_history(PRUNED)) or paused:
            ax.plot(
                epochs,
                values,
                "-",
                color="C3",
                alpha=0.5,
                linewidth=1,
                label=pruned_label or ("left paused at a rung" if paused else "pruned"),
            )
            if end == trial_id:
                ax.plot(epochs[-1:], values[-1:], "x", color="C3")
            pruned_label = "_"
        else:
            ax.plot(epochs, values, "-", color="C0", linewidth=1.4, label=kept_label or "ran to the end")
            kept_label = "_"
    ax.set(xlabel="epoch", ylabel=name, title=f"{name} of every trial, epoch by epoch")
    if pruned_label or kept_label:
        ax.legend(fontsize=8)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
