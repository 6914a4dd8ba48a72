"""The figure set-up shared by kerasboost's plots (private)."""

from __future__ import annotations

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
