"""Per-layer activation statistics on a probe batch, every N epochs, with dead / saturated alerts."""

from __future__ import annotations

import math
from typing import Any

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.diagnostics import problems
from kerasboost.diagnostics.activation_report import activation_report
from kerasboost.utils.user_warning import warn
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.callbacks.ActivationStatistics", register=False)
class ActivationStatistics(keras.callbacks.Callback):
    """Every `every_n_epochs` epochs, measure each layer's activations on a fixed probe batch.

    Runs `kerasboost.diagnostics.activation_report(model, x_probe)` (one
    forward pass of the probe, outside the training step) and adds to `logs`:
    `activation_std/<layer>`, `dead_fraction/<layer>` (rectifiers: units zero
    on the whole probe) and `saturated_fraction/<layer>` (tanh, sigmoid, ...:
    outputs in the flat tails). A `RuntimeWarning` names the layers whose
    dead or saturated fraction reaches `alert_fraction`, with a remedy; the
    alerts are kept in `alerts`, the reports in `reports` (epoch -> report).

    Args:
        x_probe: a batch of inputs (a few hundred samples are plenty).
        every_n_epochs: int >= 1. Defaults to `1`.
        alert_fraction: float in (0, 1], or None (the default) for the
            vocabulary's thresholds (`kerasboost.diagnostics.problems`:
            `dead_fraction` and `saturated_fraction`, both 0.5, as the
            doctor reads them).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> hidden = keras.layers.Dense(8, activation="relu", name="hidden")
    >>> model = keras.Sequential([keras.Input((4,)), hidden, keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> stats = kerasboost.callbacks.ActivationStatistics(x[:32])
    >>> history = model.fit(x, np.ones((64, 1)), epochs=1, callbacks=[stats], verbose=0)
    >>> "dead_fraction/hidden" in history.history
    True

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS (saturation)
        - Lu, Shin, Su & Karniadakis, 2019, "Dying ReLU and Initialization:
          Theory and Numerical Examples", https://arxiv.org/abs/1903.06733
    """

    def __init__(self, x_probe: Any, every_n_epochs: int = 1, alert_fraction: float | None = None) -> None:
        super().__init__()
        if not hasattr(x_probe, "shape") or len(x_probe) == 0:
            raise fail("x_probe", "a non-empty array of inputs", type(x_probe).__name__)
        self.x_probe = x_probe
        self.every_n_epochs = check_number("every_n_epochs", every_n_epochs, low=1, integer=True)
        if alert_fraction is not None:
            alert_fraction = check_number("alert_fraction", alert_fraction, low=0.0, high=1.0, low_inclusive=False)
        self.alert_fraction = alert_fraction
        self._thresholds = {
            "dead_units": problems.THRESHOLDS["dead_fraction"] if alert_fraction is None else alert_fraction,
            "saturated_units": problems.THRESHOLDS["saturated_fraction"] if alert_fraction is None else alert_fraction,
        }

    def on_train_begin(self, logs=None):
        self.reports: dict[int, Any] = {}
        self.alerts: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        report = activation_report(self.model, self.x_probe)
        self.reports[epoch] = report
        for row in report:
            if logs is not None:
                logs[f"activation_std/{row.layer}"] = row.std
                if not math.isnan(row.dead):
                    logs[f"dead_fraction/{row.layer}"] = row.dead
                if not math.isnan(row.saturated):
                    logs[f"saturated_fraction/{row.layer}"] = row.saturated
        for kind, field in (("dead_units", "dead"), ("saturated_units", "saturated")):
            fractions = ((row.layer, getattr(row, field)) for row in report)
            layers = problems.layers_at_or_above(fractions, self._thresholds[kind])
            if layers:
                alert = {"kind": kind, "epoch": epoch, "layers": layers, "remedy": problems.remedy(kind)}
                self.alerts.append(alert)
                warn(
                    f"ActivationStatistics: {kind} >= {self._thresholds[kind]:.0%} in epoch {epoch + 1} in layers "
                    f"{', '.join(layers)}. Remedy: {alert['remedy']}.",
                )
