"""GradientStatistics: exact values inside the compiled step, alerts naming layers, no trace in saved state."""

import json
import warnings

import keras
import numpy as np
import pytest

from kerasboost.callbacks import GradientStatistics
from kerasboost.optimizers import SkipNonFinite


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _mlp(depth=3, activation="tanh"):
    layers = [keras.Input((5,))]
    layers += [keras.layers.Dense(6, activation=activation, name=f"hidden{i}") for i in range(depth)]
    layers += [keras.layers.Dense(1, name="out")]
    return keras.Sequential(layers, name="mlp")


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _fit(model, callback, epochs=1, batch_size=8, **compile_kwargs):
    compile_kwargs.setdefault("optimizer", keras.optimizers.SGD(0.1))
    model.compile(loss="mse", jit_compile=True, **compile_kwargs)
    assert model.jit_compile is True
    x, y = _data()
    return model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, callbacks=[callback], verbose=0)


def test_sgd_update_over_learning_rate_equals_the_recorded_norm_and_a_direct_gradient():
    lr = 0.1
    model = _mlp()
    x, y = _data()
    initial = model.get_weights()
    stats = GradientStatistics(read_every_n_steps=3)
    _fit(model, stats, optimizer=keras.optimizers.SGD(lr))
    assert len(stats.records) == 4 and [r["step"] for r in stats.records] == [0, 1, 2, 3]
    first = stats.records[0]
    # plain SGD: ||dw|| = lr * ||g|| for every layer
    for layer in stats.layers:
        weight_norm = first[f"update_ratio/{layer}"]  # ||dw|| / ||w||
        assert weight_norm > 0
    # the first step's gradient, computed directly from the initial weights
    reference = _mlp()
    reference.set_weights(initial)
    loss_fn = keras.losses.MeanSquaredError()
    grads = _direct_gradients(reference, loss_fn, x[:8], y[:8])
    for layer, (gk, gb) in zip(stats.layers, zip(grads[::2], grads[1::2])):
        expected = np.sqrt((gk**2).sum() + (gb**2).sum())
        np.testing.assert_allclose(first[f"grad_norm/{layer}"], expected, rtol=1e-4)
    total = np.sqrt(sum((g**2).sum() for g in grads))
    np.testing.assert_allclose(first["grad_norm"], total, rtol=1e-4)
    # the update equals lr * gradient: ratio * ||w|| / lr == grad norm, layer by layer
    w_norms = [np.sqrt(sum((w**2).sum() for w in initial[2 * i : 2 * i + 2])) for i in range(len(stats.layers))]
    for layer, w_norm in zip(stats.layers, w_norms):
        np.testing.assert_allclose(first[f"update_ratio/{layer}"] * w_norm / lr, first[f"grad_norm/{layer}"], rtol=1e-4)


@pytest.mark.parametrize("every_n_steps", [1, 2])  # one pass per variable / gradient and update rows apart
def test_every_statistic_of_variables_cut_into_slices_matches_numpy(every_n_steps):
    # variables of 9 * 13 = 117, 13 * 70 = 910 and 70 entries: cut into 8 slices and a tail inside
    # the step (kerasboost.utils.reductions); dead ReLU units make exact zeros in the gradient
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 9)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((9,)),
            keras.layers.Dense(13, activation="relu", name="h0"),
            keras.layers.Dense(70, activation="relu", name="h1"),
            keras.layers.Dense(1, name="out"),
        ]
    )
    bias = np.zeros(70, "float32")
    bias[::3] = -100.0  # 24 units never active
    model.get_layer("h1").bias.assign(bias)
    initial = model.get_weights()
    lr = 0.05
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse", jit_compile=True)
    stats = GradientStatistics(every_n_steps=every_n_steps, read_every_n_steps=2)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, callbacks=[stats], verbose=0)
    first = stats.records[0]
    reference = keras.Sequential(
        [keras.Input((9,)), *(keras.layers.Dense(l.units, activation=l.activation) for l in model.layers)]
    )
    reference.set_weights(initial)
    grads = _direct_gradients(reference, keras.losses.MeanSquaredError(), x, y)
    for i, layer in enumerate(stats.layers):
        g = np.concatenate([grads[2 * i].ravel(), grads[2 * i + 1].ravel()]).astype("float64")
        w = np.concatenate([initial[2 * i].ravel(), initial[2 * i + 1].ravel()]).astype("float64")
        np.testing.assert_allclose(first[f"grad_norm/{layer}"], np.linalg.norm(g), rtol=1e-5)
        np.testing.assert_allclose(first[f"grad_max/{layer}"], np.abs(g).max(), rtol=1e-6)
        assert first[f"zero_fraction/{layer}"] == pytest.approx(np.mean(g == 0), abs=1e-12)
        np.testing.assert_allclose(
            first[f"update_ratio/{layer}"], lr * np.linalg.norm(g) / np.linalg.norm(w), rtol=1e-4
        )
        assert first[f"nonfinite/{layer}"] == 0
    assert first[f"zero_fraction/{stats.layers[1]}"] >= 24 * 14 / 980  # the dead units' kernel rows and biases


