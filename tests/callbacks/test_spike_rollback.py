"""SpikeRollback: planted loss spikes are undone and the run ends where the clean run ends."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kerasboost.callbacks import LearningRateLogger, SpikeRollback

BATCH = 32
POISONED = (30, 200, 420)  # global steps (0-based) whose inputs are multiplied by 1e4


def _digits():
    x, y = load_digits(return_X_y=True)
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    n = (len(x) - 360) // BATCH * BATCH
    return x[:n], y[:n], x[-360:], y[-360:]


def _batches(x, y, epochs, poison):
    """The training batches of every epoch in order, those at `POISONED` steps x 1e4 when `poison`."""
    step = 0
    for _ in range(epochs):
        for b in range(len(x) // BATCH):
            xb, yb = x[b * BATCH : (b + 1) * BATCH], y[b * BATCH : (b + 1) * BATCH]
            yield (xb * 1e4 if poison and step in POISONED else xb), yb
            step += 1


def _run(poison, callbacks, epochs=15, steps_per_execution=1, jit_compile=True):
    """Softmax regression with L2 on digits (convex: the clean optimum is one point), Adam under a
    cosine decay; the final validation loss."""
    x, y, x_val, y_val = _digits()
    steps = len(x) // BATCH
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(10, kernel_regularizer=keras.regularizers.L2(1e-3))]
    )
    model.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, epochs * steps)),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    history = model.fit(
        _batches(x, y, epochs, poison),
        steps_per_epoch=steps,
        epochs=epochs,
        shuffle=False,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=0,
    )
    assert model.jit_compile is jit_compile
    return history.history


def test_planted_spikes_are_rolled_back_and_the_run_ends_as_the_clean_one(capsys):
    clean = _run(False, [])["val_loss"][-1]
    spoiled = _run(True, [])["val_loss"][-1]
    rollback = SpikeRollback(min_history=5, snapshot_every=10)
    history = _run(True, [rollback])
    # without the callback three bad batches (Adam's second moments blown up by 1e8) ruin the run
    assert not np.isfinite(spoiled) or spoiled > 2.0 * clean
    # with it, each is undone where it happened (the loss of step k is reported after step k)
    assert [r["step"] - 1 for r in rollback.rollbacks] == list(POISONED)
    assert all(r["loss"] > 100 * r["threshold"] / rollback.factor for r in rollback.rollbacks)
    assert history["rollbacks"][-1] == 3
    assert history["val_loss"][-1] == pytest.approx(clean, rel=0.02)
    # the logged epoch losses leave the spikes out (the metrics were restored too)
    assert max(history["loss"]) < 10.0
    out = capsys.readouterr().out
    assert out.count("SpikeRollback: epoch") == 3 and "restored the state of step" in out


@pytest.mark.slow
@pytest.mark.parametrize("steps_per_execution", [1, 5])
def test_planted_spikes_with_copies_every_step_on_disk_and_several_steps_per_execution(tmp_path, steps_per_execution):
    clean = _run(False, [], steps_per_execution=steps_per_execution)["val_loss"][-1]
    rollback = SpikeRollback(min_history=5, snapshot_every=1, directory=tmp_path / "copies", verbose=False)
    history = _run(True, [rollback], steps_per_execution=steps_per_execution)
    # seen at the end of the execution holding the bad batch
    expected = [(s // steps_per_execution + 1) * steps_per_execution for s in POISONED]
    assert [r["step"] for r in rollback.rollbacks] == expected
    assert history["val_loss"][-1] == pytest.approx(clean, rel=0.02)
    assert os.listdir(tmp_path / "copies") == []  # the copies are removed when fit ends


class _NanAt(keras.callbacks.Callback):
    """Set the first kernel to NaN after batch `step` of the first epoch (a blow-up of the weights)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 0 and batch == self.step:
            kernel = self.model.layers[0].kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def _small_model(optimizer):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", jit_compile=True)
    return model


def _xy(n=64):
    x = np.random.default_rng(1).normal(size=(n, 4)).astype("float32")
    return x, x @ np.arange(1, 5, dtype="float32")[:, None]


