"""kerasboost.transfer: freezing, layer-wise learning rates, gradual unfreezing."""

import keras
import numpy as np
import pytest

from kerasboost.optimizers import LayerwiseLearningRate, Lookahead
from kerasboost.transfer import GradualUnfreezing, freeze, layerwise_lr_decay, leaf_layers, trainable_summary, unfreeze
from kerasboost.transfer.gradual_unfreezing import rebuild_optimizer


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _pretrained_and_head():
    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, name="b1"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Activation("relu"),
            keras.layers.Dense(8, activation="relu", name="b2"),
        ],
        name="base",
    )
    return keras.Sequential([base, keras.layers.Dense(3, name="head")], name="net")


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32") * 3 + 1  # far from BN's initial statistics
    return x, rng.normal(size=(n, 3)).astype("float32")


def test_frozen_layers_and_batchnorm_statistics_stay_bit_identical_through_fit():
    model = _pretrained_and_head()
    summary = freeze(model, until="base")
    assert [r["trainable"] for r in summary.rows] == [False, False, False, False, True]
    assert summary.trainable_params == 8 * 3 + 3
    assert summary.non_trainable_params == (6 * 8 + 8) + 4 * 8 + (8 * 8 + 8)
    base_before = [w.copy() for w in model.layers[0].get_weights()]
    head_before = [w.copy() for w in model.layers[1].get_weights()]
    model.compile(optimizer=keras.optimizers.AdamW(0.01, weight_decay=0.1), loss="mse", jit_compile=True)
    assert model.jit_compile is True
    model.fit(*_data(), batch_size=16, epochs=2, verbose=0)
    for a, b in zip(model.layers[0].get_weights(), base_before):  # kernels, gamma/beta and the moving statistics
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(model.layers[1].get_weights(), head_before))


def test_unfreeze_keeps_batchnorm_frozen_unless_asked():
    model = _pretrained_and_head()
    freeze(model)
    assert trainable_summary(model).trainable_params == 0
    rows = unfreeze(model, start="b2").rows
    assert [r["trainable"] for r in rows] == [False, False, False, True, True]
    rows = unfreeze(model).rows
    assert [r["trainable"] for r in rows] == [True, False, True, True, True]
    bn = model.layers[0].get_layer("bn")
    moving = [_np(w).copy() for w in bn.non_trainable_weights]
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    model.fit(*_data(), batch_size=16, verbose=0)
    for a, b in zip(bn.non_trainable_weights, moving):
        np.testing.assert_array_equal(_np(a), b)
    assert all(r["trainable"] for r in unfreeze(model, keep_batch_norm_frozen=False).rows)


def test_positions_by_index_and_path_and_bad_names():
    model = _pretrained_and_head()
    names = [layer.name for layer in leaf_layers(model)]
    assert len(names) == 5 and [names[i] for i in (0, 1, 3, 4)] == ["b1", "bn", "b2", "head"]
    assert [r["trainable"] for r in freeze(model, until=-2).rows] == [False, False, False, False, True]
    unfreeze(model)
    assert [r["trainable"] for r in freeze(model, until=model.layers[0].get_layer("b1").path).rows] == [
        False,
        False,
        True,
        True,
        True,
    ]
    with pytest.raises(ValueError, match="until.*nope"):
        freeze(model, until="nope")
    with pytest.raises(ValueError, match="start.*7"):
        unfreeze(model, start=7)
    with pytest.raises(ValueError, match="model"):
        freeze("model")


def _chain(scales_decay, optimizer):
    """Three 1x1 layers w3*w2*w1*x with x = 1 and loss = output: dL/dw_i = the product of the others."""
    model = keras.Sequential(
        [keras.Input((1,))] + [keras.layers.Dense(1, use_bias=False, name=f"w{i}") for i in range(3)]
    )
    for layer, value in zip(model.layers, (0.5, 1.5, -0.8)):
        layer.kernel.assign([[value]])
    model.compile(
        optimizer=layerwise_lr_decay(model, optimizer, scales_decay),
        loss=lambda y, p: keras.ops.mean(p),
        jit_compile=True,
    )
    return model


def _reference(step, lr, scales, steps, w=(0.5, 1.5, -0.8)):
    w = np.array(w, "float64")
    state = [np.zeros(3), np.zeros(3)]
    for t in range(1, steps + 1):
        g = np.array([w[1] * w[2], w[0] * w[2], w[0] * w[1]])
        w = w + step(g, state, t, lr * np.asarray(scales))
    return w


def _adam(g, state, t, lr, b1=0.9, b2=0.999, eps=1e-7):
    state[0][:] = b1 * state[0] + (1 - b1) * g
    state[1][:] = b2 * state[1] + (1 - b2) * g * g
    return -lr * np.sqrt(1 - b2**t) / (1 - b1**t) * state[0] / (np.sqrt(state[1]) + eps)