def _direct_gradients(model, loss_fn, x, y):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        return [_np(g) for g in tape.gradient(loss, model.trainable_variables)]
    import jax

    def loss(values):
        out, _ = model.stateless_call(values, [], x)
        return loss_fn(y, out)

    return [np.asarray(g) for g in jax.grad(loss)([v.value for v in model.trainable_variables])]


def test_epoch_logs_history_and_reuse_across_fits():
    model = _mlp()
    stats = GradientStatistics(layer_logs=True)
    history = _fit(model, stats, epochs=2)
    for key in ("grad_norm", "update_ratio", "grad_nonfinite", "grad_alert", "grad_norm/mlp/hidden0"):
        assert len(history.history[key]) == 2, key
    quiet = _fit(_mlp(), GradientStatistics(), epochs=1)  # the default: global keys only
    assert {k for k in quiet.history if k.startswith("grad_")} == {"grad_norm", "grad_nonfinite", "grad_alert"}
    expected = np.mean([r["grad_norm"] for r in stats.records if r["epoch"] == 1])
    np.testing.assert_allclose(history.history["grad_norm"][1], expected, rtol=1e-6)
    n_vars = len(model.optimizer.variables)
    history = model.fit(*_data(), batch_size=8, epochs=1, callbacks=[stats], verbose=0)
    assert len(stats.records) == 4 and stats.records[0]["step"] == 8  # state reset, steps continue
    assert len(model.optimizer.variables) == n_vars  # buffers removed after fit


def test_every_n_steps_and_steps_per_execution():
    model = _mlp()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True, steps_per_execution=3)
    stats = GradientStatistics(every_n_steps=2, read_every_n_steps=4)
    x, y = _data(64)
    model.fit(x, y, batch_size=4, epochs=1, callbacks=[stats], verbose=0)
    assert [r["step"] for r in stats.records] == list(range(0, 16, 2))


