"""`diagnose`: probe a copy of any compiled Keras model, name what keeps it from training, and try the fix."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any

import keras
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.diagnostics.problems import THRESHOLDS
from kerasboost.doctor import rules
from kerasboost.doctor.probe import (
    Data,
    Probe,
    RangeTest,
    clone_with_weights,
    copy_model,
    is_dataset,
    range_test,
    rows,
    run_probe,
    sample_dataset,
    split_data,
)
from kerasboost.doctor.report import Diagnosis
from kerasboost.utils.validation import check_bool, check_number, check_seed, fail


@kerasboost_export("kerasboost.doctor.diagnose", register=False)
def diagnose(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    validation_data: tuple | None = None,
    validation_split: float = 0.2,
    steps: int = 200,
    epochs: int = 8,
    batch_size: int = 32,
    lr_range_test: bool | str = "auto",
    try_fixes: bool = False,
    seed: int = 0,
) -> Diagnosis:
    """Probe a copy of a compiled model, name what keeps it from training, and (optionally) prove the fix.

    The probe trains a copy of `model` (same layers and weights, a fresh optimizer of the same
    configuration, the same loss, metrics and `jit_compile`) for about `steps` steps in
    `epochs` short epochs, with `GradientStatistics` recording every step and an
    `activation_report` before and after; the model you pass, its weights and its optimizer
    are not touched. The rules (`kerasboost.doctor.rules.STAGES`, a table) then look for
    causes before symptoms:

    0. the program and the targets, read before any training (`kerasboost.diagnostics.program`
       and `.targets`): `output_loss_mismatch`, `target_loss_mismatch`,
       `output_range_mismatch`, `linear_model`; then the data: `nonfinite`, `invalid_targets`,
       `unscaled_inputs`, `unscaled_targets`. A fault Keras cannot train through (a
       `blocking` finding) is reported alone, without a probe;
    1. `nonfinite`: NaN / Inf in the inputs or targets (nothing else is read then);
    2. forward, at the start: `activation_growth` (a hidden output's std over the first's
       above the `activation_growth` threshold: an un-normalized residual trunk),
       `dead_units`, `saturated_units`, and `vanishing_gradients` (a layer's mean gradient
       norm below `vanishing_ratio` of the last layer's, or below `vanishing_floor`);
    3. only then the learning rate, when the probe shows a symptom (non-finite values,
       exploding norms, slow progress, units dying, an oscillating loss): the range test (Smith 2017) on another
       copy gives the rate of the lowest loss and the valley; the peak rate above the first
       is `learning_rate_too_high` (so is a probe gone NaN / Inf at a rate above
       `rate_above_valley` x the valley), below `rate_below_valley` x the valley
       `learning_rate_too_low`;
    4. otherwise `nonfinite` (of the training), `exploding_gradients`, `dead_units` (during
       the probe), `oscillating_loss` (the per-step loss swings by more than
       `oscillation_swing` of its level and does not trend down), `imbalanced_classes` (the
       model answers the largest of very unequal classes), `metric_at_chance` (the loss falls
       while the validation accuracy stays within `chance_margin` of the largest class's
       share), `overfitting` (the validation loss, at some later epoch, up
       `overfitting_rise` from its minimum while the training loss falls; judged only when
       the probe saw the whole training set), `not_learning`; `healthy` when nothing fired.

    Each `Finding` has `problem` (a name of the vocabulary, `kerasboost.diagnostics.problems`,
    with the same thresholds and remedy as the callbacks' alerts of that name), `layers`,
    `evidence` (the numbers and thresholds), `remedy` (words) and, where kerasboost can apply
    one, `fix`. Nothing the
    model or optimizer already has (clipping, `SkipNonFinite`, weight decay) is proposed. With
    `try_fixes=True` each fix is applied to a fresh copy, the same probe runs again (same
    data and seed), and the finding's `trial` holds the validation loss and the triggering
    statistic before and after.

    The probe uses at most `(steps // epochs) * batch_size` training rows (a seeded random
    subset of a larger set), and a multiple of `batch_size` validation rows (a seeded subset
    that leaves out fewer than one batch: one batch shape, one compiled test step). It calls
    `keras.utils.set_random_seed(seed)` before each run.

    Args:
        model: a compiled, built Keras model (Sequential, functional, or a subclass with
            `get_config`).
        x: the inputs: an array, a list / dict of arrays, or a `tf.data.Dataset` /
            `keras.utils.PyDataset` of `(x, y)` batches (the doctor reads a bounded sample of
            it: the rows its checks and probe use).
        y: the targets (same rows as `x`; numeric: encode string labels first); None when `x`
            is a dataset.
        validation_data: optional `(x_val, y_val)` or a dataset; else `validation_split` of
            the rows.
        validation_split: float in (0, 1). Defaults to `0.2`.
        steps: int >= `epochs`, training steps of the probe. Defaults to `200`.
        epochs: int >= 3, probe epochs (a validation loss after each). Defaults to `8`.
        batch_size: int >= 1. Defaults to `32`.
        lr_range_test: `"auto"` (when a symptom calls for it), `True` or `False`.
        try_fixes: bool, apply each fix to a copy and probe it again. Defaults to `False`.
        seed: int, the seed of the split, the subset and the runs. Defaults to `0`.

    Returns:
        A `Diagnosis`: `findings`, `problems`, `measures`, `str()` the report, `plot(out)`,
        and `repair()`: a compiled copy of the model with the first fix its trial proved.

    Raises:
        ValueError: naming the argument, for a model that is not built and compiled, inputs
            that are not arrays or a dataset, missing or non-numeric targets, or settings out
            of range. Labels the loss cannot read (class indices out of range, one-hot rows
            under a sparse loss) are not an error but a finding: `invalid_targets` or
            `target_loss_mismatch`, reported without a probe when Keras could not train on them.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(512, 8)).astype("float32")
    >>> y = (x[:, :1] > 0).astype("float32")
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
    ...                           keras.layers.Dense(1, activation="sigmoid")])
    >>> model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", jit_compile=True)
    >>> kerasboost.doctor.diagnose(model, x, y, steps=48, epochs=4).problems
    ['healthy']

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep feedforward
          neural networks", AISTATS
        - Smith, 2017, "Cyclical Learning Rates for Training Neural Networks",
          https://arxiv.org/abs/1506.01186
        - Zhang, Dauphin & Ma, 2019, "Fixup Initialization: Residual Learning Without
          Normalization", https://arxiv.org/abs/1901.09321
        - De & Smith, 2020, "Batch Normalization Biases Residual Blocks Towards the Identity
          Function in Deep Networks", https://arxiv.org/abs/2002.10444
    """
    if not isinstance(model, keras.Model) or not model.built:
        raise fail("model", "a built Keras model", model)
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise fail("model", "a compiled model (call model.compile(optimizer, loss) first)", model.name)
    try:  # the probe trains copies: a model Keras cannot clone cannot be probed
        clone_with_weights(model)
    except (TypeError, ValueError, NotImplementedError) as e:
        raise fail(
            "model",
            "a model keras.models.clone_model can copy: Sequential, functional, or a subclass whose get_config / "
            f"from_config rebuild it ({type(e).__name__} when cloning)",
            model.name,
        ) from e
    validation_split = check_number(
        "validation_split", validation_split, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    epochs = check_number("epochs", epochs, low=3, integer=True)
    steps = check_number("steps", steps, low=epochs, integer=True)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    rows_needed = (steps // epochs) * batch_size
    rank = len(model.inputs[0].shape) if getattr(model, "inputs", None) else None
    if is_dataset(x):  # a bounded sample: what the probe trains on, and the rows to split off for validation
        if y is not None:
            raise fail("y", "None when x is a dataset (it yields the targets)", type(y).__name__)
        x, y = sample_dataset(x, rows_needed if validation_data is not None else 2 * rows_needed, rank)
    if validation_data is not None and is_dataset(validation_data):
        validation_data = sample_dataset(validation_data, rows_needed, rank)
    try:
        n = rows(x)
    except (TypeError, IndexError) as e:
        raise fail(
            "x", "an array, a list / dict of arrays, a tf.data.Dataset or a keras.utils.PyDataset", type(x).__name__
        ) from e
    if n < 4:
        raise fail("x", "at least 4 rows", n)
    if y is None:
        raise fail("y", "the targets (with array inputs; a dataset yields them itself)", None)
    if rows(y) != n:
        raise fail("y", f"as many rows as x ({n})", rows(y))
    _check_numeric("y", y)
    if validation_data is not None and not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
        raise fail("validation_data", "None, a tuple (x_val, y_val) or a dataset of (x, y) batches", validation_data)
    if validation_data is not None:
        _check_numeric("validation_data", validation_data[1])
    if lr_range_test not in ("auto", True, False):
        raise fail("lr_range_test", "'auto', True or False", lr_range_test)
    try_fixes = check_bool("try_fixes", try_fixes)
    seed = int(check_seed("seed", seed, allow_none=False) or 0)

    settings = _Settings(steps, epochs, batch_size, lr_range_test, try_fixes, seed)
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # each activation report's new probe model retraces its predict step
    try:
        data = split_data(x, y, validation_data, validation_split, rows_needed, seed, batch_size)
        return _diagnose(model, data, settings)
    finally:
        tf_logger.setLevel(level)


def _check_numeric(name: str, targets: Any) -> None:
    for array in keras.tree.flatten(targets):
        dtype = np.asarray(array).dtype
        if not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)):
            raise fail(
                name,
                "numeric targets: encode labels as integers first (keras.layers.StringLookup, or "
                "sklearn.preprocessing.LabelEncoder)",
                f"an array of dtype {dtype}",
            )


@dataclasses.dataclass(frozen=True)
class _Settings:
    """`diagnose`'s checked arguments, as the probe and the trials use them."""

    steps: int
    epochs: int
    batch_size: int
    lr_range_test: bool | str
    try_fixes: bool
    seed: int


