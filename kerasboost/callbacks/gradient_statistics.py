"""In-graph statistics of the gradients each training step applies."""

from __future__ import annotations

import os

import keras
import numpy as np

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks._gradients.graph import HISTOGRAM_KINDS, step_statistics
from kerasboost.callbacks._gradients.instrument import Instrumentation
from kerasboost.callbacks._gradients.records import epoch_logs, find_alerts, make_record
from kerasboost.callbacks._gradients.writers import RecordWriter
from kerasboost.diagnostics.gradient_flow import plot_gradient_flow
from kerasboost.diagnostics.problems import THRESHOLDS
from kerasboost.utils.user_warning import warn
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.callbacks.GradientStatistics", register=False)
class GradientStatistics(keras.callbacks.Callback):
    """Record statistics of the gradients each training step applies, inside the compiled step.

    The callback instruments the model's optimizer for the duration of `fit`:
    its `apply` also computes, for every layer (its trainable variables
    together), the gradient's L2 norm (of its finite entries), max `|g|`,
    number of zeros and of non-finite entries, and the norms of the update
    `||w_new - w_old||` and of the weights. No extra forward or backward pass: these are the gradients the
    optimizer receives (unscaled, under a `LossScaleOptimizer`). The values are
    written into a device buffer every `every_n_steps` steps and read to the
    host every `read_every_n_steps` steps (and at each epoch end), so the
    compiled step never waits for the host. Works with `jit_compile=True` on
    TensorFlow and JAX and with `steps_per_execution > 1`; the buffer
    variables are removed from the optimizer after `fit` and never saved.

    Cost: recording every step copies the gradients and the old and new
    weights, laid end to end, into one matrix each, and reduces them onto the
    layers with a fixed number of ops (segment reductions):
    the compile time does not grow with the number of layers beyond the
    flattening itself. The train function compiled with the statistics in the
    first `fit` is kept and reused by later `fit` calls of the same model with
    the same `every_n_steps` / `read_every_n_steps` (another instance
    included). With `every_n_steps > 1` the gradient statistics run only on
    recorded steps. `docs/benchmarks.md` has the measured step-time and
    compile-time costs.

    Per layer (variables grouped by their layer's path) it derives the
    gradient norm, max, zero fraction, non-finite count and update-to-weight
    ratio `||dw|| / ||w||`. At each epoch end these keys join `logs` (and so
    `History`), as means over the epoch's records:

    - `grad_norm`: the global gradient norm (with `layer_logs=True`, also
      `grad_norm/<layer>` per layer: off by default, since a deep model would
      add one key per layer to every progress-bar line);
    - `update_ratio`: the global `||dw|| / ||w||`;
    - `grad_nonfinite`: non-finite gradient entries in the epoch;
    - `grad_alert`: 1.0 when an alert fired this epoch, else 0.0.

    Alerts (a `RuntimeWarning` naming the layers and the remedy, and
    `grad_alert`), in the vocabulary the doctor uses
    (`kerasboost.diagnostics.problems`: the same names, thresholds and
    remedies): `nonfinite` gradients; `vanishing_gradients` (a layer's mean
    norm below `vanishing_ratio` times the last layer's, or below
    `vanishing_floor`); `exploding_gradients` (global norm above
    `exploding_threshold`). Every record is kept in
    `records` (a list of dicts; `to_dataframe()`), written to `path` (`.csv`
    or `.jsonl`) if given, and drawn by `plot_gradient_flow()`.

    Args:
        every_n_steps: int >= 1, record every N-th step. Defaults to `1`.
        read_every_n_steps: int >= `every_n_steps`, read the device buffer
            every N steps. Defaults to `100`.
        path: optional `.csv` or `.jsonl` file for the per-layer records.
        log_dir: optional TensorBoard directory for per-layer scalars and
            histograms of the per-layer norms (needs TensorFlow).
        vanishing_ratio: float in (0, 1). Defaults to `1e-3` (the
            vocabulary's `vanishing_ratio`).
        vanishing_floor: float >= 0. Defaults to `1e-8` (`vanishing_floor`).
        exploding_threshold: float > 0. Defaults to `1e3` (`exploding_norm`).
        layer_logs: bool, also put the `grad_norm/<layer>` keys in `logs`
            (the progress bar and `History`); the per-layer values are in
            `records`, `path` and `log_dir` either way. Defaults to `False`.
        histograms: False (default), True (per-layer gradient histograms) or
            a sequence of `"gradients"`, `"weights"`, `"updates"`: per-layer
            histograms of those values, computed inside the compiled step on
            every `histogram_every_n_steps`-th step only (the other steps pay
            one comparison), kept in `histogram_records` and written to
            `log_dir` as TensorBoard histograms `<kind>/<layer>` (what Keras 2's
            `TensorBoard(write_grads=True)` drew).
        histogram_every_n_steps: int >= 1, the steps between histograms.
            Defaults to `read_every_n_steps`.
        histogram_bins: int >= 2, equal bins between each layer's smallest and
            largest finite value. Defaults to `30` (as `tf.summary.histogram`).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    >>> stats = kerasboost.callbacks.GradientStatistics(read_every_n_steps=4)
    >>> history = model.fit(np.ones((32, 4)), np.ones((32, 1)), batch_size=8, epochs=2, callbacks=[stats], verbose=0)
    >>> len(history.history["grad_norm"]), len(stats.records)
    (2, 8)

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS (gradient flow across layers)
        - Pascanu, Mikolov & Bengio, 2013, "On the difficulty of training
          recurrent neural networks", https://arxiv.org/abs/1211.5063
    """

    def __init__(
        self,
        every_n_steps: int = 1,
        read_every_n_steps: int = 100,
        path: str | None = None,
        log_dir: str | None = None,
        vanishing_ratio: float = THRESHOLDS["vanishing_ratio"],
        vanishing_floor: float = THRESHOLDS["vanishing_floor"],
        exploding_threshold: float = THRESHOLDS["exploding_norm"],
        layer_logs: bool = False,
        histograms: bool | tuple | list = False,
        histogram_every_n_steps: int | None = None,
        histogram_bins: int = 30,
    ) -> None:
        super().__init__()
        self.every_n_steps = check_number("every_n_steps", every_n_steps, low=1, integer=True)
        self.read_every_n_steps = check_number(
            "read_every_n_steps", read_every_n_steps, low=self.every_n_steps, integer=True
        )
        if path is not None and not (isinstance(path, (str, os.PathLike)) and str(path).endswith((".csv", ".jsonl"))):
            raise fail("path", "None or a file name ending in .csv or .jsonl", path)
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            raise fail("log_dir", "None or a directory name", log_dir)
        self.path = path
        self.log_dir = log_dir
        self.vanishing_ratio = check_number(
            "vanishing_ratio", vanishing_ratio, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        self.vanishing_floor = check_number("vanishing_floor", vanishing_floor, low=0.0)
        self.exploding_threshold = check_number(
            "exploding_threshold", exploding_threshold, low=0.0, low_inclusive=False
        )
        if not isinstance(layer_logs, bool):
            raise fail("layer_logs", "a bool", layer_logs)
        self.layer_logs = layer_logs
        if histograms is True:
            kinds: tuple = ("gradients",)
        elif histograms is False:
            kinds = ()
        elif (
            isinstance(histograms, (tuple, list))
            and histograms
            and all(k in HISTOGRAM_KINDS for k in histograms)
            and len(set(histograms)) == len(histograms)
        ):
            kinds = tuple(histograms)
        else:
            raise fail("histograms", f"a bool or a sequence of distinct values from {HISTOGRAM_KINDS}", histograms)
        self.histograms = kinds
        self.histogram_every_n_steps = check_number(
            "histogram_every_n_steps",
            self.read_every_n_steps if histogram_every_n_steps is None else histogram_every_n_steps,
            low=1,
            integer=True,
        )
        self.histogram_bins = check_number("histogram_bins", histogram_bins, low=2, integer=True)
        self.records: list[dict] = []
        self.histogram_records: list[dict] = []
        self._instrumentation = None

    # ------------------------------------------------------------------ instrumenting the optimizer

    # what the compiled step computes (`_gradients.graph.step_statistics`; benchmarks ablate it)
    _statistics = staticmethod(step_statistics)

    def _install(self):
        slots = self.read_every_n_steps // self.every_n_steps + 1
        histograms = None
        if self.histograms:
            hslots = self.read_every_n_steps // self.histogram_every_n_steps + 1
            histograms = (self.histogram_every_n_steps, self.histogram_bins, self.histograms, hslots)
        self._instrumentation = Instrumentation.install(
            self.model, self.every_n_steps, slots, self._statistics, histograms
        )
        layout = self._instrumentation.layout
        self._layout = layout
        self._layers = layout.layers
        self._buffer, self._steps, self._count = self._instrumentation.variables[:3]
        self._histogram_variables = self._instrumentation.histogram_variables

    def _uninstall(self):
        instrumentation, self._instrumentation = getattr(self, "_instrumentation", None), None
        if instrumentation is not None:
            instrumentation.uninstall(self.model)

    # ------------------------------------------------------------------ reading

    def set_model(self, model) -> None:
        super().set_model(model)
        self._fit_model = model

    def _value(self, variable) -> np.ndarray:
        """A buffer's current value. The one backend branch: mid-epoch, JAX's `fit` carries the
        optimizer state outside the variables; read it from there rather than forcing a sync
        of the whole model."""
        model = self._fit_model  # not `self.model`: on JAX that property syncs the whole state first
        state = _keras.jax_optimizer_state(model)
        if state is not None:
            for ref, value in zip(model.optimizer.variables, state):
                if ref is variable:
                    return np.asarray(value)
        return keras.ops.convert_to_numpy(variable)

    def _read(self):
        """Move the records written since the last read from the device buffer to `records`."""
        count = int(self._value(self._count))
        new = count - self._read_count
        if new <= 0:
            return
        slots = self._buffer.shape[0]
        if new > slots:
            warn(
                f"GradientStatistics: {new - slots} records were overwritten before being read; "
                f"lower read_every_n_steps or raise every_n_steps.",
            )
        buffer = self._value(self._buffer).astype("float64")
        steps = self._value(self._steps)
        for i in range(max(self._read_count, count - slots), count):
            self._add_record(int(steps[i % slots]), buffer[i % slots])
        self._read_count = count
        self._read_histograms()

    def _read_histograms(self):
        """Move the histograms computed since the last read to `histogram_records`."""
        if not self._histogram_variables:
            return
        counts_var, edges_var, steps_var, count_var = self._histogram_variables
        count = int(self._value(count_var))
        new = count - self._histograms_read
        if new <= 0:
            return
        slots = counts_var.shape[0]
        if new > slots:
            warn(
                f"GradientStatistics: {new - slots} histograms were overwritten before being read; "
                f"raise histogram_every_n_steps or lower read_every_n_steps."
            )
        counts, edges = self._value(counts_var), self._value(edges_var)
        steps = self._value(steps_var)
        for i in range(max(self._histograms_read, count - slots), count):
            slot = i % slots
            for k, kind in enumerate(self.histograms):
                for j, layer in enumerate(self._layers):
                    low, high = (float(e) for e in edges[slot, k, j])
                    record = {
                        "step": int(steps[slot]),
                        "epoch": self._epoch,
                        "kind": kind,
                        "layer": layer,
                        "edges": np.linspace(low, high, self.histogram_bins + 1),
                        "counts": counts[slot, k, j].astype("int64"),
                    }
                    self.histogram_records.append(record)
                    self._writer.write_histogram(record)
        self._histograms_read = count

    def _add_record(self, step: int, stats: np.ndarray):
        record = make_record(self._layout, step, self._epoch, stats)
        self.records.append(record)
        self._epoch_records.append(record)
        self._writer.write(record)

    # ------------------------------------------------------------------ callback hooks

    def on_train_begin(self, logs=None):
        self.records = []
        self.histogram_records = []
        self._read_count = 0
        self._histograms_read = 0
        self._epoch = 0
        self._epoch_records: list[dict] = []
        self.alerts: list[dict] = []
        self._install()
        self._writer = RecordWriter(self.path, self.log_dir, self._layers)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_records = []
        self._read_at_batch = 0

    def on_train_batch_begin(self, batch, logs=None):
        # `batch` steps of this epoch are done (with steps_per_execution > 1, `batch` is the first
        # step of the next execution). Reading here, not in `on_train_batch_end`, leaves Keras free
        # to dispatch the batch-end callbacks asynchronously on JAX: a callback that overrides
        # `on_train_batch_end` makes every step wait for its loss on the host.
        if batch - self._read_at_batch >= self.read_every_n_steps:
            self._read()
            self._read_at_batch = batch

    def on_epoch_end(self, epoch, logs=None):
        self._read()
        if logs is None or not self._epoch_records:
            return
        logs.update(epoch_logs(self._epoch_records, self._layers, self.layer_logs))
        alerts = self._check_alerts(epoch)
        logs["grad_alert"] = 1.0 if alerts else 0.0

    def _check_alerts(self, epoch) -> list[dict]:
        found = find_alerts(
            self._epoch_records, self._layers, self.vanishing_ratio, self.vanishing_floor, self.exploding_threshold
        )
        for alert in found:
            alert["epoch"] = epoch
            self.alerts.append(alert)
            details = {k: v for k, v in alert.items() if k not in ("kind", "layers", "remedy", "epoch")}
            warn(
                f"GradientStatistics: {alert['kind']} in epoch {epoch + 1} in layers "
                f"{', '.join(alert['layers'])} ({details}). Remedy: {alert['remedy']}.",
            )
        return found

    def on_train_end(self, logs=None):
        try:
            self._read()
        finally:
            self._uninstall()
            self._writer.close()

    # ------------------------------------------------------------------ views

    @property
    def layers(self) -> list[str]:
        """The layer names (variable-path prefixes), input side first."""
        return list(getattr(self, "_layers", []))

    def to_dataframe(self):
        """`records` as a pandas DataFrame (one row per recorded step)."""
        import pandas as pd

        return pd.DataFrame(self.records)

    def plot_gradient_flow(self, path: str | None = None, ax=None):
        """Per-layer gradient norms over the recorded steps (log scale); saved to `path` if given."""
        return plot_gradient_flow(self.records, self.layers, path=path, ax=ax)
