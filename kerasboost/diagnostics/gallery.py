"""A figure with one panel per kerasboost learning-rate schedule (for the docs)."""

from __future__ import annotations

import keras

from kerasboost import schedules
from kerasboost.diagnostics.plot_schedule import plot_schedule

STEPS = 1000


def gallery_schedules() -> dict:
    """Title -> a representative configuration of every schedule (1000 steps)."""
    cosine = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps=900)
    return {
        "Warmup(CosineDecay), linear": schedules.Warmup(cosine, warmup_steps=100),
        "Warmup, exponential": schedules.Warmup(1e-2, 300, start_learning_rate=1e-4, mode="exponential"),
        "CyclicalLearningRate triangular": schedules.CyclicalLearningRate(1e-3, 1e-2, step_size=125),
        "CyclicalLearningRate triangular2": schedules.CyclicalLearningRate(1e-3, 1e-2, 125, mode="triangular2"),
        "CyclicalLearningRate exp_range": schedules.CyclicalLearningRate(
            1e-3, 1e-2, 125, mode="exp_range", gamma=0.998
        ),
        "OneCycle cos": schedules.OneCycle(1e-2, total_steps=STEPS),
        "OneCycle linear, three_phase": schedules.OneCycle(1e-2, STEPS, anneal_strategy="linear", three_phase=True),
        "OneCycleMomentum (a momentum, not a rate)": schedules.OneCycle(1e-2, total_steps=STEPS).momentum_schedule(),
        "StepDecay": schedules.StepDecay(1e-2, drop_every=250, factor=0.5),
        "InverseSqrtDecay": schedules.InverseSqrtDecay(scale=512**-0.5, warmup_steps=100),
        "LinearDecay": schedules.LinearDecay(1e-2, decay_steps=800, end_learning_rate=1e-3),
        "WarmupStableDecay 1-sqrt": schedules.WarmupStableDecay(
            1e-2, STEPS, warmup_steps=100, decay_fraction=0.2, decay_shape="1-sqrt"
        ),
        "CosineRestarts": schedules.CosineRestarts(
            1e-2, 150, cycle_multiplier=1.5, cycle_decay=0.7, warmup_steps=20, max_cycles=4
        ),
        "Scaled(CosineDecay, 0.5)": schedules.Scaled(cosine, 0.5),
        "SequentialSchedule": schedules.SequentialSchedule(
            [schedules.Warmup(1e-2, 100), 1e-2, schedules.LinearDecay(1e-2, 300)], boundaries=[100, 700]
        ),
    }


def schedule_gallery(columns: int = 3):
    """Draw every schedule of `gallery_schedules()`; return the Figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    items = list(gallery_schedules().items())
    rows = -(-len(items) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.6 * rows), squeeze=False, layout="constrained")
    for ax, (title, schedule) in zip(axes.flat, items):
        plot_schedule(schedule, STEPS, ax=ax)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in axes.flat[len(items) :]:
        ax.axis("off")
    fig.supxlabel("training step")
    fig.supylabel("learning rate")
    return fig
