"""Gradient flow plots: per-layer gradient norms over training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.diagnostics._figure import figure_and_axes


@kerasboost_export("kerasboost.diagnostics.plot_gradient_flow", register=False)
def plot_gradient_flow(records: Sequence[dict], layers: Sequence[str], path: str | None = None, ax: Any = None) -> Any:
    """Draw each layer's gradient norm against the training step (log scale).

    Layers are coloured from the input side (dark) to the output side
    (light). Curves that fan out by orders of magnitude from the last
    layer to the first are vanishing gradients; curves that climb without
    bound are exploding ones.

    Args:
        records: the records of `kerasboost.callbacks.GradientStatistics`
            (dicts with `step` and `grad_norm/<layer>`).
        layers: the layer names, input side first.
        path: optional PNG file to save the figure to.
        ax: optional matplotlib axes to draw into.

    Returns:
        The matplotlib figure.

    Example:

    ```python
    >>> import kerasboost
    >>> records = [{"step": s, "grad_norm/a": 1e-3 / (s + 1), "grad_norm/b": 1.0} for s in range(5)]
    >>> fig = kerasboost.diagnostics.plot_gradient_flow(records, ["a", "b"])
    >>> fig.axes[0].get_yscale()
    'log'

    ```

    References:
        - Glorot & Bengio, 2010, "Understanding the difficulty of training deep
          feedforward neural networks", AISTATS
    """
    fig, ax = figure_and_axes(ax, (7, 4))
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in records])
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(1, len(layers))))
    for colour, layer in zip(colours, layers):
        values = np.array([r[f"grad_norm/{layer}"] for r in records], "float64")
        ax.plot(steps, np.maximum(values, 1e-30), color=colour, label=layer, linewidth=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title("gradient flow per layer (input side dark)")
    if len(layers) <= 12:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