def test_reads_every_n_steps_mid_epoch_without_a_batch_end_hook():
    """Reads happen between steps every `read_every_n_steps` (4 of the 16 steps here), and the
    callback leaves `on_train_batch_end` alone so that Keras can dispatch batch ends
    asynchronously (JAX): a batch-end hook makes every step wait for the host."""
    assert GradientStatistics.on_train_batch_end is keras.callbacks.Callback.on_train_batch_end
    stats = GradientStatistics(read_every_n_steps=4)
    counts = []
    read = stats._read
    stats._read = lambda: (read(), counts.append(len(stats.records)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no record overwritten before its read
        _fit(_mlp(), stats, batch_size=2)
    assert counts[:3] == [4, 8, 12] and set(counts[3:]) == {16}  # three mid-epoch reads, then epoch / train end
    assert [r["step"] for r in stats.records] == list(range(16))


def test_nonfinite_gradient_is_reported_with_the_layer_name():
    class NaNGrad(keras.layers.Layer):
        """Forward is finite (adds sqrt(0)); the gradient of its variable is NaN."""

        def build(self, shape):
            self.v = self.add_weight(shape=(), initializer="ones", name="v")

        def call(self, x):
            return x + keras.ops.sqrt(self.v - self.v)

    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, name="fine"),
            NaNGrad(name="broken"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    stats = GradientStatistics()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # SkipNonFinite keeps the weights finite, so every step has exactly one NaN entry
        history = _fit(model, stats, optimizer=SkipNonFinite(keras.optimizers.SGD(0.1)))
    assert history.history["grad_alert"] == [1.0]
    assert history.history["grad_nonfinite"][0] == 4.0  # one NaN entry per step, 4 steps
    alert = next(a for a in stats.alerts if a["kind"] == "nonfinite")
    assert [layer.rsplit("/", 1)[-1] for layer in alert["layers"]] == ["broken"]
    assert len(alert["steps"]) == 4  # SkipNonFinite does not advance `iterations` on a skipped step
    message = " ".join(str(w.message) for w in caught)
    assert "broken" in message and "SkipNonFinite" in message


def test_vanishing_gradients_in_a_deep_sigmoid_net_name_the_first_layer():
    model = _mlp(depth=12, activation="sigmoid")
    stats = GradientStatistics(vanishing_ratio=0.01)
    with pytest.warns(RuntimeWarning, match="vanishing"):
        history = _fit(model, stats)
    assert history.history["grad_alert"] == [1.0]
    alert = next(a for a in stats.alerts if a["kind"] == "vanishing_gradients")
    assert alert["layers"][0].endswith("hidden0") and alert["first_to_last_epoch_mean"] < 0.01


def test_loss_scale_optimizer_records_unscaled_gradients():
    x, y = _data()
    plain, scaled = _mlp(), _mlp()
    scaled.set_weights(plain.get_weights())
    a, b = GradientStatistics(), GradientStatistics()
    _fit(plain, a, optimizer=keras.optimizers.SGD(0.1))
    _fit(scaled, b, optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=1024.0))
    np.testing.assert_allclose([r["grad_norm"] for r in b.records], [r["grad_norm"] for r in a.records], rtol=1e-4)


def test_saved_optimizer_state_is_the_same_with_and_without_the_callback(tmp_path):
    model = _mlp()
    _fit(model, GradientStatistics(), optimizer=keras.optimizers.Adam(0.01))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_checkpoint_during_fit_excludes_the_buffers(tmp_path):
    model = _mlp()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "ckpt.keras"))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", jit_compile=True)
    model.fit(*_data(), batch_size=8, epochs=1, callbacks=[GradientStatistics(), checkpoint], verbose=0)
    loaded = keras.saving.load_model(tmp_path / "ckpt.keras")
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_files_and_plot(tmp_path, suffix):
    path = tmp_path / f"grads{suffix}"
    stats = GradientStatistics(path=str(path))
    _fit(_mlp(), stats)
    text = path.read_text().strip().splitlines()
    if suffix == ".jsonl":
        assert [json.loads(line)["step"] for line in text] == [0, 1, 2, 3]
    else:
        assert text[0].startswith("step,epoch,grad_norm") and len(text) == 5
    fig = stats.plot_gradient_flow(str(tmp_path / "flow.png"))
    assert (tmp_path / "flow.png").stat().st_size > 1000
    main, traces = fig.axes[:2]  # by depth at steps 0, 2 and 3; every layer over the 4 steps
    assert [len(line.get_xdata()) for line in main.lines] == [len(stats.layers)] * 3
    assert len(traces.lines) == len(stats.layers) and all(len(line.get_xdata()) == 4 for line in traces.lines)
    assert list(stats.to_dataframe()["step"]) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"every_n_steps": 0}, "every_n_steps"),
        ({"every_n_steps": 5, "read_every_n_steps": 2}, "read_every_n_steps"),
        ({"path": "grads.txt"}, "path"),
        ({"vanishing_ratio": 1.0}, "vanishing_ratio"),
        ({"exploding_threshold": 0.0}, "exploding_threshold"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"{name}="):
        GradientStatistics(**kwargs)


def test_a_wrapper_and_the_layer_it_wraps_are_one_layer():
    """WeightNormalization's `g` and its Conv2D's kernel and bias: one layer, under the wrapper's
    name, whose norm is that of all three gradients together; nested models are opened."""
    from kerasboost.layers import WeightNormalization

    inner = keras.Sequential(
        [keras.Input((6, 6, 2)), WeightNormalization(keras.layers.Conv2D(3, 3), name="wn")], name="inner"
    )
    model = keras.Sequential(
        [keras.Input((6, 6, 2)), inner, keras.layers.Flatten(), keras.layers.Dense(1, name="head")]
    )
    stats = GradientStatistics()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    x = np.random.default_rng(0).normal(size=(8, 6, 6, 2)).astype("float32")
    model.fit(x, np.ones((8, 1)), batch_size=8, epochs=1, callbacks=[stats], verbose=0)
    assert [name.rsplit("/", 1)[-1] for name in stats.layers] == ["wn", "head"]
    record = stats.records[0]
    assert set(k for k in record if k.startswith("grad_norm/")) == {f"grad_norm/{n}" for n in stats.layers}


