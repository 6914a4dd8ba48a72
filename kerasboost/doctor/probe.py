"""The doctor's probe: a short training run of a copy of the user's model, with every statistic recorded.

`copy_model` makes an independent copy (same architecture, layer names and weights, a fresh
optimizer of the same configuration); `run_probe` trains it for a few hundred steps with
`GradientStatistics`, takes `activation_report`s before and after, evaluates the losses before
training and after every probe epoch, and returns one `Probe` with the numbers the rules in
`kerasboost.doctor.rules` read. `range_test` runs the learning-rate range test on another copy.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
import warnings
from typing import Any

import keras
import numpy as np

from kerasboost import _keras
from kerasboost.callbacks import GradientStatistics, LearningRateFinder
from kerasboost.diagnostics import program, targets
from kerasboost.diagnostics.activation_report import activation_report
from kerasboost.diagnostics.plot_schedule import schedule_values
from kerasboost.optimizers.wrapper import optimizer_chain, without_loss_scaling

# ------------------------------------------------------------------ data


def rows(data: Any) -> int:
    """The number of samples (rows) of an array or of a list / dict of arrays."""
    return len(keras.tree.flatten(data)[0])


def take(data: Any, index: np.ndarray) -> Any:
    """The rows `index` of an array or of every array of a list / dict (None stays None)."""
    if data is None:
        return None
    return keras.tree.map_structure(lambda a: np.asarray(a)[index], data)


def nonfinite_rows(*data: Any) -> np.ndarray:
    """A boolean mask: the rows holding a NaN or Inf in any array of `data` (floats only)."""
    mask = None
    for part in data:
        if part is None:
            continue
        for array in keras.tree.flatten(part):
            array = np.asarray(array)
            if mask is None:
                mask = np.zeros(len(array), bool)
            if np.issubdtype(array.dtype, np.floating):
                mask |= ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    return np.zeros(0, bool) if mask is None else mask


def is_dataset(data: Any) -> bool:
    """Whether `data` is a `tf.data.Dataset` or a `keras.utils.PyDataset` (batches, not arrays)."""
    return hasattr(data, "as_numpy_iterator") or isinstance(data, keras.utils.PyDataset)


def sample_dataset(dataset: Any, max_rows: int, input_rank: int | None = None) -> tuple[Any, Any]:
    """The first `max_rows` rows (at least) of a dataset of `(x, y)` or `(x, y, sample_weight)`
    batches, as arrays `(x, y)`. A `tf.data.Dataset` of single samples is batched here when its
    inputs have one axis fewer than the model's (`input_rank`, the batch axis counted)."""
    if isinstance(dataset, keras.utils.PyDataset):
        batches = (dataset[i] for i in range(len(dataset)))
    else:
        batches = dataset.as_numpy_iterator()
    xs, ys, seen = [], [], 0
    for batch in batches:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError(
                "Invalid x: expected a dataset yielding (inputs, targets) batches; got elements of type "
                f"{type(batch).__name__} without targets."
            )
        bx, by = keras.tree.map_structure(np.asarray, batch[0]), keras.tree.map_structure(np.asarray, batch[1])
        first = keras.tree.flatten(bx)[0]
        if input_rank is not None and first.ndim == input_rank - 1:  # one sample, not a batch
            bx, by = keras.tree.map_structure(lambda a: a[None], bx), keras.tree.map_structure(lambda a: a[None], by)
        xs.append(bx)
        ys.append(by)
        seen += rows(bx)
        if seen >= max_rows:
            break
    if not xs:
        raise ValueError("Invalid x: the dataset yielded no batch.")

    def join(parts: list) -> Any:
        return keras.tree.map_structure(lambda *a: np.concatenate(a)[:max_rows], *parts)

    return join(xs), join(ys)


@dataclasses.dataclass
class Data:
    """The probe's data: training rows (a subset when the set is larger than the probe needs) and validation."""

    x: Any
    y: Any
    x_val: Any
    y_val: Any
    train_rows: int  # rows of the user's training set
    nonfinite_rows: int  # training + validation rows holding NaN / Inf

    @property
    def whole_set(self) -> bool:
        return rows(self.x) == self.train_rows

    def without_nonfinite_rows(self) -> Data:
        keep = ~nonfinite_rows(self.x, self.y)
        keep_val = ~nonfinite_rows(self.x_val, self.y_val)
        return dataclasses.replace(
            self,
            x=take(self.x, keep),
            y=take(self.y, keep),
            x_val=take(self.x_val, keep_val),
            y_val=take(self.y_val, keep_val),
            nonfinite_rows=0,
        )


