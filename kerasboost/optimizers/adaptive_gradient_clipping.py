"""Unit-wise adaptive gradient clipping (Brock et al. 2021)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.wrapper import OptimizerWrapper
from kerasboost.utils.validation import check_number, fail


def unitwise_norm(x, stacked: bool = False):
    """L2 norm per output unit: over all axes but the last. A tensor with at most one axis
    longer than 1 (a bias, a gain, a scalar) is one unit: its norm over every axis, as in Brock
    et al.'s reference code.

    With `stacked`, `x` is several tensors of one shape stacked on a new first axis, each
    reduced on its own.
    """
    first = 1 if stacked else 0
    shape = x.shape[first:]
    if sum(1 for d in shape if d != 1) <= 1:
        axes = tuple(range(first, len(x.shape)))
    else:
        axes = tuple(range(first, len(x.shape) - 1))
    if not axes:  # a scalar
        return ops.abs(x)
    return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))


@kerasboost_export("kerasboost.optimizers.AdaptiveGradientClipping")
class AdaptiveGradientClipping(OptimizerWrapper):
    """Clip each unit's gradient relative to the norm of its weights (AGC).

    For every output unit `i` of every weight (a column of a Dense kernel, an
    output channel of a convolution kernel; a bias or scale vector is one
    unit, as in the paper's reference code):

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
    ) -> None:
        super().__init__(optimizer, name=name, **kwargs)
        self.clip_factor = check_number("clip_factor", clip_factor, low=0.0, low_inclusive=False)
        self.eps = check_number("eps", eps, low=0.0, low_inclusive=False)
        if exclude is None:
            exclude = []
        if isinstance(exclude, str) or not all(isinstance(e, str) for e in exclude):
            raise fail("exclude", "a list of variable names", exclude)
        self.exclude = list(exclude)

    def transform_gradients(self, grads, variables):
        # On TensorFlow, gradients of one shape (the kernels of repeated blocks) are clipped
        # together, stacked: its compile time grows with the number of graph ops, and this is a
        # fixed chain of ops per shape, not per variable. Not on JAX, where XLA compiles a
        # kernel per piece cut out of the stack, and one variable at a time compiles faster
        # (`python benchmarks/compile.py --only AdaptiveGradientClipping`; docs/benchmarks.md).
        by_shape = {}
        stack = keras.backend.backend() == "tensorflow"
        for i, (g, w) in enumerate(zip(grads, variables)):
            if g is not None and not any(name in w.path for name in self.exclude):
                by_shape.setdefault((tuple(g.shape), g.dtype) if stack else i, []).append(i)
        clipped = list(grads)
        for indices in by_shape.values():
            if len(indices) == 1:
                (i,) = indices
                clipped[i] = self._clip(grads[i], variables[i].value, stacked=False)
                continue
            g = ops.stack([grads[i] for i in indices])
            w = ops.stack([variables[i].value for i in indices])
            for i, c in zip(indices, ops.unstack(self._clip(g, w, stacked=True))):
                clipped[i] = c
        return clipped

    def _clip(self, g, w, stacked):
        # g * min(1, max_norm / ||g||) per unit, as max_norm / max(||g||, max_norm): max_norm > 0
        max_norm = self.clip_factor * ops.maximum(unitwise_norm(ops.cast(w, g.dtype), stacked), self.eps)
        return g * (max_norm / ops.maximum(unitwise_norm(g, stacked), max_norm))

    def get_config(self):
        config = super().get_config()
        config.update({"clip_factor": self.clip_factor, "eps": self.eps, "exclude": list(self.exclude)})
        return config
