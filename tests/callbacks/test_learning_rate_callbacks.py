"""LearningRateFinder, LearningRateLogger and TimeStopping."""

import math

import keras
import numpy as np
import pytest

from kerasboost.callbacks import LearningRateFinder, LearningRateLogger, TimeStopping
from kerasboost.callbacks.learning_rate_finder import suggestions
from kerasboost.optimizers import Lookahead


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _problem(n=640, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x @ rng.normal(size=(8, 1))).astype("float32")


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", jit_compile=True)
    return model


def test_finder_ramps_exponentially_recovers_batch_losses_and_restores_everything():
    x, y = _problem()
    model = _model(keras.optimizers.Adam(1e-3))
    model.fit(x[:64], y[:64], batch_size=16, verbose=0)  # optimizer state that must survive
    weights = model.get_weights()
    state = [_np(v).copy() for v in model.optimizer.variables]

    class BatchLosses(keras.callbacks.Callback):
        """Reference per-batch losses: evaluate each batch with the weights before its step."""

        def on_train_batch_begin(self, batch, logs=None):
            start = (batch * 16) % len(x)
            self.pending = float(
                np.mean(_np(keras.losses.mean_squared_error(y[start : start + 16], self.model(x[start : start + 16]))))
            )

        def on_train_batch_end(self, batch, logs=None):
            self.values = getattr(self, "values", []) + [self.pending]

    finder = LearningRateFinder(1e-4, 1.0, num_steps=30, smoothing=0.0, divergence_factor=1e9)
    reference = BatchLosses()
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, callbacks=[reference, finder], verbose=0)
    assert len(finder.learning_rates) == 30
    np.testing.assert_allclose(finder.learning_rates, 1e-4 * (1e4) ** (np.arange(30) / 29), rtol=1e-12)
    # the running mean in logs is undone exactly (smoothing=0: smoothed == raw)
    np.testing.assert_allclose(finder.losses, reference.values[:30], rtol=2e-3, atol=1e-5)
    np.testing.assert_allclose(finder.smoothed_losses, finder.losses)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    for v, s in zip(model.optimizer.variables, state):
        np.testing.assert_array_equal(_np(v), s)
    assert math.isclose(float(_np(model.optimizer.learning_rate)), 1e-3, rel_tol=1e-6)


def test_finder_stops_on_divergence_and_suggests_sensible_rates(tmp_path):
    x, y = _problem(n=3200)
    model = _model(Lookahead(keras.optimizers.SGD(0.01)))
    finder = LearningRateFinder(1e-5, 10.0, num_steps=200)
    model.fit(x, y, batch_size=16, epochs=1, callbacks=[finder], verbose=0)
    assert 20 < len(finder.smoothed_losses) < 200  # SGD diverges well before lr = 10
    found = finder.suggestions()
    assert 1e-4 < found["minimum/10"] < 1.0 and 1e-5 <= found["steep"] <= found["minimum/10"] * 10
    finder.plot(str(tmp_path / "lr.png"))
    assert (tmp_path / "lr.png").stat().st_size > 1000


def test_suggestions_on_a_constructed_curve():
    lrs = np.logspace(-5, 0, 11)
    losses = [5.0, 5.0, 4.9, 4.0, 2.0, 1.0, 0.8, 0.7, 0.9, 3.0, 9.0]
    found = suggestions(lrs, losses)
    assert found["minimum/10"] == pytest.approx(lrs[7] / 10)
    assert found["steep"] == pytest.approx(lrs[4])  # the largest drop per log-lr
    # half of the descent from 5.0 to 0.7 is 2.85: first reached at index 4 (2.0)
    assert found["valley"] == pytest.approx(lrs[4])


def test_finder_rejects_schedules_and_bad_arguments():
    model = _model(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(ValueError, match="learning_rate"):
        model.fit(*_problem(64), callbacks=[LearningRateFinder()], verbose=0)
    with pytest.raises(ValueError, match="max_lr=0.001"):
        LearningRateFinder(min_lr=0.01, max_lr=0.001)
    with pytest.raises(ValueError, match="num_steps=2"):
        LearningRateFinder(num_steps=2)


def test_logger_reads_schedules_through_wrappers():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    model = _model(keras.optimizers.LossScaleOptimizer(Lookahead(keras.optimizers.SGD(schedule))))
    history = model.fit(*_problem(64), batch_size=16, epochs=2, callbacks=[LearningRateLogger()], verbose=0)
    np.testing.assert_allclose(history.history["learning_rate"], [0.05, 0.025], rtol=1e-6)


def test_time_stopping_stops_within_a_batch():
    stop = TimeStopping(seconds=1e-9)
    model = _model("sgd")
    history = model.fit(*_problem(64), batch_size=16, epochs=5, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 1 and stop.stopped_epoch == 0
    stop = TimeStopping(seconds=3600)
    history = model.fit(*_problem(64), batch_size=16, epochs=3, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 3 and stop.stopped_epoch is None
    with pytest.raises(ValueError, match="seconds=0"):
        TimeStopping(0)


def test_time_stopping_leaves_batch_ends_asynchronous():
    """Its batch-end hook is `async_safe`: where Keras can dispatch batch ends on a background
    thread (JAX), the callback does not force every step to wait for the host, unlike a plain
    callback with a batch-end hook."""

    class Plain(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    model = _model("sgd")
    threaded = keras.callbacks.CallbackList([], model=model)._async_train  # False on TensorFlow
    assert keras.callbacks.CallbackList([TimeStopping()], model=model)._async_train == threaded
    assert keras.callbacks.CallbackList([Plain()], model=model)._async_train is False
    assert threaded == (keras.backend.backend() == "jax")
    stop = TimeStopping(seconds=1e-9)
    history = model.fit(*_problem(64), batch_size=16, epochs=5, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 1 and stop.stopped_epoch == 0


def test_time_stopping_never_syncs_the_jax_state_from_its_batch_hook():
    """The hook may run on Keras's background thread while the next step runs: it must not touch
    `callback.model`, which on JAX copies the trainer's (possibly already donated) buffers into the
    model (seen as 'Buffer has been deleted or donated' under load)."""
    model = _model("sgd")
    stop = TimeStopping(seconds=1e-9)
    stop.set_model(model)
    stop.on_train_begin()

    def forbidden():
        raise AssertionError("jax_state_sync called from the batch hook")

    model.jax_state_sync = forbidden  # only the JAX trainer has it; `Callback.model` calls it there
    stop.on_train_batch_end(0)
    assert model.stop_training is True and stop.stopped_epoch == 0
