"""EarlyStopping: Keras parity, relative deltas, smoothing, NaN, thresholds, disk, resume after interruption."""

import itertools
import math

import keras
import numpy as np
import pytest

from kerasboost.callbacks import EarlyStopping


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", jit_compile=True)
    return model


def _drive(callback, values, model=None, key="val_loss", on_epoch=None):
    """Feed `values` as the monitored value of consecutive epochs; return the epochs run."""
    model = model or _model()
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    run = 0
    for epoch, value in enumerate(values):
        if on_epoch is not None:
            on_epoch(model, epoch)
        callback.on_epoch_end(epoch, {key: value})
        run += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return run


SEQUENCES = [
    [1.0, 0.9, 0.95, 0.93, 0.8, 0.85, 0.86, 0.87, 0.88],
    [0.5, 0.5, 0.5, 0.5],
    [3.0, 2.0, 1.0, 0.99, 0.98, 0.97, 1.5, 1.6],
]


@pytest.mark.parametrize("values", SEQUENCES)
@pytest.mark.parametrize("patience,min_delta", [(0, 0.0), (1, 0.0), (2, 0.05), (3, 0.011)])
def test_same_decisions_as_keras(values, patience, min_delta):
    ours = EarlyStopping(patience=patience, min_delta=min_delta)
    theirs = keras.callbacks.EarlyStopping(patience=patience, min_delta=min_delta)
    assert _drive(ours, values) == _drive(theirs, values)
    assert ours.stopped_epoch == theirs.stopped_epoch


def test_relative_min_delta():
    # best 100: an improvement must go below 100 - 0.1 * 100 = 90
    stop = EarlyStopping(monitor="loss", min_delta=0.1, min_delta_mode="relative", patience=1)
    assert _drive(stop, [100.0, 91.0, 89.0], key="loss") == 2
    assert stop.best == 100.0 and stop.best_epoch == 0


def test_ema_smoothing_decides_on_the_smoothed_value():
    # smoothed: 1.0, 0.5*1.2+0.5*1.0=1.1, 0.5*0.7+0.5*1.1=0.9, 0.5*1.0+0.5*0.9=0.95
    stop = EarlyStopping(smoothing="ema", smoothing_factor=0.5, patience=1)
    assert _drive(stop, [1.0, 1.2, 0.7, 1.0]) == 2  # 1.1 is no improvement: stop at epoch 1
    stop = EarlyStopping(smoothing="ema", smoothing_factor=0.5, patience=2)
    # then 1.125, 1.2625: two epochs without improvement after epoch 2
    assert _drive(stop, [1.0, 1.2, 0.7, 1.0, 1.3, 1.4]) == 5
    assert math.isclose(stop.best, 0.9) and stop.best_epoch == 2


def test_window_smoothing():
    # (the driven model has no accuracy metric to declare the direction: mode given)
    stop = EarlyStopping(monitor="val_accuracy", mode="max", smoothing="window", smoothing_window=2, patience=1)
    # window means: 0.5, 0.55, 0.65, 0.6 -> stop at epoch 3 (accuracy: mode max)
    assert _drive(stop, [0.5, 0.6, 0.7, 0.5], key="val_accuracy") == 4
    assert math.isclose(stop.best, 0.65) and stop.best_epoch == 2


def test_nan_is_never_best_and_stops_with_the_best_weights_restored():
    model = _model()
    snapshots = {}

    def set_weights(model, epoch):
        weights = [np.full(w.shape, float(epoch), "float32") for w in model.get_weights()]
        model.set_weights(weights)
        snapshots[epoch] = weights

    stop = EarlyStopping(patience=5, restore_best_weights=True)
    assert _drive(stop, [3.0, 2.0, 1.0, float("nan"), 0.5], model=model, on_epoch=set_weights) == 4
    assert stop.best == 1.0 and stop.best_epoch == 2 and "nan" in stop.stop_reason
    for w, expected in zip(model.get_weights(), snapshots[2]):
        np.testing.assert_array_equal(w, expected)
    # without stopping, a NaN epoch (here the first) is skipped, never taken as best
    stop = EarlyStopping(patience=1, stop_on_non_finite=False)
    assert _drive(stop, [float("nan"), 2.0, 1.0, 1.5]) == 4
    assert stop.best == 1.0 and stop.best_epoch == 2


def test_thresholds():
    stop = EarlyStopping(monitor="val_accuracy", mode="max", patience=10, stopping_threshold=0.9)
    assert _drive(stop, [0.5, 0.8, 0.91, 0.95], key="val_accuracy") == 3
    stop = EarlyStopping(patience=10, divergence_threshold=10.0)
    assert _drive(stop, [5.0, 4.0, 12.0, 1.0]) == 3 and "divergence" in stop.stop_reason


