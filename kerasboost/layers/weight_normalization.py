"""Weight normalization with data-dependent initialization (Salimans & Kingma 2016)."""

from __future__ import annotations

import copy
from typing import Any

import keras
from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.distribute import cross_replica_sum, replica_count
from kerasboost.utils.validation import check_bool, check_number, fail

_SUPPORTED = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


@kerasboost_export("kerasboost.layers.WeightNormalization")
class WeightNormalization(keras.layers.Wrapper):
    """Reparameterize a Dense or Conv layer's kernel as `w = g * v / ||v||`.

    The wrapped layer's kernel becomes the direction `v`; a new per-output-unit
    scale `g` gives the length. Decoupling the two speeds up and stabilizes
    gradient descent, without the batch dependence of batch normalization.

    With `data_init=True` (the paper's data-dependent initialization), the
    first training batch sets `g` and the bias so that every pre-activation
    has zero mean and unit variance over that batch: with `t = v.x / ||v||`,
    `g = 1 / std(t)` and `bias = -mean(t) / std(t)`. It happens inside the
    compiled training step, exactly once (a `initialized` flag is a layer
    variable, saved with the model). The initial values are kept in the
    non-trainable offsets `g_offset` and `bias_offset` and added to the
    trainable `g` and bias (gradients are unchanged by the addition; the
    offsets make the initialization work on backends whose training step
    does not allow a forward pass to assign trainable variables, such as
    JAX). `effective_kernel()` returns `w`. Without `data_init`, `g` starts at
    `||v||`, so the wrapped layer starts as its own initializer made it (`w = v`
    to float rounding; a unit whose `||v||^2` is below `epsilon` divides by
    `sqrt(epsilon)` and starts with `g = sqrt(epsilon)`, so it too starts at `v`).

    The output is computed as `activation(g * layer_linear(x; v/||v||) + b)`,
    which equals the wrapped layer with kernel `w` (Dense and convolutions are
    linear in each output unit's kernel). Supported: `Dense`, `Conv1D`,
    `Conv2D`, `Conv3D` (either data format); LoRA-enabled layers are not.

    Args:
        layer: the `keras.layers.Dense` / `ConvND` layer to wrap.
        data_init: bool, data-dependent initialization on the first training
            batch. Defaults to `True`.
        epsilon: float > 0 added to the variance in the data-dependent
            initialization, and the floor of `||v||^2` in `v / ||v||` (as TensorFlow
            Addons' `l2_normalize`; PyTorch's `weight_norm` has none): above it
            the direction is exactly `v / ||v||`. Defaults to `1e-6`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([
    ...     keras.Input((8,)),
    ...     kerasboost.layers.WeightNormalization(keras.layers.Dense(16, activation="relu")),
    ...     keras.layers.Dense(1),
    ... ])
    >>> tuple(model.layers[0].g.shape)
    (16,)

    ```

    References:
        - Salimans & Kingma, 2016, "Weight Normalization: A Simple
          Reparameterization to Accelerate Training of Deep Neural Networks",
          https://arxiv.org/abs/1602.07868
    """

    def __init__(self, layer: keras.layers.Layer, data_init: bool = True, epsilon: float = 1e-6, **kwargs: Any) -> None:
        if not isinstance(layer, _SUPPORTED) or getattr(layer, "lora_enabled", False):
            raise fail(
                "layer",
                "a keras.layers.Dense, Conv1D, Conv2D or Conv3D layer (a layer with a kernel, without LoRA)",
                layer,
            )
        super().__init__(layer, **kwargs)
        self.data_init = check_bool("data_init", data_init)
        self.epsilon = check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
        self.supports_masking = getattr(layer, "supports_masking", False)

    def _channel_axis(self, rank: int) -> int:
        if isinstance(self.layer, keras.layers.Dense) or self.layer.data_format == "channels_last":
            return rank - 1
        return 1

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = getattr(self.layer, "_kernel", None)
        if not isinstance(kernel, keras.Variable):
            raise fail("layer", "a layer whose `kernel` is a variable", self.layer)
        self._direction = kernel
        self._bias = self.layer.bias if getattr(self.layer, "use_bias", False) else None
        units = kernel.shape[-1]
        reduce_axes = tuple(range(len(kernel.shape) - 1))
        self.g = self.add_weight(
            name="g",
            shape=(units,),
            # the normalizer of `_unit_direction`: `g * v / ||v||` is then `v` exactly
            initializer=lambda shape, dtype: ops.sqrt(
                ops.maximum(ops.sum(ops.square(kernel.value), axis=reduce_axes), self.epsilon)
            ),
        )
        self.g_offset = self.add_weight(name="g_offset", shape=(units,), initializer="zeros", trainable=False)
        self.bias_offset = self.add_weight(name="bias_offset", shape=(units,), initializer="zeros", trainable=False)
        self.initialized = self.add_weight(
            name="initialized", shape=(), initializer="zeros", trainable=False, dtype="bool"
        )
        self.built = True

    def _unit_direction(self, direction):
        axes = tuple(range(len(direction.shape) - 1))
        return direction * ops.rsqrt(
            ops.maximum(ops.sum(ops.square(direction), axis=axes, keepdims=True), self.epsilon)
        )

    def effective_kernel(self):
        """The kernel the wrapped layer effectively applies: `(g + g_offset) * v / ||v||`."""
        return (self.g + self.g_offset) * self._unit_direction(ops.convert_to_tensor(self._direction))

    def call(self, inputs, training=False):
        layer = self.layer
        values = {id(v): v.value for v in layer.variables}
        direction = values[id(self._direction)]
        values[id(self._direction)] = self._unit_direction(direction)
        if self._bias is not None:
            values[id(self._bias)] = ops.zeros_like(values[id(self._bias)])
        activation = layer.activation
        layer.activation = None  # Dense/Conv skip a None activation; restored below
        try:
            linear, _ = layer.stateless_call(
                [values[id(v)] for v in layer.trainable_variables],
                [values[id(v)] for v in layer.non_trainable_variables],
                inputs,
            )
        finally:
            layer.activation = activation
        rank = len(linear.shape)
        channel_axis = self._channel_axis(rank)
        shape = [1] * rank
        shape[channel_axis] = -1
        dtype = linear.dtype
        g, g_offset, bias_offset = (
            ops.cast(ops.convert_to_tensor(v), dtype) for v in (self.g, self.g_offset, self.bias_offset)
        )
        bias = ops.cast(ops.convert_to_tensor(self._bias), dtype) if self._bias is not None else ops.zeros_like(g)
        if self.data_init and training:
            g_offset, bias_offset = self._data_init(linear, channel_axis, g, bias, g_offset, bias_offset)
        outputs = linear * ops.reshape(g + g_offset, shape) + ops.reshape(bias + bias_offset, shape)
        if activation is not None:
            outputs = activation(outputs)
        return outputs

    def _data_init(self, linear, channel_axis, g, bias, g_offset, bias_offset):
        """Once: offsets that make `g_eff = 1/std(t)` and `b_eff = -mean(t)/std(t)` on this batch."""
        axes = tuple(a for a in range(len(linear.shape)) if a != channel_axis)
        values = ops.cast(linear, "float32")
        if replica_count() > 1:
            # tf.distribute: the moments of the whole batch, not of this replica's share
            count = ops.cast(ops.size(values) // ops.shape(values)[channel_axis], "float32")
            (count, total, squares), _ = cross_replica_sum(
                [count, ops.sum(values, axis=axes), ops.sum(ops.square(values), axis=axes)]
            )
            mean = total / count
            variance = ops.maximum(squares / count - ops.square(mean), 0.0)
        else:
            mean, variance = ops.moments(values, axes=axes)
        scale = ops.rsqrt(variance + self.epsilon)
        initial = (scale - ops.cast(g, "float32"), -mean * scale - ops.cast(bias, "float32"))
        initial = [ops.stop_gradient(ops.cast(o, g.dtype)) for o in initial]
        # `where`, not `cond`: the batch moments are one cheap reduction, and the select
        # traces the same way on every backend
        initialized = ops.convert_to_tensor(self.initialized)
        g_offset = ops.where(initialized, g_offset, initial[0])
        bias_offset = ops.where(initialized, bias_offset, initial[1])
        self.g_offset.assign(g_offset)
        self.bias_offset.assign(bias_offset)
        self.initialized.assign(True)
        return g_offset, bias_offset

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_init": self.data_init, "epsilon": self.epsilon}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # keras.layers.Wrapper.from_config pops "layer" from the dict it is given; work on a copy
        return super().from_config(copy.deepcopy(config), custom_objects)
