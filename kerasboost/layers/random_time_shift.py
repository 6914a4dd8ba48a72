"""Random circular or zero-filled time shift, per sample."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import RandomLayer, check_time_input, gather_time
from kerasboost.utils.validation import check_choice, check_number


@kerasboost_export("kerasboost.layers.RandomTimeShift")
class RandomTimeShift(RandomLayer):
    """Shift each sample along time (axis 1) by a random whole number of steps.

    The shift `s` is uniform over the integers in `[-m, m]` with
    `m = floor(max_shift * time)`; `out[t] = x[t - s]`. With `fill="zeros"`
    the uncovered steps are zero; with `fill="wrap"` the signal is rotated.
    Teaches the network that the position of an event in the clip does not
    matter. Inputs are `(batch, time, ...)`; identity at inference.

    Args:
        max_shift: float in [0, 1], the largest shift as a fraction of the
            time length. Defaults to `0.1`.
        fill: `"zeros"` or `"wrap"`. Defaults to `"zeros"`.
        seed: optional int, the layer's random seed.
        **kwargs: base layer arguments.

    Example:

    ```python
    >>> import numpy as np, kerasboost
    >>> x = np.arange(1, 9, dtype="float32")[None]
    >>> y = np.asarray(kerasboost.layers.RandomTimeShift(0.5, fill="wrap", seed=1)(x, training=True))
    >>> sorted(y[0]) == sorted(x[0])   # a rotation keeps every value
    True

    ```

    References:
        - Salamon & Bello, 2017, "Deep Convolutional Neural Networks and Data
          Augmentation for Environmental Sound Classification",
          https://arxiv.org/abs/1608.04363
    """

    def __init__(self, max_shift: float = 0.1, fill: str = "zeros", seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.max_shift = check_number("max_shift", max_shift, low=0.0, high=1.0)
        self.fill = check_choice("fill", fill, ("zeros", "wrap"))

    def build(self, input_shape):
        check_time_input(self, input_shape)
        self.built = True

    def augment(self, inputs):
        steps = inputs.shape[1]
        largest = int(self.max_shift * steps)
        if largest == 0:
            return inputs
        batch = ops.shape(inputs)[0]
        shift = ops.floor(self.uniform((batch, 1)) * (2 * largest + 1)) - largest
        positions = ops.arange(steps, dtype="float32")[None, :] - shift
        if self.fill == "wrap":
            positions = ops.mod(positions, float(steps))
        return gather_time(inputs, positions)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_shift": self.max_shift, "fill": self.fill}
