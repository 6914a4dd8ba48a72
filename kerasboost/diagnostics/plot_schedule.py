"""Plot a learning-rate schedule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.diagnostics.figures import figure_and_axes
from kerasboost.utils.validation import check_number, fail

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@kerasboost_export("kerasboost.diagnostics.schedule_values", register=False)
def schedule_values(schedule: Any, steps: int | Sequence[int]) -> np.ndarray:
    """The learning rate of `schedule` at each step, as a float32 NumPy array.

    Args:
        schedule: a float or any `keras.optimizers.schedules.LearningRateSchedule`.
        steps: an int `n` (steps `0 .. n-1`) or a sequence of steps.

    Example:

    ```python
    >>> import kerasboost
    >>> kerasboost.diagnostics.schedule_values(
    ...     kerasboost.schedules.StepDecay(1.0, drop_every=2, factor=0.5), 5)
    array([1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)

    ```
    """
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        check_number("steps", steps, low=1, integer=True)
        array = np.arange(int(steps))
    else:
        array = np.asarray(steps)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        raise fail("steps", "a positive int or a non-empty 1-D sequence of steps", steps)
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        value = check_number("schedule", schedule, low=0.0)
        return np.full(array.shape, value, np.float32)
    values = keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(array, "int64")))
    if np.shape(values) != array.shape:  # a schedule that only takes scalar steps
        values = np.array(
            [keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(s, "int64"))) for s in array]
        )
    return values.astype(np.float32)


@kerasboost_export("kerasboost.diagnostics.plot_schedule", register=False)
def plot_schedule(
    schedule: Any,
    steps: int | Sequence[int],
    ax: Any = None,
    label: str | None = None,
    log_scale: bool = False,
) -> Figure:
    """Draw the learning rate against the step; return the matplotlib Figure.

    Args:
        schedule: a float or any `LearningRateSchedule`.
        steps: an int `n` (steps `0 .. n-1`) or a sequence of steps.
        ax: a matplotlib Axes to draw into; a new figure when None.
        label: the line's label (defaults to the schedule's class name).
        log_scale: use a logarithmic y axis.

    Example:

    ```python
    >>> import kerasboost
    >>> fig = kerasboost.diagnostics.plot_schedule(
    ...     kerasboost.schedules.OneCycle(1e-2, total_steps=500), 500)
    >>> fig.axes[0].get_ylabel()
    'learning rate'

    ```
    """
    fig, ax = figure_and_axes(ax, (5, 3))
    values = schedule_values(schedule, steps)
    x = np.arange(int(steps)) if isinstance(steps, (int, np.integer)) else np.asarray(steps)
    ax.plot(x, values, label=label or type(schedule).__name__)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    return fig
