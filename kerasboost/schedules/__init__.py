"""Learning-rate schedules: pass any of them as an optimizer's `learning_rate`.

All are `keras.optimizers.schedules.LearningRateSchedule` subclasses written in
`keras.ops` (they trace under XLA and run on every backend), return float32,
serialize by their `kerasboost>Name` key and nest inside each other.
"""

from kerasboost.schedules.cosine_restarts import CosineRestarts
from kerasboost.schedules.cyclical_learning_rate import CyclicalLearningRate
from kerasboost.schedules.inverse_sqrt_decay import InverseSqrtDecay
from kerasboost.schedules.linear_decay import LinearDecay
from kerasboost.schedules.one_cycle import OneCycle, OneCycleMomentum
from kerasboost.schedules.scaled import Scaled
from kerasboost.schedules.sequential_schedule import SequentialSchedule
from kerasboost.schedules.step_decay import StepDecay
from kerasboost.schedules.warmup import Warmup
from kerasboost.schedules.warmup_stable_decay import WarmupStableDecay

__all__ = [
    "CosineRestarts",
    "CyclicalLearningRate",
    "InverseSqrtDecay",
    "LinearDecay",
    "OneCycle",
    "OneCycleMomentum",
    "Scaled",
    "SequentialSchedule",
    "StepDecay",
    "Warmup",
    "WarmupStableDecay",
]
