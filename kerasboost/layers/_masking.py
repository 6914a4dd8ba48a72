"""SpecAugment-style band masking along one axis (private base of TimeMasking / FrequencyMasking)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.layers._base import RandomLayer, check_time_input
from kerasboost.utils.validation import check_number, fail


class BandMasking(RandomLayer):
    """Set `num_masks` random bands of width `U{0..max_width}` on `AXIS` to `mask_value`."""

    AXIS = 1
    AXIS_NAME = "time"

    def __init__(
        self, max_width: int, num_masks: int = 1, mask_value: float = 0.0, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.max_width = check_number("max_width", max_width, low=1, integer=True)
        self.num_masks = check_number("num_masks", num_masks, low=1, integer=True)
        self.mask_value = check_number("mask_value", mask_value)

    def build(self, input_shape):
        check_time_input(self, input_shape, min_rank=self.AXIS + 1)
        size = input_shape[self.AXIS]
        if size is None or self.max_width > size:
            raise fail("max_width", f"at most the {self.AXIS_NAME} size {size} of the input", self.max_width)
        if self.num_masks > size:  # the masks' memory grows with num_masks; more bands than steps add nothing
            raise fail("num_masks", f"at most the {self.AXIS_NAME} size {size} of the input", self.num_masks)
        self.built = True

    def augment(self, inputs):
        size = inputs.shape[self.AXIS]
        batch = ops.shape(inputs)[0]
        width = ops.floor(self.uniform((batch, self.num_masks, 1)) * (self.max_width + 1))
        start = ops.floor(self.uniform((batch, self.num_masks, 1)) * (size - width + 1))
        position = ops.arange(size, dtype="float32")[None, None, :]
        masked = ops.any(ops.logical_and(position >= start, position < start + width), axis=1)
        shape = [batch] + [1] * (len(inputs.shape) - 1)
        shape[self.AXIS] = size
        masked = ops.reshape(masked, shape)
        return ops.where(masked, ops.cast(self.mask_value, inputs.dtype), inputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_width": self.max_width,
            "num_masks": self.num_masks,
            "mask_value": self.mask_value,
        }