def _momentum(g, state, t, lr, mom=0.9):
    state[0][:] = mom * state[0] - lr * g
    return state[0]


@pytest.mark.parametrize(
    "name,optimizer,step",
    [
        ("adam", lambda: keras.optimizers.Adam(0.05), _adam),
        ("sgd-momentum", lambda: keras.optimizers.SGD(0.05, momentum=0.9), _momentum),
    ],
)
def test_layerwise_decay_equals_per_layer_learning_rates(name, optimizer, step):
    model = _chain(0.5, optimizer())
    assert isinstance(model.optimizer, LayerwiseLearningRate)
    model.fit(np.ones((5, 1)), np.ones((5, 1)), batch_size=1, shuffle=False, verbose=0)
    expected = _reference(step, 0.05, [0.25, 0.5, 1.0], steps=5)
    np.testing.assert_allclose([float(_np(layer.kernel)[0, 0]) for layer in model.layers], expected, rtol=2e-5)


def test_layerwise_decay_groups_and_arguments():
    model = _pretrained_and_head()
    optimizer = layerwise_lr_decay(model, "adam", 0.1, groups=[["base"], ["head"]])
    assert optimizer.scale_of(model.layers[0].get_layer("b1").kernel) == pytest.approx(0.1)
    assert optimizer.scale_of(model.layers[1].kernel) == 1.0
    for kwargs, name in [
        ({"decay": 0.0}, "decay"),
        ({"decay": 1.5}, "decay"),
        ({"decay": 0.5, "groups": [["nope"]]}, "groups"),
        ({"decay": 0.5, "groups": []}, "groups"),
    ]:
        with pytest.raises(ValueError, match=name):
            layerwise_lr_decay(model, "adam", **kwargs)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert again.scales == optimizer.scales


def test_rebuild_keeps_slots_of_trained_variables_and_the_step():
    model = _pretrained_and_head()
    freeze(model, until="base")
    model.compile(optimizer=Lookahead(keras.optimizers.Adam(0.01), sync_period=3), loss="mse", jit_compile=True)
    x, y = _data()
    model.fit(x, y, batch_size=16, verbose=0)
    before = {v.name: _np(v).copy() for v in model.optimizer.variables}
    unfreeze(model, start="b2")
    rebuild_optimizer(model)
    after = {v.name: _np(v) for v in model.optimizer.variables}
    assert set(before) < set(after)
    for path, value in before.items():
        np.testing.assert_array_equal(after[path], value)
    new = [p for p in after if p not in before]
    assert new and all(not np.any(after[p]) or "slow" in p for p in new)
    model.make_train_function(force=True)
    model.fit(x, y, batch_size=16, verbose=0)  # the rebuilt optimizer trains the new variables
    assert int(_np(model.optimizer.iterations)) == 8


def test_gradual_unfreezing_unfreezes_from_the_top_on_schedule():
    model = _pretrained_and_head()
    freeze(model, until="base")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", jit_compile=True)
    b1, b2 = model.layers[0].get_layer("b1"), model.layers[0].get_layer("b2")

    class Snapshots(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.kernels = getattr(self, "kernels", []) + [(_np(b1.kernel).copy(), _np(b2.kernel).copy())]

    snaps = Snapshots()
    start = (_np(b1.kernel).copy(), _np(b2.kernel).copy())
    unfreezing = GradualUnfreezing(["b1", "b2"], every_n_epochs=2)
    model.fit(*_data(), batch_size=16, epochs=5, verbose=0, callbacks=[unfreezing, snaps])
    assert unfreezing.events == [(2, "b2"), (4, "b1")]
    k = [start] + snaps.kernels  # k[e + 1]: after epoch e
    np.testing.assert_array_equal(k[2][1], start[1])  # b2 frozen through epochs 0-1
    assert not np.array_equal(k[3][1], k[2][1])  # trains from epoch 2
    np.testing.assert_array_equal(k[4][0], start[0])  # b1 frozen through epoch 3
    assert not np.array_equal(k[5][0], k[4][0])
    assert not model.layers[0].get_layer("bn").trainable


def test_gradual_unfreezing_arguments():
    for kwargs, name in [
        ({"blocks": []}, "blocks"),
        ({"every_n_epochs": 0}, "every_n_epochs"),
        ({"verbose": 3}, "verbose"),
    ]:
        with pytest.raises(ValueError, match=name):
            GradualUnfreezing(**kwargs)
    model = _pretrained_and_head()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="blocks"):
        model.fit(*_data(), epochs=1, verbose=0, callbacks=[GradualUnfreezing(["nope"])])
