"""kerasboost.ensemble: output averaging and snapshot ensembles."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasboost.ensemble import EnsembleAverage, SnapshotEnsemble, average_models
from kerasboost.schedules import CosineRestarts


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _member(seed, units=8, outputs=3, activation="softmax"):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(units, activation="tanh"),
            keras.layers.Dense(outputs, activation=activation),
        ],
        name=f"member{seed}",
    )


def test_mean_weighted_and_geometric_averages_match_numpy():
    members = [_member(s) for s in range(3)]
    x = np.random.default_rng(0).normal(size=(7, 5)).astype("float32")
    p = np.stack([m.predict(x, verbose=0) for m in members]).astype("float64")
    np.testing.assert_allclose(average_models(members).predict(x, verbose=0), p.mean(0), rtol=1e-5)
    w = np.array([1.0, 2.0, 5.0])
    np.testing.assert_allclose(
        average_models(members, weights=list(w)).predict(x, verbose=0), np.tensordot(w / w.sum(), p, 1), rtol=1e-5
    )
    geometric = np.exp(np.tensordot(w / w.sum(), np.log(p), 1))
    geometric /= geometric.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        average_models(members, weights=list(w), mode="geometric").predict(x, verbose=0), geometric, rtol=1e-5
    )


@pytest.mark.slow
def test_members_with_one_name_are_cloned_and_the_ensemble_survives_a_fresh_process(tmp_path):
    a, b = _member(0), _member(1)
    b.name = a.name  # e.g. two files of one model
    ensemble = average_models([a, b, a], weights=[1, 1, 2], mode="geometric")
    assert len({layer.name for layer in ensemble.layers}) == len(ensemble.layers)
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    expected = ensemble.predict(x, verbose=0)
    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, json, numpy as np, keras, kerasboost\n"
        "m = keras.saving.load_model(sys.argv[1], safe_mode=True)\n"
        "print(json.dumps(m.predict(np.load(sys.argv[2]), verbose=0).tolist()))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    out = subprocess.run(
        [sys.executable, "-c", code, path, str(tmp_path / "x.npy")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    np.testing.assert_allclose(np.array(json.loads(out.stdout.strip().splitlines()[-1])), expected, rtol=1e-6)


def test_bad_arguments_name_themselves():
    a, b = _member(0), _member(1)
    cases = [
        (dict(models=[a]), "models"),
        (dict(models=[a, "b"]), "models"),
        (dict(models=[a, _member(2, outputs=4)]), "models"),
        (dict(models=[a, b], weights=[1.0]), "weights"),
        (dict(models=[a, b], weights=[1.0, -1.0]), "weights"),
        (dict(models=[a, b], mode="median"), "mode"),
    ]
    for kwargs, name in cases:
        with pytest.raises(ValueError, match=name):
            average_models(**kwargs)
    for kwargs, name in [
        ({"cycle_epochs": 0}, "cycle_epochs"),
        ({"max_snapshots": 0}, "max_snapshots"),
        ({"directory": 3}, "directory"),
    ]:
        with pytest.raises(ValueError, match=name):
            SnapshotEnsemble(**kwargs)
    with pytest.raises(ValueError, match="weights"):
        EnsembleAverage(weights=[float("nan"), 1.0])


def test_snapshots_need_a_schedule_or_a_cycle_length():
    model = _member(0)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    with pytest.raises(ValueError, match="cycle_epochs"):
        model.fit(np.ones((4, 5)), np.ones((4, 3)), epochs=1, verbose=0, callbacks=[SnapshotEnsemble()])
    snapshots = SnapshotEnsemble(cycle_epochs=2, max_snapshots=2)
    model.fit(np.ones((4, 5)), np.ones((4, 3)), epochs=7, verbose=0, callbacks=[snapshots])
    assert snapshots.epochs == [5, 6]  # taken at 1, 3, 5 and the end (6); the latest 2 kept
    for kept, layer_weights in zip(snapshots.snapshots[-1], model.get_weights()):
        np.testing.assert_array_equal(kept, layer_weights)


@pytest.mark.slow
def test_snapshot_ensemble_on_digits_scores_at_least_its_average_member(tmp_path):
    """Huang et al.'s recipe scaled down: an MLP on digits, 5 cosine cycles of 6 epochs each."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1200], order[1200:]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    )
    steps = int(np.ceil(len(train) / 64))
    model.compile(
        optimizer=keras.optimizers.SGD(CosineRestarts(0.2, first_cycle_steps=6 * steps), momentum=0.9),
        loss="sparse_categorical_crossentropy",
        jit_compile=True,
    )
    snapshots = SnapshotEnsemble(directory=str(tmp_path))
    model.fit(x[train], y[train], batch_size=64, epochs=30, verbose=0, callbacks=[snapshots])
    assert snapshots.epochs == [5, 11, 17, 23, 29]
    assert len(snapshots.files) == 5 and all(os.path.exists(f) for f in snapshots.files)
    members = [float(np.mean(np.argmax(m.predict(x[test], verbose=0), -1) == y[test])) for m in snapshots.models()]
    ensemble = snapshots.ensemble()
    accuracy = float(np.mean(np.argmax(ensemble.predict(x[test], verbose=0), -1) == y[test]))
    print(f"snapshot ensemble on digits: members {members}, ensemble {accuracy:.4f}")
    assert accuracy >= np.mean(members)
