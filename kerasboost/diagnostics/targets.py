"""What the targets say against the program: labels of the kind the loss reads, in the range the output can take.

`target_fault(setup, y)` compares the targets of a single-output model with its output layer
and loss (an `OutputSetup` of `kerasboost.diagnostics.program`) without running anything:

- `target_loss_mismatch` (the program): the targets are encoded another way than the loss
  reads them: one-hot rows under a sparse loss, class indices under a categorical loss;
  the fix is the loss of the other encoding;
- `invalid_targets` (the data): values the loss cannot read as its kind of target: class
  indices outside `0 .. units - 1` or not whole numbers (labels scaled like pixels), binary
  targets outside [0, 1], categorical rows that are not distributions, a column count the
  output does not have. Nothing in the model fixes those: the report says what to change;
- `output_range_mismatch` (the program): regression targets outside the range of the output
  layer's activation (a sigmoid output for targets 3..103): the output cannot reach them;
  the fix is a linear output.

A fault is `blocking` when Keras cannot train the model on those targets at all (a shape it
rejects, a class index out of range): the doctor then reports it without its probe.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from kerasboost.diagnostics.program import OutputSetup, softmax_under_binary_loss

# the range each output activation can reach (closed bounds; None: unbounded on that side)
ACTIVATION_RANGES: dict[str, tuple[float | None, float | None]] = {
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "softmax": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "hard_tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "relu": (0.0, None),
    "relu6": (0.0, 6.0),
    "softplus": (0.0, None),
    "exponential": (0.0, None),
    "elu": (-1.0, None),
    "selu": (-1.7581, None),
}
OUTSIDE_SHARE = 0.01  # regression targets: a fault when more than this share lies outside the output's range
_TOLERANCE = 1e-3  # one-hot rows and distributions: how far a row sum may be from 1


@dataclasses.dataclass(frozen=True)
class TargetFault:
    """What is wrong between the targets and the program, and what the doctor can change."""

    problem: str  # "target_loss_mismatch", "invalid_targets" or "output_range_mismatch"
    reason: str
    evidence: dict[str, Any]
    blocking: bool  # Keras cannot train on these targets as compiled
    loss: keras.losses.Loss | None = None  # target_loss_mismatch: the loss that reads these targets
    activation: str | None = None  # output_range_mismatch: the output activation that reaches them
    # invalid_targets, where the labels say how to read them: {old value: new value} (class indices
    # shifted to start at 0, binary labels {a, b} read as {0, 1}), or the units the output needs
    relabel: dict[float, float] | None = None
    units_needed: int | None = None


def target_array(y: Any) -> np.ndarray | None:
    """The one numeric target array of `y` (an array, or a list / dict holding one), or None."""
    if y is None:
        return None
    arrays = keras.tree.flatten(y)
    if len(arrays) != 1:
        return None
    array = np.asarray(arrays[0])
    if array.dtype == bool:
        return array.astype("float32")
    return array if np.issubdtype(array.dtype, np.number) else None


def _is_one_hot(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0, 1)).all() and np.allclose(y.sum(axis=-1), 1.0, atol=_TOLERANCE))


def label_encoding(y: Any, units: int) -> str | None:
    """How `y` encodes classes for an output of `units` units: `"multi_hot"` (rows of 0 / 1 with
    more than one 1 in some row), `"one_hot"` (rows of 0 / 1 with one 1 each), `"indices"` (one
    whole number per row, in 0..units-1), or None (anything else)."""
    array = target_array(y)
    if array is None or array.size == 0 or not np.isfinite(array).all():
        return None
    if array.ndim >= 2 and array.shape[-1] == units and units > 1 and np.isin(array, (0, 1)).all():
        return "multi_hot" if bool((array.reshape(-1, units).sum(axis=-1) > 1).any()) else "one_hot"
    if (array.ndim == 1 or array.shape[-1] == 1) and _whole(array) and array.min() >= 0 and array.max() < units:
        return "indices"
    return None


def _one_class_per_row(setup: OutputSetup, array: np.ndarray) -> bool:
    """A softmax over several units trained with a binary loss on one-hot rows: single-label
    classification written with the wrong loss (its classes can still be read)."""
    return softmax_under_binary_loss(setup) and label_encoding(array, setup.units) == "one_hot"


def _whole(values: np.ndarray) -> bool:
    return bool(np.all(values == np.round(values)))


def _span(values: np.ndarray) -> str:
    return f"{values.min():.4g}..{values.max():.4g}"


def target_fault(setup: OutputSetup, y: Any) -> TargetFault | None:
    """The first fault between the targets `y` and the model's output and loss, or None (also when
    the targets are not one numeric array, or hold NaN / Inf: that is the `nonfinite` check's).

    Example:

    ```python
    >>> import numpy as np
    >>> from kerasboost.diagnostics.program import OutputSetup, softmax_under_binary_loss
    >>> setup = OutputSetup("logits", "linear", 3, "sparse_categorical_crossentropy", "sparse", True)
    >>> target_fault(setup, np.array([5, 6, 7])).reason
    'class indices 5..7 for an output of 3 unit(s): sparse_categorical_crossentropy reads 0..2'
    >>> target_fault(setup, np.array([0, 2, 1])) is None
    True

    ```
    """
    array = target_array(y)
    if array is None or array.size == 0:
        return None
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        return None
    values = array.astype("float64")
    columns = array.shape[-1] if array.ndim > 1 else 1
    flat = values.reshape(len(values), -1) if columns > 1 else values.reshape(-1)
    units, loss = setup.units, setup.loss
    evidence: dict[str, Any] = {"loss": loss, "output_units": units, "target_shape": list(array.shape)}
    if setup.targets == "sparse":
        return _sparse(setup, flat, columns, evidence)
    if setup.targets == "categorical":
        return _categorical(setup, flat, columns, evidence)
    if setup.targets == "binary":
        return _binary(setup, flat, columns, evidence)
    return _regression(setup, flat, evidence)


def _invalid(reason: str, evidence: dict, blocking: bool) -> TargetFault:
    return TargetFault("invalid_targets", reason, {**evidence, "why": reason}, blocking)


def _sparse(setup: OutputSetup, flat: np.ndarray, columns: int, evidence: dict) -> TargetFault | None:
    units = setup.units
    if columns > 1:
        if columns == units and _is_one_hot(flat):
            reason = f"one-hot targets ({columns} columns) under {setup.loss}, which reads one class index per sample"
            loss = keras.losses.CategoricalCrossentropy(from_logits=setup.from_logits)
            return TargetFault("target_loss_mismatch", reason, {**evidence, "why": reason}, True, loss=loss)
        reason = f"{columns} target columns under {setup.loss}, which reads one class index per sample"
        return _invalid(reason, evidence, True)
    if not _whole(flat):
        example = float(flat[flat != np.round(flat)][0])
        reason = (
            f"class indices must be whole numbers; the targets span {_span(flat)} (e.g. {example:.4g}): "
            f"{setup.loss} truncates them"
        )
        return _invalid(reason, {**evidence, "target_range": _span(flat)}, False)
    if flat.min() < 0 or flat.max() >= units:
        reason = f"class indices {_span(flat)} for an output of {units} unit(s): {setup.loss} reads 0..{units - 1}"
        fault = _invalid(reason, {**evidence, "target_range": _span(flat)}, True)
        low, high = float(flat.min()), float(flat.max())
        if high - low < units:  # the labels fit the units once they start at 0 (labels 1..10 for 10 units)
            values = np.unique(flat)
            return dataclasses.replace(fault, relabel={float(v): float(v - low) for v in values})
        if low >= 0:  # more classes than units: the output needs one unit per class index
            return dataclasses.replace(fault, units_needed=int(high) + 1)
        return fault
    return None


def _categorical(setup: OutputSetup, flat: np.ndarray, columns: int, evidence: dict) -> TargetFault | None:
    units = setup.units
    if columns == 1 and units > 1:
        if _whole(flat) and flat.min() >= 0 and flat.max() < units:
            reason = f"class indices ({_span(flat)}) under {setup.loss}, which reads one-hot rows of {units}"
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=setup.from_logits)
            evidence = {**evidence, "target_range": _span(flat), "why": reason}
            return TargetFault("target_loss_mismatch", reason, evidence, True, loss=loss)
        reason = f"one target per sample ({_span(flat)}) under {setup.loss}, which reads rows of {units}"
        return _invalid(reason, {**evidence, "target_range": _span(flat)}, True)
    if columns != units:
        return _invalid(f"{columns} target columns for an output of {units} units", evidence, True)
    sums = flat.sum(axis=-1)
    if flat.min() < 0 or flat.max() > 1 or not np.allclose(sums, 1.0, atol=_TOLERANCE):
        reason = (
            f"{setup.loss} reads each row as a distribution over the classes; the targets span {_span(flat)}, "
            f"their row sums {_span(sums)}"
        )
        return _invalid(reason, {**evidence, "target_range": _span(flat)}, False)
    return None


def _binary(setup: OutputSetup, flat: np.ndarray, columns: int, evidence: dict) -> TargetFault | None:
    if columns != setup.units and not (columns == 1 and setup.units == 1):
        return _invalid(f"{columns} target columns for an output of {setup.units} unit(s)", evidence, True)
    if flat.min() < 0 or flat.max() > 1:
        reason = f"{setup.loss} reads targets in [0, 1]; these span {_span(flat)}"
        fault = _invalid(reason, {**evidence, "target_range": _span(flat)}, False)
        values = np.unique(flat)
        if values.size == 2:  # two labels, as an SVM's {-1, 1}: the larger is the positive class
            return dataclasses.replace(fault, relabel={float(values[0]): 0.0, float(values[1]): 1.0})
        return fault
    return None


def _regression(setup: OutputSetup, flat: np.ndarray, evidence: dict) -> TargetFault | None:
    bounds = ACTIVATION_RANGES.get(setup.activation or "")
    if bounds is None:
        return None
    low, high = bounds
    outside = np.zeros(flat.shape, bool)
    if low is not None:
        outside |= flat < low
    if high is not None:
        outside |= flat > high
    share = float(outside.mean())
    if share <= OUTSIDE_SHARE:
        return None
    reach = f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"
    reason = f"a {setup.activation} output reaches {reach}; {share:.0%} of the targets ({_span(flat)}) lie outside it"
    evidence = {**evidence, "activation": setup.activation, "target_range": _span(flat), "share_outside": share}
    return TargetFault("output_range_mismatch", reason, {**evidence, "why": reason}, False, activation="linear")


def class_indices(setup: OutputSetup, y: Any) -> np.ndarray | None:
    """The class of each target row, for a single-label classification loss (sparse, categorical,
    binary over one unit, or binary over a softmax's one-hot rows); None for other losses,
    multi-label targets or targets that do not fit (`target_fault`)."""
    array = target_array(y)
    if array is None or array.size == 0 or target_fault(setup, y) is not None:
        return None
    if setup.targets == "sparse":
        return array.reshape(-1).astype("int64")
    if setup.targets == "categorical" or _one_class_per_row(setup, array):
        return np.argmax(array.reshape(len(array), -1), axis=-1)
    if setup.targets == "binary" and setup.units == 1:
        return (array.reshape(-1) > 0.5).astype("int64")
    return None


def predicted_classes(setup: OutputSetup, outputs: np.ndarray) -> np.ndarray | None:
    """The class a model's `outputs` pick for each row (argmax over the units; one sigmoid unit:
    above 0.5, or above 0 for logits); None when `class_indices` is None for that output."""
    if setup.targets in ("sparse", "categorical") or softmax_under_binary_loss(setup):
        return np.argmax(outputs.reshape(len(outputs), -1), axis=-1)
    if setup.targets == "binary" and setup.units == 1:
        return (outputs.reshape(-1) > (0.0 if setup.from_logits else 0.5)).astype("int64")
    return None


def balanced_weights(counts: dict[int, int]) -> dict[int, float]:
    """`{class: n / (k * n_class)}` from each present class's row count: each class weighs as much
    in the loss as the others together (King & Zeng 2001; scikit-learn's "balanced")."""
    total = sum(counts.values())
    return {int(c): float(total / (len(counts) * n)) for c, n in counts.items()}


def balanced_accuracy(true: np.ndarray, predicted: np.ndarray) -> float:
    """The mean over the classes present in `true` of the share of their rows predicted right
    (the macro recall; for balanced classes the accuracy)."""
    recalls = [float(np.mean(predicted[true == c] == c)) for c in np.unique(true)]
    return float(np.mean(recalls)) if recalls else float("nan")


def r_squared(true: np.ndarray, predicted: np.ndarray) -> float:
    """`1 - sum((y - y_hat)^2) / sum((y - mean(y))^2)`: the share of the targets' variance the
    predictions explain (1 perfect, 0 the mean's, below 0 worse; unchanged when targets and
    predictions are rescaled alike). NaN for constant or non-finite values."""
    true, predicted = true.astype("float64"), predicted.astype("float64")
    total = float(np.sum((true - true.mean()) ** 2))
    residual = float(np.sum((true - predicted) ** 2))
    if total == 0.0 or not (np.isfinite(total) and np.isfinite(residual)):
        return float("nan")
    return 1.0 - residual / total


REGRESSION_LOSSES = frozenset(
    {"mean_squared_error", "mean_absolute_error", "huber", "log_cosh", "MeanSquaredError", "MeanAbsoluteError"}
    | {"Huber", "LogCosh", "mse", "mae"}
)
"""The losses whose value and gradients scale with the targets (not the log or percentage ones)."""


def target_scales(setup: OutputSetup, y: Any) -> dict[str, Any] | None:
    """The regression targets' per-column mean and std and their largest `max(|mean|, std)`
    (`scale`), for a linear output under a loss of `REGRESSION_LOSSES`; None otherwise."""
    if setup.loss not in REGRESSION_LOSSES or setup.activation not in (None, "linear"):
        return None
    array = target_array(y)
    if array is None or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        return None
    values = array.astype("float64").reshape(len(array), -1)
    if not np.isfinite(values).all():
        return None
    mean, std = values.mean(axis=0), values.std(axis=0)
    return {"mean": mean, "std": np.where(std > 0, std, 1.0), "scale": float(np.max(np.maximum(np.abs(mean), std)))}
