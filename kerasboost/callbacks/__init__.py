"""kerasboost.callbacks: callbacks for `model.fit` (more arrive with their issues; see the CHANGELOG)."""

from kerasboost.callbacks.early_stopping import EarlyStopping
from kerasboost.callbacks.gradient_statistics import GradientStatistics

__all__ = ["EarlyStopping", "GradientStatistics"]
