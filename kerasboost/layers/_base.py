"""Shared pieces of kerasboost's layers (private: may change freely)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasboost.utils import random
from kerasboost.utils.validation import check_number, check_seed, fail


class RandomLayer(keras.layers.Layer):
    """A layer that is random under `training=True` and the identity otherwise.

    Subclasses implement `augment(inputs)`, drawing from `self.uniform(...)` /
    `self.normal(...)` (one `keras.random.SeedGenerator` per layer: seeded runs
    reproduce, and its state is a layer variable, saved with the model).
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = check_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return self.augment(inputs)

    def augment(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def uniform(self, shape, minval=0.0, maxval=1.0):
        return random.uniform(shape, "float32", self.seed_generator, minval, maxval)

    def normal(self, shape):
        return random.normal(shape, "float32", self.seed_generator)

    def per_sample_shape(self, inputs) -> tuple:
        """`(batch, 1, ..., 1)`: one draw per sample, broadcast over the rest."""
        return (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}

    # The seed generator's state is saved with the model (Keras saves only the trainable and
    # non-trainable variables), so a training run resumed from a `.keras` file draws the same
    # random numbers as the uninterrupted run would have.
    _SEED_KEY = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_KEY] = self.seed_generator.state

    def load_own_variables(self, store):
        # Keras's H5 store has `keys()` but no `__iter__` / `__contains__`
        keys = [k for k in store.keys() if k != self._SEED_KEY]  # noqa: SIM118
        super().load_own_variables({k: store[k] for k in keys})
        if self._SEED_KEY in store.keys():  # noqa: SIM118
            self.seed_generator.state.assign(store[self._SEED_KEY])


def check_rate(name: str, value: Any) -> float:
    """A drop rate: a float in [0, 1)."""
    return check_number(name, value, low=0.0, high=1.0, high_inclusive=False)


def check_range(min_name: str, min_value: Any, max_name: str, max_value: Any, **bounds: Any) -> tuple[float, float]:
    """Two finite floats with `min_value <= max_value` (both within `bounds`)."""
    min_value = check_number(min_name, min_value, **bounds)
    max_value = check_number(max_name, max_value, **bounds)
    if max_value < min_value:
        raise fail(max_name, f"a number >= {min_name}={min_value!r}", max_value)
    return min_value, max_value


def gather_time(inputs, positions):
    """Linearly interpolate `inputs` (batch, time, ...) at float `positions` (batch, time).

    Positions outside `[0, time - 1]` read zeros. Integer positions give an
    exact gather. XLA-friendly: one `take_along_axis` per neighbour.
    """
    shape = ops.shape(inputs)
    steps = inputs.shape[1]
    flat = ops.reshape(inputs, (shape[0], steps, -1))
    features = flat.shape[2] if flat.shape[2] is not None else ops.shape(flat)[2]
    floor = ops.floor(positions)
    frac = positions - floor
    result = 0.0
    for offset, weight in ((0.0, 1.0 - frac), (1.0, frac)):
        index = floor + offset
        valid = ops.logical_and(index >= 0, index <= steps - 1)
        clipped = ops.cast(ops.clip(index, 0, steps - 1), "int32")
        picked = ops.take_along_axis(flat, ops.broadcast_to(clipped[:, :, None], (shape[0], steps, features)), axis=1)
        scale = ops.where(valid, weight, 0.0)[:, :, None]
        result = result + ops.cast(picked, "float32") * scale
    return ops.reshape(ops.cast(result, inputs.dtype), shape)


def check_time_input(layer: keras.layers.Layer, input_shape, min_rank: int = 2) -> None:
    """Audio layers take (batch, time, ...) inputs with a known time length."""
    if len(input_shape) < min_rank or input_shape[1] is None:
        raise fail(
            "input_shape",
            f"a shape (batch, time, ...) of rank >= {min_rank} with a known time length for {layer.name}",
            tuple(input_shape),
        )


_CONV_ARGS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "data_format",
    "dilation_rate",
    "groups",
    "activation",
    "use_bias",
)


def init_conv(init, layer, args: tuple, kwargs: dict) -> None:
    """Run Keras's convolution `__init__` (`init`) for a kerasboost subclass: `filters` and
    `padding` are checked first, and what Keras raises from deeper down on a bad argument
    (TypeError, AttributeError) becomes a ValueError listing the arguments received."""
    given = {**dict(zip(_CONV_ARGS, args)), **kwargs}
    if "filters" in given:
        check_number("filters", given["filters"], low=1, integer=True)
    padding = given.get("padding", "valid")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise fail("padding", "'valid' or 'same'", padding)
    try:
        init(*args, **kwargs)
    except (TypeError, AttributeError, ValueError) as e:
        received = ", ".join(f"{k}={v!r}" for k, v in given.items())
        raise ValueError(f"Invalid arguments for {type(layer).__name__}: {e}. Received: {received}") from e
