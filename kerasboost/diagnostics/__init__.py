"""Diagnostics shared by callbacks, the demo and the docs."""

from kerasboost.diagnostics.activation_report import activation_report, plot_activations
from kerasboost.diagnostics.doctor import diagnose
from kerasboost.diagnostics.gradient_flow import plot_gradient_flow
from kerasboost.diagnostics.plot_schedule import plot_schedule, schedule_values

__all__ = [
    "activation_report",
    "diagnose",
    "plot_activations",
    "plot_gradient_flow",
    "plot_schedule",
    "schedule_values",
]
