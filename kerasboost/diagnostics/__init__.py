"""Measurements, the vocabulary of training problems, reports and plots (no training loop).

`problems` is the vocabulary every alert and doctor finding speaks; the doctor itself
(`diagnose`) is `kerasboost.doctor`.
"""

from kerasboost.diagnostics import problems as problems  # the vocabulary (a module)
from kerasboost.diagnostics.activation_report import activation_report, plot_activations
from kerasboost.diagnostics.gradient_flow import plot_gradient_flow
from kerasboost.diagnostics.plot_schedule import plot_schedule, schedule_values

__all__ = [
    "activation_report",
    "plot_activations",
    "plot_gradient_flow",
    "plot_schedule",
    "schedule_values",
]
