"""kerasboost.callbacks: callbacks for `model.fit` (more arrive with their issues; see the CHANGELOG)."""

from kerasboost.callbacks.activation_statistics import ActivationStatistics
from kerasboost.callbacks.early_stopping import EarlyStopping
from kerasboost.callbacks.gradient_statistics import GradientStatistics
from kerasboost.callbacks.learning_rate_finder import LearningRateFinder
from kerasboost.callbacks.learning_rate_logger import LearningRateLogger
from kerasboost.callbacks.learning_rate_warmup import LearningRateWarmup
from kerasboost.callbacks.momentum_scheduler import MomentumScheduler
from kerasboost.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from kerasboost.callbacks.spike_rollback import SpikeRollback
from kerasboost.callbacks.stochastic_weight_averaging import StochasticWeightAveraging
from kerasboost.callbacks.time_stopping import TimeStopping

__all__ = [
    "ActivationStatistics",
    "EarlyStopping",
    "GradientStatistics",
    "LearningRateFinder",
    "LearningRateLogger",
    "LearningRateWarmup",
    "MomentumScheduler",
    "ReduceLROnPlateau",
    "SpikeRollback",
    "StochasticWeightAveraging",
    "TimeStopping",
]
