"""Unit-wise adaptive gradient clipping (Brock et al. 2021)."""

from __future__ import annotations

from typing import Any, Sequence

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.wrapper import OptimizerWrapper
from kerasboost.utils.validation import check_number, fail


def unitwise_norm(x):
    """L2 norm per output unit: over all axes but the last; elementwise for rank <= 1."""
    if len(x.shape) <= 1:
        return ops.abs(x)
    axes = tuple(range(len(x.shape) - 1))
    return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))


@kerasboost_export("kerasboost.optimizers.AdaptiveGradientClipping")
class AdaptiveGradientClipping(OptimizerWrapper):
    """Clip each unit's gradient relative to the norm of its weights (AGC).

    For every output unit `i` of every weight (a column of a Dense kernel, an
    output channel of a convolution kernel; each entry of a bias or scale):

        if ||G_i|| > clip_factor * max(||W_i||, eps):
            G_i <- G_i * clip_factor * max(||W_i||, eps) / ||G_i||

    A large update relative to the weight it changes is what destabilizes
    training; AGC bounds exactly that ratio, which let Brock et al. train
    normalizer-free ResNets (NFNets) with large batches and strong
    augmentation. They do not clip the final classifier: list its variables'
    names in `exclude`.

    Args:
        optimizer: the inner optimizer (instance, config or name).
        clip_factor: float > 0 (lambda; 0.01 for batch 4096, larger for
            smaller batches). Defaults to 0.01.
        eps: float > 0, the floor on weight norms (so zero-initialized weights
            can move). Defaults to 1e-3.
        exclude: names; a variable whose `path` contains any of them is not
            clipped. Defaults to none.
        name: the optimizer's name.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> optimizer = kerasboost.optimizers.AdaptiveGradientClipping(
    ...     keras.optimizers.SGD(0.1, momentum=0.9), clip_factor=0.02, exclude=["classifier"])

    ```

    References:
        - Brock, De, Smith & Simonyan, 2021, "High-Performance Large-Scale Image
          Recognition Without Normalization", https://arxiv.org/abs/2102.06171
    """

    def __init__(
        self,
        optimizer: Any,
        clip_factor: float = 0.01,
        eps: float = 1e-3,
        exclude: Sequence[str] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(optimizer, name=name, **kwargs)
        self.clip_factor = check_number("clip_factor", clip_factor, low=0.0, low_inclusive=False)
        self.eps = check_number("eps", eps, low=0.0, low_inclusive=False)
        if exclude is None:
            exclude = []
        if isinstance(exclude, str) or not all(isinstance(e, str) for e in exclude):
            raise fail("exclude", "a list of variable names", exclude)
        self.exclude = list(exclude)

    def transform_gradients(self, grads, variables):
        clipped = []
        for g, w in zip(grads, variables):
            if g is None or any(name in w.path for name in self.exclude):
                clipped.append(g)
                continue
            max_norm = self.clip_factor * ops.maximum(unitwise_norm(w.value), self.eps)
            g_norm = unitwise_norm(g)
            scaled = g * (max_norm / ops.maximum(g_norm, 1e-6))
            clipped.append(ops.where(g_norm > max_norm, scaled, g))
        return clipped

    def get_config(self):
        config = super().get_config()
        config.update({"clip_factor": self.clip_factor, "eps": self.eps, "exclude": list(self.exclude)})
        return config
