"""Planted broken objects for the harness self-test (each breaks one rule).

A module of its own so that the fresh process of `check_saving` can import it.
"""

import keras
import numpy as np
from keras import ops

PLANTED = "kerasboost_planted"


@keras.saving.register_keras_serializable(PLANTED)
class DropsArg(keras.optimizers.schedules.LearningRateSchedule):
    """get_config forgets `decay`."""

    def __init__(self, rate, decay=0.5):
        self.rate, self.decay = rate, decay

    def __call__(self, step):
        return self.rate * ops.power(self.decay, ops.cast(step, "float32"))

    def get_config(self):
        return {"rate": self.rate}


@keras.saving.register_keras_serializable(PLANTED)
class NumpyInCall(keras.layers.Layer):
    """Calls NumPy on the input tensor inside `call`."""

    def call(self, x):
        return x * float(np.mean(np.asarray(x)))


@keras.saving.register_keras_serializable(PLANTED)
class PythonBranch(keras.optimizers.schedules.LearningRateSchedule):
    """Branches in Python on the step tensor."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, step):
        if step > 5:
            return ops.convert_to_tensor(self.rate / 10, "float32")
        return ops.convert_to_tensor(self.rate, "float32")

    def get_config(self):
        return {"rate": self.rate}


class Unregistered(keras.optimizers.schedules.LearningRateSchedule):
    """A correct schedule that was never registered."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, step):
        return ops.convert_to_tensor(self.rate, "float32") + 0.0 * ops.cast(step, "float32")

    def get_config(self):
        return {"rate": self.rate}


@keras.saving.register_keras_serializable(PLANTED)
class AcceptsAnything(Unregistered):
    """Validates nothing."""


@keras.saving.register_keras_serializable(PLANTED)
class VagueError(Unregistered):
    """Rejects bad values without saying which argument."""

    def __init__(self, rate):
        if rate < 0:
            raise ValueError("invalid")
        super().__init__(rate)


@keras.saving.register_keras_serializable(PLANTED)
class Float16Schedule(Unregistered):
    """Returns the learning rate in float16."""

    def __call__(self, step):
        return ops.cast(super().__call__(step), "float16")


@keras.saving.register_keras_serializable(PLANTED)
class UntrackedState(keras.layers.Layer):
    """Keeps a random weight outside any Keras variable: lost on save."""

    def build(self, input_shape):
        self.scale = np.random.default_rng().normal(size=input_shape[-1:]).astype("float32")

    def call(self, x):
        return x * self.scale


@keras.saving.register_keras_serializable(PLANTED)
class NoJit(keras.layers.Layer):
    """Declares itself unable to run under XLA: Keras would fall back silently."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_jit = False

    def call(self, x):
        return x * 2.0
