"""Optimizers and composable optimizer wrappers.

Wrappers take any Keras or kerasboost optimizer and compose:
`Lookahead(GradientNoise(AdaptiveGradientClipping(keras.optimizers.AdamW(...))))`.
"""

from kerasboost.optimizers.ada_belief import AdaBelief
from kerasboost.optimizers.adaptive_gradient_clipping import AdaptiveGradientClipping
from kerasboost.optimizers.d_adaptation import DAdaptAdam, DAdaptSGD
from kerasboost.optimizers.dog import DoG, LDoG
from kerasboost.optimizers.gradient_centralization import GradientCentralization
from kerasboost.optimizers.gradient_noise import GradientNoise
from kerasboost.optimizers.lars import LARS
from kerasboost.optimizers.layerwise_learning_rate import LayerwiseLearningRate
from kerasboost.optimizers.lookahead import Lookahead
from kerasboost.optimizers.prodigy import Prodigy
from kerasboost.optimizers.rectified_adam import RectifiedAdam
from kerasboost.optimizers.sam import SAM
from kerasboost.optimizers.skip_non_finite import SkipNonFinite
from kerasboost.optimizers.wrapper import OptimizerWrapper

__all__ = [
    "LARS",
    "SAM",
    "AdaBelief",
    "AdaptiveGradientClipping",
    "DAdaptAdam",
    "DAdaptSGD",
    "DoG",
    "GradientCentralization",
    "GradientNoise",
    "LDoG",
    "LayerwiseLearningRate",
    "Lookahead",
    "OptimizerWrapper",
    "Prodigy",
    "RectifiedAdam",
    "SkipNonFinite",
]
