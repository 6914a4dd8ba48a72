"""Per-layer activation statistics: saturated and dead units (Glorot & Bengio 2010)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.diagnostics.activations import SATURATING, dies
from kerasboost.diagnostics.figures import depth_ticks
from kerasboost.utils.models import probe_model
from kerasboost.utils.validation import check_number, fail

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_SAMPLE = 20_000  # activation values kept per layer for histograms


@dataclasses.dataclass
class ActivationRow:
    """The statistics of one layer's outputs on a batch."""

    layer: str
    activation: str
    mean: float
    std: float
    saturated: float  # fraction of outputs saturated (NaN: activation does not saturate)
    dead: float  # fraction of units zero for the whole batch (NaN: not a rectifier)
    units: int
    values: np.ndarray = dataclasses.field(repr=False, default_factory=lambda: np.zeros(0))


class ActivationReport(list):
    """A list of `ActivationRow`, one per layer, with a DataFrame view."""

    def to_dataframe(self):
        """The rows as a pandas DataFrame (without the sampled values)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in dataclasses.asdict(row).items() if k != "values"} for row in self])

    def __str__(self) -> str:
        lines = [f"{'layer':24s} {'activation':12s} {'mean':>9s} {'std':>9s} {'saturated':>9s} {'dead':>7s}"]
        for r in self:
            sat = "-" if math.isnan(r.saturated) else f"{r.saturated:.1%}"
            dead = "-" if math.isnan(r.dead) else f"{r.dead:.1%}"
            lines.append(f"{r.layer[:24]:24s} {r.activation[:12]:12s} {r.mean:9.4f} {r.std:9.4f} {sat:>9s} {dead:>7s}")
        return "\n".join(lines)


def layer_activation(layer: keras.layers.Layer) -> str | None:
    """The name of the activation a layer applies last, or None for other layers."""
    if isinstance(layer, keras.layers.ReLU):
        return "relu"
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, keras.layers.ELU):
        return "elu"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = keras.activations.serialize(activation)
    return name if isinstance(name, str) else getattr(activation, "__name__", "custom")


def _row(name: str, activation: str, out: np.ndarray, rng: np.random.Generator) -> ActivationRow:
    out = np.asarray(out, "float64")
    units = out.shape[-1] if out.ndim > 1 else 1
    if activation in SATURATING:
        low, high = SATURATING[activation]
        saturated = float(np.mean((out < low) | (out > high)))
    else:
        saturated = math.nan
    if dies(activation):
        per_unit = out.reshape(-1, units)
        dead = float(np.mean(np.all(per_unit <= 0.0, axis=0)))
    else:
        dead = math.nan
    flat = out.ravel()
    sample = flat if flat.size <= _SAMPLE else rng.choice(flat, _SAMPLE, replace=False)
    return ActivationRow(
        name, activation, float(flat.mean()), float(flat.std()), saturated, dead, units, sample.astype("float32")
    )


@kerasboost_export("kerasboost.diagnostics.activation_report", register=False)
def activation_report(model: keras.Model, x: Any, batch_size: int = 256, all_layers: bool = False) -> ActivationReport:
    """Mean, std and the fractions of saturated and dead units, per layer.

    Runs `x` through the model (inference mode) and, for every top-level layer
    with an activation (`Dense(..., activation=...)`, `Conv*`, `Activation`,
    `ReLU`, ...), reports its outputs' mean and standard deviation, the
    fraction of outputs **saturated** (`|a| > 0.99` for tanh and softsign,
    outside `[0.01, 0.99]` for sigmoid and hard_sigmoid) and the fraction of
    units **dead** (ReLU/ReLU6 units - the last axis - that output 0 for every
    sample and position of `x`). Fractions that do not apply are NaN.

    Saturated sigmoid/tanh units pass almost no gradient (Glorot & Bengio
    2010 saw the top sigmoid layer saturate at 0 early in training); dead
    ReLUs never recover. Remedies: an initializer matched to the activation
    (`VarianceFor`, `lsuv`), normalization, a smaller learning rate, leaky or
    smooth activations.

    Args:
        model: a built Keras model (Sequential or functional).
        x: a batch of inputs (a few hundred samples is plenty).
        batch_size: int >= 1, the batch size of the forward pass.
        all_layers: also report layers without an activation (as `"linear"`).

    Returns:
        An `ActivationReport`: a list of `ActivationRow` with `.to_dataframe()`.

    Example:

    ```python
    >>> import keras, numpy as np
    >>> from kerasboost.diagnostics import activation_report
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu",
    ...     bias_initializer=keras.initializers.Constant(-100.0))])
    >>> report = activation_report(model, np.ones((32, 4), "float32"))
    >>> report[0].dead  # every unit dead: the bias pushes all pre-activations below 0
    1.0

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS (Figures 2-3, 6)
    """
    if not isinstance(model, keras.Model) or not model.built or not model.inputs:
        raise fail("model", "a built Keras model with known inputs", model)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        activation = layer_activation(layer)
        if activation is None and not all_layers:
            continue
        layers.append((layer, activation or "linear"))
    if not layers:
        return ActivationReport()
    probe = probe_model(model, [layer.output for layer, _ in layers])
    try:
        outputs = probe.predict(x, batch_size=batch_size, verbose=0)
    except (ValueError, TypeError) as e:
        raise fail("x", f"inputs the model accepts ({e})", getattr(x, "shape", type(x).__name__)) from e
    if len(layers) == 1:
        outputs = [outputs]
    rng = np.random.default_rng(0)
    return ActivationReport(_row(layer.name, activation, out, rng) for (layer, activation), out in zip(layers, outputs))


@kerasboost_export("kerasboost.diagnostics.plot_activations", register=False)
def plot_activations(
    report: ActivationReport, path: str | None = None, percentiles: Sequence[float] = (5, 25, 50, 75, 95)
) -> Figure:
    """Each layer's activation distribution against its depth, and its dead and saturated fractions.

    The top panel puts the layers on the x-axis (input side left) and shades,
    per layer, the bands between the given percentiles of its outputs on the
    probe batch (outer: first and last, inner: second and second to last),
    with the median as a line: a distribution that collapses onto 0 or onto
    the saturation values through the depth shows at a glance, without the
    outliers of a histogram stretching the axis. The bottom panel draws the
    fraction of dead units (rectifiers: zero for the whole batch) and of
    saturated outputs (tanh, sigmoid, ...) per layer (Glorot & Bengio 2010,
    Fig. 3-4, as curves against depth).

    Args:
        report: the result of `activation_report`.
        path: optional PNG file to save the figure to.
        percentiles: 3 to 5 increasing numbers in [0, 100], the middle one
            drawn as a line. Defaults to `(5, 25, 50, 75, 95)`.

    Returns:
        A matplotlib Figure.

    Example:

    ```python
    >>> import keras, numpy as np
    >>> from kerasboost.diagnostics import activation_report, plot_activations
    >>> model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(8, activation="tanh") for _ in range(3)])
    >>> fig = plot_activations(activation_report(model, np.ones((16, 4), "float32")))
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['activation value', 'fraction of the layer']
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['5-95th percentile', '25-75th percentile', 'median']

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS
    """
    if not isinstance(report, list) or not report:
        raise fail("report", "a non-empty activation_report result", report)
    ok = (
        isinstance(percentiles, (list, tuple))
        and len(percentiles) in (3, 5)
        and all(isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 100 for p in percentiles)
        and all(a < b for a, b in itertools.pairwise(percentiles))
    )
    if not ok:
        raise fail("percentiles", "3 or 5 increasing numbers in [0, 100]", percentiles)
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    layers = [row.layer for row in report]
    depth = np.arange(len(report))
    bands = np.array(
        [
            np.percentile(row.values, percentiles) if row.values.size else np.full(len(percentiles), np.nan)
            for row in report
        ]
    )
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), height_ratios=(3, 2), sharex=True, layout="constrained")
    pairs = [(0, len(percentiles) - 1)] + ([(1, len(percentiles) - 2)] if len(percentiles) == 5 else [])
    for alpha, (lo, hi) in zip((0.2, 0.4), pairs):
        label = f"{percentiles[lo]:g}-{percentiles[hi]:g}th percentile"
        top.fill_between(depth, bands[:, lo], bands[:, hi], color="tab:blue", alpha=alpha, linewidth=0, label=label)
    top.plot(depth, bands[:, len(percentiles) // 2], color="tab:blue", marker="o", markersize=3, label="median")
    top.set_ylabel("activation value")
    top.set_title("activations by depth (probe batch)")
    top.grid(alpha=0.3)
    top.legend(fontsize=7, loc="best")
    for name, values, colour in (
        ("dead units (rectifiers)", [row.dead for row in report], "tab:red"),
        ("saturated outputs", [row.saturated for row in report], "tab:orange"),
    ):
        fractions = np.array(values, "float64")
        if np.isfinite(fractions).any():
            bottom.plot(depth, fractions, marker="o", markersize=3, color=colour, label=name)
    bottom.set_ylim(-0.03, 1.03)
    bottom.set_ylabel("fraction of the layer")
    bottom.set_xlabel("layer (input side left)")
    bottom.grid(alpha=0.3)
    if bottom.get_lines():
        bottom.legend(fontsize=7, loc="best")
    else:
        bottom.text(
            0.5,
            0.5,
            "no rectifier or saturating activation",
            ha="center",
            va="center",
            transform=bottom.transAxes,
            fontsize=8,
        )
    depth_ticks(bottom, layers)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