def _diagnose(model: keras.Model, data: Data, settings: _Settings) -> Diagnosis:
    start = time.perf_counter()
    seed, batch_size = settings.seed, settings.batch_size
    # a training set smaller than an epoch's share of the steps is passed over more often
    probe_epochs = max(settings.epochs, round(settings.steps / math.ceil(rows(data.x) / batch_size)))

    def probe(candidate: keras.Model, probe_data: Data, fit: dict | None = None) -> Probe:
        keras.utils.set_random_seed(seed)
        return run_probe(candidate, probe_data, epochs=probe_epochs, batch_size=batch_size, fit=fit)

    blocked = rules.blocking(model, data, seed)
    if blocked is not None:  # Keras cannot train it as it is: no probe to read, the fix judged on its own
        diagnosis = Diagnosis([blocked], {}, None, model_name=model.name, model=model, data=data)
        if settings.try_fixes and blocked.fix is not None:
            keras.utils.set_random_seed(seed)
            fixed_model, fixed_data, fit = blocked.fix.apply(model, data)
            trial = probe(fixed_model, fixed_data, fit)
            diagnosis.trials[blocked.fix.name] = trial
            blocked.trial = _trial_from_nothing(rules.measures(trial))
            if not blocked.trial["improved"]:
                blocked.rejected, blocked.fix = blocked.fix, None
        diagnosis.seconds = time.perf_counter() - start
        return diagnosis

    keras.utils.set_random_seed(seed)
    first = probe(copy_model(model), data)
    cache: list[RangeTest | None] = []

    def run_range_test() -> RangeTest | None:
        if settings.lr_range_test is False:
            return None
        if not cache:
            keras.utils.set_random_seed(seed)
            cache.append(range_test(model, data, batch_size))
        return cache[0]

    findings, measures, rates = rules.find(model, data, first, run_range_test, seed)
    if settings.lr_range_test is True and rates is None and not data.nonfinite_rows:
        rates = run_range_test()
    diagnosis = Diagnosis(findings, measures, first, rates, model_name=model.name, model=model, data=data)
    if settings.try_fixes:
        one_sample = 1.0 / max(rows(data.x_val), 1)  # the validation accuracy's resolution
        for fix in {id(f.fix): f.fix for f in findings if f.fix is not None}.values():
            statistic = next(f.statistic for f in findings if f.fix is fix)
            best: tuple[Any, Probe, dict, dict] | None = None  # (the setting kept, its probe, measures, trial)
            for candidate in (fix, *fix.alternatives):  # a fix and its other settings: the best trial is kept
                keras.utils.set_random_seed(seed)
                fixed_model, fixed_data, fit = candidate.apply(model, data)
                trial = probe(fixed_model, fixed_data, fit)
                after = rules.measures(trial)
                judged = _trial(statistic, measures, after, one_sample)
                if best is None or (
                    judged["improved"] and (not best[3]["improved"] or _better(judged, best[3], statistic))
                ):
                    best = (candidate, trial, after, judged)
            assert best is not None
            kept, trial, after, _ = best
            diagnosis.trials[fix.name] = trial
            for finding in findings:
                if finding.fix is fix:
                    finding.fix = kept
                    finding.trial = _trial(finding.statistic, measures, after, one_sample)
                    if fix.alternatives:
                        finding.trial["settings_tried"] = 1 + len(fix.alternatives)
                    if not finding.trial["improved"]:  # never offered: tried and rejected
                        finding.rejected, finding.fix = kept, None
    diagnosis.seconds = time.perf_counter() - start
    return diagnosis


