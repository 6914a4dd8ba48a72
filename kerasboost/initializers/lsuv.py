"""Layer-sequential unit-variance initialization (Mishkin & Matas 2016)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
import numpy as np

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.models import probe_model
from kerasboost.utils.validation import check_bool, check_number, check_seed, fail


@dataclasses.dataclass
class LSUVResult:
    """What `lsuv` did to one layer."""

    layer: str
    iterations: int
    initial_std: float  # pre-activation std after the orthogonal pre-init, before rescaling
    final_std: float
    scale: float  # the total factor the kernel was multiplied by
    converged: bool


def _kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [
        layer
        for layer in model.layers
        if isinstance(getattr(layer, "kernel", None), keras.Variable) and layer.trainable
    ]


def _pre_activation(layer: keras.layers.Layer, inputs: Any) -> np.ndarray:
    """The layer's output with its fused activation (if any) switched off."""
    activation = getattr(layer, "activation", None)
    if activation is not None:
        layer.activation = keras.activations.linear
    try:
        return keras.ops.convert_to_numpy(layer(inputs))
    finally:
        if activation is not None:
            layer.activation = activation


def _spread(layer: keras.layers.Layer, inputs: Any, center: bool) -> float:
    """The std of the layer's pre-activations; with `center`, around each unit's own mean
    (the bias takes that mean away afterwards)."""
    pre = _pre_activation(layer, inputs)
    if center:
        pre = pre.reshape(-1, pre.shape[-1])
        pre = pre - pre.mean(axis=0)
    return float(np.std(pre))


@kerasboost_export("kerasboost.initializers.lsuv", register=False)
def lsuv(
    model: keras.Model,
    x_batch: Any,
    target_std: float = 1.0,
    tol: float = 0.05,
    max_iter: int = 10,
    orthogonal: bool = True,
    seed: int | None = None,
    center: bool = False,
) -> list[LSUVResult]:
    """Re-scale each layer's kernel so that its pre-activations have unit variance.

    Layer by layer, in the order of the model's layers: (optionally) draw the
    kernel orthogonal, then, on `x_batch`, measure the standard deviation of the
    layer's **pre-activation** output (its output with a fused activation
    switched off) and divide the kernel by `std / target_std`; repeat until
    `|std - target_std| <= tol * target_std` or `max_iter` rounds. Layers
    without a `kernel` (normalization, pooling, activations, ...), frozen layers
    and layers inside nested models are skipped;
    biases are left as they are. Only kernel values change: the model's
    architecture and config stay the same.

    Run it once after building the model and before `fit`, with a batch of
    real training inputs (a few hundred samples). It makes very deep plain
    networks trainable whatever their activation.

    Args:
        model: a built Sequential or functional Keras model.
        x_batch: a batch of inputs the model accepts (array or tensor).
        target_std: float > 0, the target pre-activation std. Defaults to 1.0.
        tol: float in (0, 1), the relative tolerance. Defaults to 0.05.
        max_iter: int >= 1, rescaling rounds per layer. Defaults to 10.
        orthogonal: bool, orthogonal pre-initialization of every kernel
            (Saxe et al.; the paper's first step). Defaults to True.
        seed: int or None, for the orthogonal pre-initialization.
        center: bool, also set each layer's bias (where it has one) so that
            its pre-activations have zero mean per unit on `x_batch`, after
            the rescaling and before the next layer is measured (the
            data-dependent initialization of Salimans & Kingma 2016): a
            sigmoid stack, whose outputs all have mean 0.5, needs it.
            Defaults to False.

    Returns:
        A list of `LSUVResult` (layer name, iterations, std before and after,
        total scale, converged), one per rescaled layer.

    Example:

    ```python
    >>> import keras, numpy as np
    >>> from kerasboost.initializers import lsuv
    >>> model = keras.Sequential([keras.Input((20,))] +
    ...     [keras.layers.Dense(32, activation="tanh") for _ in range(5)])
    >>> x = np.random.default_rng(0).normal(size=(256, 20)).astype("float32")
    >>> results = lsuv(model, x, seed=0)
    >>> all(abs(r.final_std - 1.0) <= 0.05 for r in results)
    True

    ```

    References:
        - Mishkin & Matas, 2016, "All you need is a good init",
          https://arxiv.org/abs/1511.06422
        - Salimans & Kingma, 2016, "Weight Normalization: A Simple
          Reparameterization to Accelerate Training of Deep Neural Networks",
          https://arxiv.org/abs/1602.07868 (data-dependent initialization)
    """
    if not isinstance(model, keras.Model):
        raise fail("model", "a Keras Model", model)
    target_std = check_number("target_std", target_std, low=0.0, low_inclusive=False)
    tol = check_number("tol", tol, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    max_iter = check_number("max_iter", max_iter, low=1, integer=True)
    orthogonal = check_bool("orthogonal", orthogonal)
    seed = check_seed("seed", seed)
    center = check_bool("center", center)
    if not model.built or not model.inputs:
        raise fail("model", "a built model with known inputs (call it or give it an Input)", model.name)
    x_batch = np.asarray(keras.ops.convert_to_numpy(x_batch))
    expected = tuple(model.inputs[0].shape)
    if x_batch.ndim != len(expected) or any(e is not None and e != a for e, a in zip(expected[1:], x_batch.shape[1:])):
        raise fail("x_batch", f"a batch of shape (batch, {', '.join(map(str, expected[1:]))})", x_batch.shape)
    if x_batch.shape[0] < 2:
        raise fail("x_batch", "a batch of at least 2 samples", x_batch.shape)

    results = []
    for i, layer in enumerate(_kernel_layers(model)):
        kernel = layer.kernel
        if orthogonal:
            init = keras.initializers.Orthogonal(seed=None if seed is None else seed + i)
            kernel.assign(init(tuple(kernel.shape), dtype=kernel.dtype))
        probe = probe_model(model, layer.input)
        inputs = probe(x_batch, training=False)
        std = _spread(layer, inputs, center)
        initial_std, scale, iterations = std, 1.0, 0
        while iterations < max_iter and abs(std - target_std) > tol * target_std:
            if not math.isfinite(std) or std == 0.0:
                break  # nothing to rescale (dead or broken layer): reported as not converged
            factor = target_std / std
            kernel.assign(kernel * factor)
            scale *= factor
            iterations += 1
            std = _spread(layer, inputs, center)
        bias = getattr(layer, "bias", None)
        if center and isinstance(bias, keras.Variable):
            pre = _pre_activation(layer, inputs)
            bias.assign(keras.ops.convert_to_numpy(bias) - pre.reshape(-1, pre.shape[-1]).mean(axis=0))
        results.append(
            LSUVResult(
                layer=layer.name,
                iterations=iterations,
                initial_std=initial_std,
                final_std=std,
                scale=scale,
                converged=abs(std - target_std) <= tol * target_std,
            )
        )
    return results