def test_baseline_restarts_patience_only_when_beaten():
    # 0.9 and 0.8 improve without beating 0.5: wait counts 1, 2 but an improving epoch never
    # stops; 0.4 beats it (wait 0); 0.7, 0.6: wait 1, 2 -> stop at epoch 4 (Keras's rule)
    stop = EarlyStopping(patience=2, baseline=0.5, restore_best_weights=True)
    assert _drive(stop, [0.9, 0.8, 0.4, 0.7, 0.6]) == 5
    assert stop.best == 0.4 and stop.best_epoch == 2
    # nothing beats 0.5: 0.9, 0.7 improve (wait 1, 2); 0.8 does not, wait 3 >= 2: stop at epoch 2
    # with the best epoch seen (1) restored
    model, snapshots = _model(), {}

    def set_weights(model, epoch):
        snapshots[epoch] = [np.full(w.shape, float(epoch), "float32") for w in model.get_weights()]
        model.set_weights(snapshots[epoch])

    stop = EarlyStopping(patience=2, baseline=0.5, restore_best_weights=True)
    assert _drive(stop, [0.9, 0.7, 0.8, 0.75, 0.6], model=model, on_epoch=set_weights) == 3
    assert stop.best_epoch == 1
    for w, expected in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize("values", SEQUENCES + [[0.9, 0.8, 0.4, 0.7, 0.6], [0.9, 0.7, 0.8, 0.75, 0.6, 0.55, 0.58]])
@pytest.mark.parametrize("patience,baseline", [(0, 0.5), (1, 0.5), (2, 0.5), (2, 0.95), (3, 0.85)])
def test_same_decisions_and_best_epoch_as_keras_with_a_baseline(values, patience, baseline):
    def weights_of_epoch(model, epoch):
        model.set_weights([np.full(w.shape, float(epoch), "float32") for w in model.get_weights()])

    ours_model, theirs_model = _model(), _model()
    ours = EarlyStopping(patience=patience, baseline=baseline, restore_best_weights=True)
    theirs = keras.callbacks.EarlyStopping(patience=patience, baseline=baseline, restore_best_weights=True)
    assert _drive(ours, values, model=ours_model, on_epoch=weights_of_epoch) == _drive(
        theirs, values, model=theirs_model, on_epoch=weights_of_epoch
    )
    assert ours.stopped_epoch == theirs.stopped_epoch and ours.best_epoch == theirs.best_epoch
    for a, b in zip(ours_model.get_weights(), theirs_model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("restore_to", ["memory", "disk"])
def test_restore_best_weights_after_fit(restore_to):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")

    class Record(keras.callbacks.Callback):
        weights = {}

        def on_epoch_end(self, epoch, logs=None):
            self.weights[epoch] = self.model.get_weights()

    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse", jit_compile=True)  # noisy: overshoots
    stop = EarlyStopping(monitor="loss", patience=3, restore_best_weights=True, restore_to=restore_to)
    record = Record()
    history = model.fit(x, y, epochs=12, batch_size=64, callbacks=[record, stop], verbose=0)
    best = int(np.argmin(history.history["loss"]))
    assert stop.best_epoch == best
    for w, expected in zip(model.get_weights(), record.weights[best]):
        np.testing.assert_array_equal(w, expected)


def test_one_instance_serves_several_fits():
    stop = EarlyStopping(patience=1)
    _drive(stop, [1.0, 2.0, 3.0])
    assert stop.stopped_epoch == 1
    assert _drive(stop, [5.0, 4.0, 3.0, 2.0]) == 4 and stop.best == 2.0


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_resumed_run_ends_like_an_uninterrupted_one(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    xv, yv = rng.normal(size=(32, 3)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")

    def run(tag, interrupt_at=None):
        keras.utils.set_random_seed(3)
        model = _model()
        model.compile(optimizer=keras.optimizers.SGD(0.3), loss="mse", jit_compile=True)
        stop = EarlyStopping(
            patience=3, smoothing="ema", restore_best_weights=True, state_dir=str(tmp_path / tag / "stop")
        )
        callbacks = [keras.callbacks.BackupAndRestore(str(tmp_path / tag / "backup")), stop]
        if interrupt_at is not None:
            callbacks.append(_Interrupt(interrupt_at))
        model.fit(
            x, y, validation_data=(xv, yv), epochs=30, batch_size=16, shuffle=False, callbacks=callbacks, verbose=0
        )
        return model, stop

    reference, ref_stop = run("uninterrupted")
    assert ref_stop.stopped_epoch > 2, "the scenario must stop after the interruption point"
    with pytest.raises(KeyboardInterrupt):
        run("interrupted", interrupt_at=2)
    model, stop = run("interrupted")  # a fresh process would do the same: new model, new callbacks
    assert stop.resumed
    assert (stop.best_epoch, stop.stopped_epoch, stop.best) == (
        ref_stop.best_epoch,
        ref_stop.stopped_epoch,
        ref_stop.best,
    )
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "interrupted" / "stop" / "early_stopping_state.json").exists()  # cleaned up at the end


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"patience": -1}, "patience"),
        ({"mode": "up"}, "mode"),
        ({"min_delta": -0.1}, "min_delta"),
        ({"min_delta_mode": "percent"}, "min_delta_mode"),
        ({"smoothing": "median"}, "smoothing"),
        ({"smoothing_factor": 0.0}, "smoothing_factor"),
        ({"restore_to": "gpu"}, "restore_to"),
        ({"baseline": float("nan")}, "baseline"),
        ({"monitor": ""}, "monitor"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"{name}="):
        EarlyStopping(**kwargs)


