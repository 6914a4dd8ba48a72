"""Gradient flow plots: each layer's gradient norm against its depth, at a few moments of training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.diagnostics.figures import depth_ticks
from kerasboost.diagnostics.problems import THRESHOLDS
from kerasboost.utils.validation import check_number, fail

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@kerasboost_export("kerasboost.diagnostics.plot_gradient_flow", register=False)
def plot_gradient_flow(
    records: Sequence[dict],
    layers: Sequence[str],
    path: str | None = None,
    ax: Any = None,
    moments: int = 3,
    vanishing_floor: float = THRESHOLDS["vanishing_floor"],
    exploding_threshold: float = THRESHOLDS["exploding_norm"],
) -> Figure:
    """Draw each layer's gradient norm against its depth, at a few moments of training.

    The main panel puts the layers on the x-axis, input side on the left, and
    the gradient L2 norm on a log y-axis, with one line per moment (the first
    recorded step, the last, and evenly spaced ones between). A line that
    falls by orders of magnitude towards the input side is vanishing
    gradients; norms in the shaded top band are exploding ones, in the shaded
    bottom band vanished ones (the thresholds of `GradientStatistics`'
    alerts). Without `ax`, a second panel shows every layer's norm against
    the step, coloured by depth (colorbar).

    Args:
        records: the records of `kerasboost.callbacks.GradientStatistics`
            (dicts with `step` and `grad_norm/<layer>`).
        layers: the layer names, input side first.
        path: optional PNG file to save the figure to.
        ax: optional matplotlib axes to draw the main panel into (no second
            panel then).
        moments: int >= 1, how many moments of training to draw. Defaults to 3.
        vanishing_floor: float > 0, the top of the shaded "vanishing" band.
            Defaults to `1e-8` (the vocabulary's `vanishing_floor`, as GradientStatistics).
        exploding_threshold: float > 0, the bottom of the shaded "exploding"
            band. Defaults to `1e3` (the vocabulary's `exploding_norm`).

    Returns:
        The matplotlib figure.

    Example:

    ```python
    >>> import kerasboost
    >>> records = [{"step": s, "grad_norm/a": 1e-3 / (s + 1), "grad_norm/b": 1.0} for s in range(5)]
    >>> fig = kerasboost.diagnostics.plot_gradient_flow(records, ["a", "b"])
    >>> main = fig.axes[0]
    >>> main.get_yscale(), main.get_xlabel()
    ('log', 'layer (input side left)')
    >>> [t.get_text() for t in main.get_legend().get_texts()][:3]
    ['step 0', 'step 2', 'step 4']

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS
    """
    if not records:
        raise ValueError(
            "plot_gradient_flow has no records to draw: run `fit` with GradientStatistics first "
            "(its `records` hold one entry per recorded step)."
        )
    if not layers:
        raise fail("layers", "a non-empty list of layer names", layers)
    moments = check_number("moments", moments, low=1, integer=True)
    vanishing_floor = check_number("vanishing_floor", vanishing_floor, low=0.0, low_inclusive=False)
    exploding_threshold = check_number("exploding_threshold", exploding_threshold, low=0.0, low_inclusive=False)
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in records])
    norms = np.array([[r[f"grad_norm/{name}"] for name in layers] for r in records], "float64")
    norms = np.where(np.isfinite(norms), norms, np.nan)
    positive = norms[norms > 0]
    low = min(float(positive.min()) if positive.size else 1.0, vanishing_floor) / 10
    high = max(float(positive.max()) if positive.size else 1.0, exploding_threshold) * 10
    norms = np.where(norms > 0, norms, low)  # a zero norm (no gradient at all) sits on the bottom edge
    if ax is None:
        fig, (ax, trace_ax) = plt.subplots(
            2, 1, figsize=(8, 7), height_ratios=(3, 2), layout="constrained", squeeze=True
        )
    else:
        fig, trace_ax = ax.figure, None

    picks = sorted(set(np.linspace(0, len(records) - 1, min(moments, len(records))).round().astype(int)))
    depth = np.arange(len(layers))
    colours = plt.get_cmap("plasma")(np.linspace(0.0, 0.8, len(picks)))
    for colour, i in zip(colours, picks):
        ax.plot(depth, norms[i], marker="o", markersize=3, color=colour, label=f"step {steps[i]}")
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    ax.axhspan(low, vanishing_floor, color="tab:blue", alpha=0.12, label=f"vanishing (< {vanishing_floor:g})")
    ax.axhspan(exploding_threshold, high, color="tab:red", alpha=0.12, label=f"exploding (> {exploding_threshold:g})")
    depth_ticks(ax, layers)
    ax.set_xlabel("layer (input side left)")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title("gradient norm by depth")
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=7, loc="best")

    if trace_ax is not None:
        cmap = plt.get_cmap("viridis")
        for j in depth:
            trace_ax.plot(steps, norms[:, j], color=cmap(j / max(1, len(layers) - 1)), linewidth=0.9)
        trace_ax.set_yscale("log")
        trace_ax.set_xlabel("training step")
        trace_ax.set_ylabel("gradient L2 norm")
        trace_ax.set_title("every layer over training")
        trace_ax.grid(alpha=0.3)
        scale = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, len(layers) - 1))
        fig.colorbar(scale, ax=trace_ax, label="layer depth (0 = input side)")
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