def split_data(
    x, y, validation_data, validation_split: float, rows_needed: int, seed: int, batch_size: int = 1
) -> Data:
    """Shuffle, split off the validation rows (unless given) and keep at most `rows_needed` training rows.

    The validation rows are cut to a multiple of `batch_size` (a seeded subset; all of them
    when fewer than two batches): a last, smaller batch would compile the test step (XLA) once
    more for its shape."""
    rng = np.random.default_rng(seed)
    n = rows(x)
    order = rng.permutation(n)
    if validation_data is None:
        n_val = max(1, round(n * validation_split))
        val, train = order[:n_val], order[n_val:]
        x_val, y_val = take(x, val), take(y, val)
    else:
        train = order
        x_val, y_val = validation_data[0], validation_data[1] if len(validation_data) > 1 else None
    n_val = rows(x_val)
    if n_val >= 2 * batch_size and n_val % batch_size:
        keep = np.sort(rng.permutation(n_val)[: n_val - n_val % batch_size])
        x_val, y_val = take(x_val, keep), take(y_val, keep)
    train_rows = len(train)
    train = train[:rows_needed]
    x_train, y_train = take(x, train), take(y, train)
    bad = int(nonfinite_rows(x_train, y_train).sum() + nonfinite_rows(x_val, y_val).sum())
    return Data(x_train, y_train, x_val, y_val, train_rows, bad)


# ------------------------------------------------------------------ the copy


def learning_rate_of(optimizer: keras.optimizers.Optimizer) -> Any:
    """The float or schedule the optimizer (through its wrappers) holds as its learning rate."""
    return _keras.learning_rate_value(optimizer_chain(optimizer)[-1])


def peak_learning_rate(optimizer: keras.optimizers.Optimizer, steps: int) -> float:
    """The largest learning rate the optimizer applies over the first `steps` steps."""
    rate = learning_rate_of(optimizer)
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        return float(np.max(schedule_values(rate, max(steps, 1))))
    return float(keras.ops.convert_to_numpy(rate))


def _innermost(config: dict) -> dict:
    """The config dict of the innermost optimizer of a serialized optimizer (the one holding the rate)."""
    inner = config["config"]
    while isinstance(inner.get("optimizer"), dict) or isinstance(inner.get("inner_optimizer"), dict):
        inner = (inner.get("optimizer") or inner["inner_optimizer"])["config"]
    return inner


def optimizer_config(optimizer: keras.optimizers.Optimizer) -> dict:
    """The config of the innermost optimizer (learning rate, clipping, weight decay...)."""
    return _innermost(keras.optimizers.serialize(optimizer))


def copy_optimizer(optimizer: keras.optimizers.Optimizer, **changes: Any) -> keras.optimizers.Optimizer:
    """A fresh optimizer of the same configuration (no state), with `changes` made to the config
    of the innermost optimizer (`learning_rate=0.01`, `global_clipnorm=1.0`, ...)."""
    config = copy.deepcopy(keras.optimizers.serialize(optimizer))
    _innermost(config).update(changes)
    return keras.optimizers.deserialize(config)


def copy_model(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer | None = None,
    weights: list | None = None,
    loss: Any = None,
) -> keras.Model:
    """An independent copy of a compiled model: the same architecture, layer names and weights
    (or `weights`), compiled like the original (loss, metrics, `jit_compile`) with `optimizer`
    or a fresh optimizer of the original's configuration, and `loss` if given."""
    return compile_like(model, clone_with_weights(model, weights), optimizer, loss)


def clone_with_weights(model: keras.Model, weights: list | None = None) -> keras.Model:
    """An uncompiled copy of `model`'s architecture holding its weights (or `weights`)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights() if weights is None else weights)
    return clone


def compile_like(
    model: keras.Model, new: keras.Model, optimizer: keras.optimizers.Optimizer | None = None, loss: Any = None
) -> keras.Model:
    """Compile `new` as `model` is compiled (loss, loss weights, metrics, `jit_compile`), with
    `optimizer` or a fresh optimizer of `model`'s configuration, and `loss` if given."""
    config = model.get_compile_config() or {}
    new.compile(
        optimizer=optimizer if optimizer is not None else copy_optimizer(model.optimizer),
        loss=getattr(model, "loss", None) if loss is None else loss,
        loss_weights=config.get("loss_weights"),
        metrics=_compiled(model, "metrics"),
        weighted_metrics=_compiled(model, "weighted_metrics"),
        jit_compile=config.get("jit_compile", "auto"),
    )
    return new


