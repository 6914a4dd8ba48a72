"""What the diagnostics know about each activation, in one table.

`activation_report` reads which outputs are saturated (`SATURATING`) and which units can die
(`dies`); the doctor's `reinitialize` fix reads which activations a looks-linear initializer
suits (`looks_linear_suits`). One definition, so the two never disagree about a "rectifier".
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Family:
    """What an activation does at the edges of its range."""

    dies: bool = False  # outputs exactly 0 for every negative input: a unit can be dead
    positively_homogeneous: bool = False  # f(a x) = a f(x) for a > 0: looks-linear initialization applies
    saturates: tuple[float, float] | None = None  # outputs outside (low, high) are in the flat tails


FAMILIES = {
    "relu": Family(dies=True, positively_homogeneous=True),
    "relu6": Family(dies=True),  # capped at 6: not homogeneous
    "leaky_relu": Family(positively_homogeneous=True),  # a negative slope: never exactly dead
    "tanh": Family(saturates=(-0.99, 0.99)),
    "sigmoid": Family(saturates=(0.01, 0.99)),
    "hard_sigmoid": Family(saturates=(0.01, 0.99)),
    "softsign": Family(saturates=(-0.99, 0.99)),
}
"""Activation name (as `keras.activations.serialize` gives it) -> its `Family`."""

SATURATING = {name: f.saturates for name, f in FAMILIES.items() if f.saturates is not None}
"""Activation -> (low, high): outputs outside are saturated."""


def dies(activation: str | None) -> bool:
    """Whether units of `activation` can be dead (zero for every input of a batch)."""
    return activation in FAMILIES and FAMILIES[activation].dies


def looks_linear_suits(activation: str | None) -> bool:
    """Whether a looks-linear initializer (Balduzzi et al. 2017) suits `activation`."""
    return activation in FAMILIES and FAMILIES[activation].positively_homogeneous
