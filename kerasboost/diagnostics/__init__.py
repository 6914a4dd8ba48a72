"""Diagnostics shared by callbacks, the demo and the docs."""

from kerasboost.diagnostics.plot_schedule import plot_schedule, schedule_values

__all__ = ["plot_schedule", "schedule_values"]
