"""Put the optimizer's current learning rate into the logs, whatever the optimizer holds."""

from __future__ import annotations

import keras

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.wrapper import without_loss_scaling


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer applies at its current step (float, schedule or wrapper)."""
    return float(keras.ops.convert_to_numpy(without_loss_scaling(optimizer).learning_rate))


def estimated_step_size(optimizer) -> float | None:
    """The step size a learning-rate-free optimizer (Prodigy, D-Adaptation, DoG) has estimated,
    as the learning rate of the method it adapts, found through wrappers and loss scaling; None
    for other optimizers (or before the first step builds it)."""
    while optimizer is not None:
        step_size = getattr(type(optimizer), "step_size", None)
        if isinstance(step_size, property):
            return float(keras.ops.convert_to_numpy(optimizer.step_size)) if optimizer.built else None
        optimizer = getattr(optimizer, "inner_optimizer", None) or getattr(optimizer, "optimizer", None)
    return None


@kerasboost_export("kerasboost.callbacks.LearningRateLogger", register=False)
class LearningRateLogger(keras.callbacks.Callback):
    """Add `learning_rate` to `logs` (and so to `History`) at the end of every epoch.

    Keras 3 puts `learning_rate` in the logs only when `LearningRateScheduler`
    or `ReduceLROnPlateau` set it. This callback records the value the
    optimizer applies at the end of each epoch for any optimizer: a float
    rate, a `LearningRateSchedule` (evaluated at the current step), a
    kerasboost wrapper or a `LossScaleOptimizer`. With a learning-rate-free
    optimizer (`Prodigy`, `DAdaptAdam`, `DAdaptSGD`, `DoG`, `LDoG`, inside any
    wrapper) it also records `step_size`: the learning rate its estimate
    amounts to (`d * learning_rate` for Prodigy and D-Adapt Adam), to read
    beside a range test's valley.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    >>> model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=4, epochs=2, verbose=0,
    ...                     callbacks=[kerasboost.callbacks.LearningRateLogger()])
    >>> [round(v, 4) for v in history.history["learning_rate"]]   # after steps 1 and 2
    [0.05, 0.025]

    ```

    References:
        - Smith, 2017, "Cyclical Learning Rates for Training Neural Networks",
          https://arxiv.org/abs/1506.01186 (reading the loss against the learning rate)
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)
            step_size = estimated_step_size(self.model.optimizer)
            if step_size is not None:
                logs["step_size"] = step_size