def _better(one: dict, other: dict, statistic: str) -> bool:
    """Whether trial `one` ends better than trial `other` by `statistic` (the validation loss:
    lower; an accuracy or R^2: higher)."""
    a, b = (
        one["values"].get(statistic, (math.nan, math.nan))[1],
        other["values"].get(statistic, (math.nan, math.nan))[1],
    )
    if statistic == "val_loss":
        return bool(a < b) or (math.isfinite(a) and not math.isfinite(b))
    return bool(a > b) or (math.isfinite(a) and not math.isfinite(b))


def _trial_from_nothing(after: dict) -> dict:
    """The trial of a fix for a model Keras could not train as it was: it improves when the copy
    trains (a finite validation loss) and learns (its training loss falls by `no_progress`)."""
    keys = ["val_loss"] + (["val_accuracy"] if "val_accuracy" in after else [])
    values = {k: (math.nan, after.get(k, math.nan)) for k in keys}
    trains = math.isfinite(after["val_loss"])
    learns = after["progress"] >= THRESHOLDS["no_progress"]
    trial: dict[str, Any] = {"values": values, "val_loss_change": None, "improved": bool(trains and learns)}
    if not trial["improved"]:
        trial["why"] = "the copy did not train" if not trains else "the copy trained but did not learn"
    return trial