def _revive(metrics: Any) -> Any:
    """Compiled metrics as given, in their structure (a list, or a dict / list per output), with
    serialized metric objects re-created."""
    if isinstance(metrics, dict) and "class_name" in metrics:
        return keras.metrics.deserialize(metrics)
    if isinstance(metrics, dict):
        return {k: _revive(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_revive(m) for m in metrics]
    return metrics


def _compiled(model: keras.Model, key: str) -> Any:
    """`metrics` or `weighted_metrics` of the user's compile, re-created (None when unreadable)."""
    value = (model.get_compile_config() or {}).get(key)
    if not value:
        return None
    try:
        return _revive(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ the probe


@dataclasses.dataclass
class Probe:
    """What one probe run measured."""

    history: dict  # per probe epoch: loss, val_loss and the user's metrics
    initial: dict  # loss and val_loss (and metrics) before training
    final: dict  # the validation loss and metrics of the model the probe ends with
    records: list  # GradientStatistics records (one per step)
    layers: list  # GradientStatistics layer names, input side first
    before: Any  # ActivationReport before training (None when the model has no symbolic inputs)
    after: Any  # ActivationReport after the probe
    steps: int
    seconds: float
    learning_rate: float  # the largest rate the optimizer applied in the probe
    model: keras.Model = dataclasses.field(repr=False)
    # single-label classification: the class of each validation row, true and predicted at the
    # end, and the training rows' class counts (None for other tasks)
    classes: dict | None = dataclasses.field(repr=False, default=None)
    # single-output regression: the validation R^2 at the end (unit-free: comparable when the
    # targets are rescaled), None for other tasks
    r2: float | None = None
    # the training loss of each step (Keras logs a running mean per epoch; `StepLosses` undoes it)
    step_losses: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0), repr=False)

    def series(self, key: str) -> np.ndarray:
        """`key` before training, then after each probe epoch."""
        values = [self.initial.get(key, math.nan)] + list(self.history.get(key, []))
        return np.asarray(values, "float64")

    @property
    def nonfinite(self) -> bool:
        """Whether the loss or a gradient became NaN / Inf."""
        losses = np.concatenate([self.series("loss"), self.series("val_loss")])
        grads = any(r["grad_nonfinite"] > 0 for r in self.records)
        return grads or not np.isfinite(losses[1:]).all()


class StepLosses(keras.callbacks.Callback):
    """The training loss of every step. Keras logs, after each batch, the mean of the epoch's
    losses so far weighted by batch size; with `rows` training rows in batches of `batch_size`,
    the weights are known, and step k's own loss is `(m_k W_k - m_(k-1) W_(k-1)) / (W_k - W_(k-1))`
    with `W_k = min((k + 1) * batch_size, rows)`."""

    def __init__(self, rows: int, batch_size: int) -> None:
        super().__init__()
        self.rows, self.batch_size = rows, batch_size
        self.losses: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._total, self._weight = 0.0, 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not logs or "loss" not in logs:
            return
        weight = min((batch + 1) * self.batch_size, self.rows)
        total = float(keras.ops.convert_to_numpy(logs["loss"])) * weight
        self.losses.append((total - self._total) / max(weight - self._weight, 1))
        self._total, self._weight = total, weight


def _reports(model: keras.Model, x: Any) -> Any:
    if not model.inputs:
        return None
    return activation_report(model, x, all_layers=True)