@pytest.mark.parametrize("callback_class", ["EarlyStopping", "ReduceLROnPlateau"])
def test_a_corrupt_state_file_is_named_with_what_to_do(tmp_path, callback_class):
    import kerasboost

    callback = getattr(kerasboost.callbacks, callback_class)(monitor="loss", state_dir=str(tmp_path))
    path = tmp_path / callback.state_file
    path.write_text("")  # e.g. a disk that filled up
    model = _model()
    with pytest.raises(ValueError, match="state file") as info:
        model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=[callback])
    assert str(path) in str(info.value) and "Delete it" in str(info.value)


@pytest.mark.parametrize("callback_class", ["EarlyStopping", "ReduceLROnPlateau"])
def test_resuming_without_saved_state_warns(tmp_path, callback_class):
    """A run that resumes at epoch 3 (as BackupAndRestore does) while `state_dir` holds nothing:
    the callback starts afresh, and says so; a run from epoch 0 says nothing."""
    import warnings

    import kerasboost

    def fit(initial_epoch):
        callback = getattr(kerasboost.callbacks, callback_class)(monitor="loss", state_dir=str(tmp_path / "state"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _model().fit(
                np.ones((4, 3)),
                np.ones((4, 1)),
                epochs=initial_epoch + 1,
                initial_epoch=initial_epoch,
                verbose=0,
                callbacks=[callback],
            )
        return [str(w.message) for w in caught if "starts afresh" in str(w.message)]

    assert fit(0) == []
    (message,) = fit(2)
    assert "epoch 3" in message and callback_class in message


def test_a_missing_key_warning_points_at_the_fit_call():
    callback = EarlyStopping(monitor="val_accuracy")
    with pytest.warns(RuntimeWarning, match="val_accuracy") as record:
        _model().fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=[callback])
    assert record[0].filename == __file__


def _regression(metric):
    """A linear regression whose fit improves every epoch, compiled with `metric`."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    # behaviour only (which way the monitor goes): no XLA compile of its nine fits
    model.compile(keras.optimizers.SGD(0.02), "mse", metrics=[metric], jit_compile=False)
    return model, x, y


def _epochs_run(callback, metric):
    model, x, y = _regression(metric)
    history = model.fit(x, y, validation_data=(x, y), epochs=8, batch_size=64, verbose=0, callbacks=[callback])
    return len(history.history["loss"]), history


def test_auto_mode_takes_the_metrics_own_direction_whatever_its_name():
    # R2 rises as the fit improves; its name suggests an error. Keras's own EarlyStopping reads
    # the metric's direction and runs all 8 epochs; so must this one (it once minimized it by name)
    theirs, history = _epochs_run(
        keras.callbacks.EarlyStopping("val_error_rate", patience=1), keras.metrics.R2Score(name="error_rate")
    )
    scores = history.history["val_error_rate"]
    assert all(b > a for a, b in itertools.pairwise(scores)), scores  # the premise: it improves every epoch
    ours, _ = _epochs_run(EarlyStopping("val_error_rate", patience=1), keras.metrics.R2Score(name="error_rate"))
    assert ours == theirs == 8
    # a name with no hint at all: an AUC-like "quality" (up) and an error called "score" (down)
    stop = EarlyStopping("val_quality", patience=1)
    _epochs_run(stop, keras.metrics.R2Score(name="quality"))
    assert stop._direction() == "max"
    stop = EarlyStopping("val_score", patience=1)
    assert _epochs_run(stop, keras.metrics.MeanSquaredError(name="score"))[0] == 8
    assert stop._direction() == "min"


def test_auto_mode_without_a_declared_direction_asks_for_mode():
    def closeness(y_true, y_pred):  # a metric given as a function declares no direction
        return -keras.ops.mean(keras.ops.abs(y_true - y_pred))

    with pytest.raises(ValueError, match=r"`val_closeness`.*mode=\"max\"") as info:
        _epochs_run(EarlyStopping("val_closeness", patience=1), closeness)
    assert "EarlyStopping" in str(info.value)
    ran, history = _epochs_run(EarlyStopping("val_closeness", patience=1, mode="max"), closeness)
    assert ran == 8 and history.history["val_closeness"][-1] > history.history["val_closeness"][0]
    # the same rule for ReduceLROnPlateau (one base class): the direction, then the error
    from kerasboost.callbacks import ReduceLROnPlateau

    reduce = ReduceLROnPlateau("val_error_rate", patience=1)
    _epochs_run(reduce, keras.metrics.R2Score(name="error_rate"))
    assert reduce._direction() == "max"
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        _epochs_run(ReduceLROnPlateau("val_closeness", patience=1), closeness)