MIN_GAIN = 0.01
"""A fix must lower the validation loss by at least this fraction (or make it finite again)."""


def _trial(statistic: str, before: dict, after: dict, one_sample: float = 0.0) -> dict:
    """The before / after numbers of a fix and whether it improved the model: the validation
    loss lower by at least `MIN_GAIN` (or finite again) and the validation accuracy, where the
    model reports one, not lower by more than one validation sample (`one_sample`). A fix that
    changes the loss (`statistic == "val_accuracy"`) is judged by the accuracy alone: it must
    rise by at least one sample; one that weights the classes anew (`"val_balanced_accuracy"`)
    by the balanced accuracy alone, the same way; one that rescales the targets (`"val_r2"`) by
    the validation R^2 alone, which must rise by `MIN_GAIN`."""
    keys = ["val_loss"] + ([statistic] if statistic != "val_loss" else [])
    if "val_accuracy" in before and "val_accuracy" not in keys:
        keys.append("val_accuracy")
    values = {k: (before.get(k, math.nan), after.get(k, math.nan)) for k in keys}
    b, a = values["val_loss"]
    change = (a - b) / b if math.isfinite(b) and b > 0 and math.isfinite(a) else None
    finite_again = not math.isfinite(b) and math.isfinite(a)
    loss_better = finite_again or (math.isfinite(b) and a < b * (1.0 - MIN_GAIN))
    accuracy = values.get("val_accuracy")
    if statistic == "val_r2":  # the targets rescaled: the losses are in other units, R^2 is not
        r2 = values["val_r2"]
        improved = math.isfinite(r2[1]) and (not math.isfinite(r2[0]) or r2[1] >= r2[0] + MIN_GAIN)
        why = f"the validation R^2 did not rise by {MIN_GAIN:g}"
    elif statistic == "val_balanced_accuracy":  # the classes weighted anew: the loss and accuracy change meaning
        balanced = values["val_balanced_accuracy"]
        improved = balanced[1] >= balanced[0] + one_sample
        why = f"the validation balanced accuracy did not rise by a validation sample ({one_sample:.3g})"
    elif statistic == "val_accuracy" and accuracy is not None:
        improved = accuracy[1] >= accuracy[0] + one_sample
        why = f"the validation accuracy did not rise by a validation sample ({one_sample:.3g})"
    else:
        kept = accuracy is None or not accuracy[1] < accuracy[0] - one_sample
        improved = loss_better and kept
        why = (
            f"the validation loss did not fall by {MIN_GAIN:.0%}"
            if not loss_better
            else f"the validation accuracy fell by more than a validation sample ({one_sample:.3g})"
        )
    if statistic == "val_r2":  # the losses before and after are in other units: not reported side by side
        values.pop("val_loss")
        change = None
    trial = {"values": values, "val_loss_change": change, "improved": bool(improved)}
    if not improved:
        trial["why"] = why
    return trial