def run_probe(
    model: keras.Model,
    data: Data,
    *,
    epochs: int,
    batch_size: int,
    fit: dict | None = None,
) -> Probe:
    """Train `model` (a copy: it is changed) on `data` for `epochs` passes with the statistics
    recorded; `fit` holds further keyword arguments of its `fit` (`callbacks`, `class_weight`)."""
    sample = take(data.x, np.arange(min(rows(data.x), 256)))
    start = time.perf_counter()
    steps_per_epoch = math.ceil(rows(data.x) / batch_size)
    before = _reports(model, sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rules read the records; GradientStatistics' own alerts are not wanted
        initial = model.evaluate(data.x, data.y, batch_size=batch_size, verbose=0, return_dict=True)
        initial_val = model.evaluate(data.x_val, data.y_val, batch_size=batch_size, verbose=0, return_dict=True)
        initial.update({f"val_{k}": v for k, v in initial_val.items()})
        stats = GradientStatistics(read_every_n_steps=steps_per_epoch)
        step_losses = StepLosses(rows(data.x), batch_size)
        history = model.fit(
            data.x,
            data.y,
            batch_size=batch_size,
            epochs=epochs,
            validation_data=(data.x_val, data.y_val),
            verbose=0,
            **{**(fit or {}), "callbacks": [stats, step_losses, *(fit or {}).get("callbacks", [])]},
        )
        final = model.evaluate(data.x_val, data.y_val, batch_size=batch_size, verbose=0, return_dict=True)
    after = _reports(model, sample)
    classes, r2 = _task_scores(model, data, batch_size)
    optimizer = model.optimizer
    return Probe(
        history=history.history,
        initial=initial,
        final=final,
        records=stats.records,
        layers=stats.layers,
        before=before,
        after=after,
        steps=steps_per_epoch * epochs,
        seconds=time.perf_counter() - start,
        learning_rate=peak_learning_rate(optimizer, steps_per_epoch * epochs),
        model=model,
        classes=classes,
        r2=r2,
        step_losses=np.asarray(step_losses.losses, "float64"),
    )


def outputs(model: keras.Model, x: Any, batch_size: int) -> np.ndarray:
    """The model's inference outputs on `x`, called directly batch by batch (no compiled predict)."""
    parts = []
    for start in range(0, rows(x), batch_size):
        batch = take(x, np.arange(start, min(start + batch_size, rows(x))))
        parts.append(keras.ops.convert_to_numpy(model(batch, training=False)))
    return np.concatenate(parts)


def _task_scores(model: keras.Model, data: Data, batch_size: int) -> tuple[dict | None, float | None]:
    """What the task's own metric needs, from the model's validation outputs: the classes of a
    single-label classifier (true, predicted, the training counts), or a regression's R^2."""
    setup = program.output_setup(model)
    if setup is None:
        return None, None
    if setup.targets is None:  # a regression loss
        true = targets.target_array(data.y_val)
        if true is None:
            return None, None
        predicted = outputs(model, data.x_val, max(batch_size, 256))
        if predicted.size != true.size:
            return None, None
        return None, targets.r_squared(true.reshape(-1), predicted.reshape(-1))
    true, train = targets.class_indices(setup, data.y_val), targets.class_indices(setup, data.y)
    if true is None or train is None:
        return None, None
    classes = targets.predicted_classes(setup, outputs(model, data.x_val, max(batch_size, 256)))
    if classes is None:
        return None, None
    values, counts = np.unique(train, return_counts=True)
    return {"true": true, "predicted": classes, "train_counts": dict(zip(values.tolist(), counts.tolist()))}, None


RANGE_TEST_MIN, RANGE_TEST_MAX = 1e-6, 10.0  # the doctor's sweep of learning rates
EDGE = 0.05  # a suggestion this close to an end of the sweep (a fraction of its log-range) is no advice


@dataclasses.dataclass
class RangeTest:
    """The learning-rate range test of the probe's copy."""

    learning_rates: list
    losses: list
    suggestions: dict
    finder: Any = dataclasses.field(default=None, repr=False)  # the LearningRateFinder that ran it (its plot)
    bounds: tuple[float, float] = (RANGE_TEST_MIN, RANGE_TEST_MAX)  # the sweep's planned end points

    @property
    def best(self) -> float:
        """The rate at the lowest smoothed loss."""
        return float(self.learning_rates[int(np.argmin(self.losses))])

    @property
    def inconclusive(self) -> str | None:
        """Why the curve gives no advice, or None: its lowest loss or its valley lies within
        `EDGE` of an end of the sweep (in log-rate), where the curve may go on past the sweep."""
        low, high = (math.log(b) for b in self.bounds)

        def position(rate: float) -> float:
            return (math.log(rate) - low) / (high - low)

        for name, rate in (("lowest loss", self.best), ("valley", self.suggestions["valley"])):
            where = position(rate)
            if where <= EDGE or where >= 1.0 - EDGE:
                end = "bottom" if where <= EDGE else "top"
                return f"its {name} ({rate:.2g}) is at the {end} of the {self.bounds[0]:g}..{self.bounds[1]:g} sweep"
        return None


def range_test(model: keras.Model, data: Data, batch_size: int, num_steps: int = 100) -> RangeTest | None:
    """Smith's range test (`LearningRateFinder` from `RANGE_TEST_MIN` to `RANGE_TEST_MAX`) on a copy
    of `model` whose optimizer holds a float rate; None when the curve is too short to read."""
    target = without_loss_scaling(model.optimizer)
    clone = copy_model(model, optimizer=copy_optimizer(target, learning_rate=1e-3))
    finder = LearningRateFinder(RANGE_TEST_MIN, RANGE_TEST_MAX, num_steps=num_steps)
    steps_per_epoch = math.ceil(rows(data.x) / batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone.fit(
            data.x,
            data.y,
            batch_size=batch_size,
            epochs=math.ceil(num_steps / steps_per_epoch),
            callbacks=[finder],
            verbose=0,
        )
    if len(finder.smoothed_losses) < 10:
        return None
    return RangeTest(finder.learning_rates, finder.smoothed_losses, finder.suggestions(), finder)