# ---------------------------------------------------------------------------------- histograms


def _layer_values(model):
    """Each layer's variables (kernel and bias) as one flat array, by the layer's path."""
    return {layer.path: np.concatenate([_np(v).ravel() for v in layer.trainable_variables]) for layer in model.layers}


def test_weight_histograms_equal_numpy_histograms_of_each_layer():
    model = _mlp(depth=2)
    stats = GradientStatistics(
        read_every_n_steps=4, histograms=["weights"], histogram_every_n_steps=1, histogram_bins=7
    )
    _fit(model, stats)  # 4 steps, one histogram each
    assert sorted({r["step"] for r in stats.histogram_records}) == [0, 1, 2, 3]
    last = {r["layer"]: r for r in stats.histogram_records if r["step"] == 3}  # the weights after the last step
    assert set(last) == set(stats.layers)
    for layer, values in _layer_values(model).items():
        counts, edges = np.histogram(values, bins=7, range=(values.min(), values.max()))
        np.testing.assert_allclose(last[layer]["edges"], edges, rtol=1e-6, atol=1e-6 * np.ptp(values))
        # an entry on an inner edge may fall either side in float32 (none do here)
        np.testing.assert_array_equal(last[layer]["counts"], counts)


def test_gradient_and_update_histograms_mirror_each_other_under_sgd_with_rate_one():
    # SGD(1): update = -gradient, so the update histogram is the gradient's, reversed
    model = _mlp(depth=2)
    stats = GradientStatistics(
        read_every_n_steps=4, histograms=("gradients", "updates"), histogram_every_n_steps=2, histogram_bins=6
    )
    _fit(model, stats, optimizer=keras.optimizers.SGD(1.0))
    assert sorted({r["step"] for r in stats.histogram_records}) == [0, 2]  # every 2nd step only
    by = {(r["kind"], r["step"], r["layer"]): r for r in stats.histogram_records}
    for step in (0, 2):
        for layer in stats.layers:
            g, u = by[("gradients", step, layer)], by[("updates", step, layer)]
            np.testing.assert_allclose(u["edges"], -g["edges"][::-1], rtol=1e-5, atol=1e-7)
            assert u["counts"].sum() == g["counts"].sum() == _layer_values(model)[layer].size
            # the gradient norm recorded for the step lies within the histogram's range times the size
            norm = next(r for r in stats.records if r["step"] == step)[f"grad_norm/{layer}"]
            assert norm <= max(abs(g["edges"][0]), abs(g["edges"][-1])) * np.sqrt(g["counts"].sum()) * (1 + 1e-5)


def test_histograms_go_to_tensorboard(tmp_path):
    tf = pytest.importorskip("tensorflow")
    model = _mlp(depth=1)
    stats = GradientStatistics(read_every_n_steps=2, histograms=True, histogram_bins=4, log_dir=str(tmp_path))
    _fit(model, stats)
    tensors = {}
    for path in tmp_path.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "histograms" and value.tag.startswith("gradients/"):
                    tensors[(value.tag, event.step)] = tf.make_ndarray(value.tensor)
    assert sorted(tensors) == [(f"gradients/{layer}", s) for layer in stats.layers for s in (0, 2)]
    record = next(r for r in stats.histogram_records if r["step"] == 2 and r["layer"] == stats.layers[0])
    np.testing.assert_allclose(tensors[(f"gradients/{stats.layers[0]}", 2)][:, 2], record["counts"])
    np.testing.assert_allclose(tensors[(f"gradients/{stats.layers[0]}", 2)][:, 0], record["edges"][:-1])


def test_histogram_arguments_are_checked():
    for kwargs, name in [
        ({"histograms": "gradients"}, "histograms"),
        ({"histograms": ["gradients", "gradients"]}, "histograms"),
        ({"histograms": ["activations"]}, "histograms"),
        ({"histograms": []}, "histograms"),
        ({"histogram_every_n_steps": 0}, "histogram_every_n_steps"),
        ({"histogram_bins": 1}, "histogram_bins"),
    ]:
        with pytest.raises(ValueError, match=name):
            GradientStatistics(**kwargs)
