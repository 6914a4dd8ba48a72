"""Initializers matched to the activation, and data-dependent initialization."""

from kerasboost.initializers.calculate_gain import calculate_gain
from kerasboost.initializers.delta_orthogonal import DeltaOrthogonal
from kerasboost.initializers.looks_linear import LooksLinear
from kerasboost.initializers.lsuv import lsuv
from kerasboost.initializers.orthogonal_for import OrthogonalFor
from kerasboost.initializers.variance_for import VarianceFor

__all__ = ["DeltaOrthogonal", "LooksLinear", "OrthogonalFor", "VarianceFor", "calculate_gain", "lsuv"]
