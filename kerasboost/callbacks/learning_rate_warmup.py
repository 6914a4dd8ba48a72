"""Warm up any optimizer's learning rate from a callback, inside the compiled step."""

from __future__ import annotations

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks._learning_rate_control import LearningRateControl
from kerasboost.schedules.warmup import WARMUP_MODES, Warmup
from kerasboost.utils.validation import check_choice, check_number, fail


@kerasboost_export("kerasboost.callbacks.LearningRateWarmup", register=False)
class LearningRateWarmup(keras.callbacks.Callback):
    """Ramp the learning rate up over the optimizer's first `warmup_steps` steps.

    The optimizer's own learning rate (a float, a schedule, a kerasboost
    wrapper's inner rate, under `LossScaleOptimizer` too) is multiplied inside
    the compiled step by a factor that rises from `start_factor` at step 0 to
    1 at step `warmup_steps` (the shapes of `kerasboost.schedules.Warmup`):

    - `"linear"`: `start_factor + (1 - start_factor) * t / warmup_steps`
    - `"polynomial"`: `start_factor + (1 - start_factor) * (t / warmup_steps) ** power`
    - `"exponential"`: `start_factor ** (1 - t / warmup_steps)` (needs `start_factor > 0`)

    where `t` is the optimizer's iteration count, so a resumed run (same
    optimizer state) continues the ramp where it stopped and a second `fit`
    after the warmup is unaffected. The multiplier is separate from the rate
    the optimizer holds: `ReduceLROnPlateau` (kerasboost's or Keras's) can
    change a float rate during warmup and the two compose. The saved model
    holds the optimizer without the warmup; use the `kerasboost.schedules.Warmup`
    schedule instead when the warmup should be part of the saved optimizer.

    Args:
        warmup_steps: int >= 1, the steps of the ramp.
        start_factor: float in [0, 1], the multiplier at step 0. Defaults to
            0.0 (the first step does not move the weights; pass a small
            positive value to avoid that).
        mode: `"linear"` (default), `"exponential"` or `"polynomial"`.
        power: float > 0, the exponent of `"polynomial"`. Defaults to 1.0.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=2, epochs=2, verbose=0,
    ...                     callbacks=[kerasboost.callbacks.LearningRateWarmup(8),
    ...                                kerasboost.callbacks.LearningRateLogger()])
    >>> [round(v, 4) for v in history.history["learning_rate"]]   # at steps 4 and 8
    [0.05, 0.1]

    ```

    References:
        - Goyal et al., 2017, "Accurate, Large Minibatch SGD: Training
          ImageNet in 1 Hour", https://arxiv.org/abs/1706.02677
    """

    def __init__(self, warmup_steps: int, start_factor: float = 0.0, mode: str = "linear", power: float = 1.0) -> None:
        super().__init__()
        self.warmup_steps = check_number("warmup_steps", warmup_steps, low=1, integer=True)
        self.start_factor = check_number("start_factor", start_factor, low=0.0, high=1.0)
        self.mode = check_choice("mode", mode, WARMUP_MODES)
        self.power = check_number("power", power, low=0.0, low_inclusive=False)
        if self.mode == "exponential" and self.start_factor <= 0.0:
            raise fail("start_factor", 'a number in (0, 1] with mode="exponential"', start_factor)
        self._factor = Warmup(
            1.0, self.warmup_steps, start_learning_rate=self.start_factor, mode=self.mode, power=self.power
        )
        self._control = None

    def factor(self, step):
        """The multiplier at optimizer step `step` (a tensor)."""
        return self._factor(step)

    def on_train_begin(self, logs=None):
        key = (self.warmup_steps, self.start_factor, self.mode, self.power)
        self._control = LearningRateControl.acquire(self.model, self, warmup=self.factor, warmup_key=key)

    def on_train_end(self, logs=None):
        if self._control is not None:
            self._control.release(self)
            self._control = None
