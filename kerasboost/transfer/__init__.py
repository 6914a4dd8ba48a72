"""kerasboost.transfer: fine-tuning helpers (freezing, layer-wise learning rates, gradual unfreezing)."""

from kerasboost.transfer.freezing import freeze, leaf_layers, trainable_summary, unfreeze
from kerasboost.transfer.gradual_unfreezing import GradualUnfreezing
from kerasboost.transfer.layerwise import layerwise_lr_decay

__all__ = ["GradualUnfreezing", "freeze", "layerwise_lr_decay", "leaf_layers", "trainable_summary", "unfreeze"]