def test_non_finite_losses_roll_back_from_the_first_step_and_restore_the_good_weights():
    x, y = _xy()
    model = _small_model(keras.optimizers.SGD(0.01))
    rollback = SpikeRollback(snapshot_every=1, verbose=False)  # min_history 20: only non-finite spikes
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[_NanAt(2), rollback])
    assert [(r["epoch"], r["batch"]) for r in rollback.rollbacks] == [(0, 3)]
    assert not np.isfinite(rollback.rollbacks[0]["loss"])
    # the weights came back finite and training went on; the epoch's loss left the NaN out
    assert np.isfinite(keras.ops.convert_to_numpy(model.layers[0].kernel)).all()
    assert np.isfinite(history.history["loss"]).all()


def test_a_run_spiking_at_every_attempt_stops_after_max_rollbacks():
    x, y = _xy()
    model = _small_model(keras.optimizers.SGD(0.01))

    class NanEveryStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch >= 2:
                kernel = self.model.layers[0].kernel
                kernel.assign(np.full(kernel.shape, np.nan, "float32"))

    rollback = SpikeRollback(snapshot_every=1, max_rollbacks=2, verbose=False)
    with pytest.warns(RuntimeWarning, match="rollbacks in a row"):
        model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[NanEveryStep(), rollback])
    assert len(rollback.rollbacks) == 2
    assert np.isfinite(keras.ops.convert_to_numpy(model.layers[0].kernel)).all()


def test_the_learning_rate_is_lowered_for_the_cooldown_after_a_rollback():
    x, y = _xy()
    model = _small_model(keras.optimizers.SGD(0.01))
    rates = []

    class Rates(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    rollback = SpikeRollback(snapshot_every=1, learning_rate_factor=0.1, cooldown_steps=3, verbose=False)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[_NanAt(2), rollback, Rates()])
    # the rollback after step 4 (batch 3) lowers the rate for the 3 steps after it
    np.testing.assert_allclose(rates, [0.01] * 3 + [0.001] * 3 + [0.01] * 2, rtol=1e-6)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[LearningRateLogger()])
    assert history.history["learning_rate"] == [pytest.approx(0.01)]  # nothing left behind


def test_bad_arguments_name_the_argument():
    for kwargs, name in [
        ({"factor": 1.0}, "factor"),
        ({"window": 0}, "window"),
        ({"min_history": 0}, "min_history"),
        ({"window": 10, "min_history": 20}, "min_history"),
        ({"snapshot_every": 0}, "snapshot_every"),
        ({"learning_rate_factor": 0.0}, "learning_rate_factor"),
        ({"learning_rate_factor": 1.5}, "learning_rate_factor"),
        ({"cooldown_steps": -1}, "cooldown_steps"),
        ({"max_rollbacks": -1}, "max_rollbacks"),
        ({"directory": 3}, "directory"),
        ({"verbose": "yes"}, "verbose"),
    ]:
        with pytest.raises(ValueError, match=name):
            SpikeRollback(**kwargs)


MIRRORED = textwrap.dedent(
    """
    import os, sys
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[1])
    import keras
    from tests.callbacks import test_spike_rollback as t
    from kerasboost.callbacks import SpikeRollback

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        # (XLA cannot compile a step whose variables live on two devices: Keras's own fail too)
        # (10 epochs, 440 steps: every poisoned batch)
        clean = t._run(False, [], epochs=10, jit_compile=False)["val_loss"][-1]
        rollback = SpikeRollback(min_history=5, snapshot_every=10, verbose=False)
        history = t._run(True, [rollback], epochs=10, jit_compile=False)
    print("RESULT", clean, history["val_loss"][-1], [r["step"] for r in rollback.rollbacks])
    """
)


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute is TensorFlow's")
def test_planted_spikes_under_mirrored_strategy(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, str(script), root], capture_output=True, text=True, timeout=600)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT")]
    assert line, done.stderr[-3000:]
    _, clean, final, steps = line[0].split(" ", 3)
    assert float(final) == pytest.approx(float(clean), rel=0.02)
    # three rollbacks (the steps are earlier than on one device: Keras's generator adapter drops
    # the batches it peeks at to learn the data's shapes under a strategy)
    assert len(steps.strip("[]").split(",")) == 3
