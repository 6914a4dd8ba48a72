"""kerasboost.ensemble: combining models (output averaging, snapshot ensembles)."""

from kerasboost.ensemble.averaging import EnsembleAverage, average_models
from kerasboost.ensemble.snapshot_ensemble import SnapshotEnsemble

__all__ = ["EnsembleAverage", "SnapshotEnsemble", "average_models"]
