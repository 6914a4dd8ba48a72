"""kerasboost.layers: normalization, regularization, activations and audio augmentation."""

from kerasboost.layers.add_noise import AddNoise
from kerasboost.layers.drop_block2d import DropBlock2D
from kerasboost.layers.drop_path import DropPath
from kerasboost.layers.drop_path_rates import drop_path_rates
from kerasboost.layers.filter_response_normalization import FilterResponseNormalization
from kerasboost.layers.frequency_masking import FrequencyMasking
from kerasboost.layers.instance_normalization import InstanceNormalization
from kerasboost.layers.maxout import Maxout
from kerasboost.layers.random_gain import RandomGain
from kerasboost.layers.random_speed import RandomSpeed
from kerasboost.layers.random_time_shift import RandomTimeShift
from kerasboost.layers.scaled_std_conv2d import ScaledStdConv2D
from kerasboost.layers.skip_init import SkipInit
from kerasboost.layers.stochastic_depth import StochasticDepth
from kerasboost.layers.swish import Swish
from kerasboost.layers.time_masking import TimeMasking
from kerasboost.layers.tlu import TLU
from kerasboost.layers.weight_normalization import WeightNormalization
from kerasboost.layers.ws_conv2d import WSConv2D

__all__ = [
    "TLU",
    "AddNoise",
    "DropBlock2D",
    "DropPath",
    "FilterResponseNormalization",
    "FrequencyMasking",
    "InstanceNormalization",
    "Maxout",
    "RandomGain",
    "RandomSpeed",
    "RandomTimeShift",
    "ScaledStdConv2D",
    "SkipInit",
    "StochasticDepth",
    "Swish",
    "TimeMasking",
    "WSConv2D",
    "WeightNormalization",
    "drop_path_rates",
]
