"""The figure set-up shared by kerasboost's plots (matplotlib is imported only when a figure is made)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def figure_and_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """`(figure, axes)`: the given axes and their figure, or a new one-axes figure (Agg backend
    unless one was chosen, so plotting works on headless machines)."""
    import matplotlib

    if ax is not None:
        return ax.figure, ax
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    return fig, fig.add_subplot(1, 1, 1)


def depth_ticks(ax: Any, layers: Sequence[str], most: int = 25) -> None:
    """Label the x-axis of a plot against depth (one position per layer) with the layers' names:
    the last part of each path, at most `most` of them, upright so that they do not overlap."""
    n = len(layers)
    every = max(1, math.ceil(n / most))
    ticks = list(range(0, n, every))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(layers[i]).rsplit("/", 1)[-1] for i in ticks], rotation=90, fontsize=7)
    ax.set_xlim(-0.5, n - 0.5)
