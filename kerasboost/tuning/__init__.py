"""kerasboost.tuning: keras-tuner search spaces, ready HyperModels, results and distributed search."""

from kerasboost.tuning.asha import ASHA
from kerasboost.tuning.distributed import DistributedSearchError, run_distributed_search
from kerasboost.tuning.hypermodels import ConvNetHyperModel, MLPHyperModel, trial_seed
from kerasboost.tuning.optuna_search import OptunaSearch
from kerasboost.tuning.pruning import ASHAPruner, BayesianOptimization, MedianPruner, RandomSearch
from kerasboost.tuning.results import plot_intermediate, plot_trials, trials_dataframe
from kerasboost.tuning.search_space import (
    hp_clipping,
    hp_dropout,
    hp_initializer,
    hp_learning_rate,
    hp_normalization,
    hp_optimizer,
    hp_regularizer,
    hp_schedule,
)

__all__ = [
    "ASHA",
    "ASHAPruner",
    "BayesianOptimization",
    "ConvNetHyperModel",
    "DistributedSearchError",
    "MLPHyperModel",
    "MedianPruner",
    "OptunaSearch",
    "RandomSearch",
    "hp_clipping",
    "hp_dropout",
    "hp_initializer",
    "hp_learning_rate",
    "hp_normalization",
    "hp_optimizer",
    "hp_regularizer",
    "hp_schedule",
    "plot_intermediate",
    "plot_trials",
    "run_distributed_search",
    "trial_seed",
    "trials_dataframe",
]
