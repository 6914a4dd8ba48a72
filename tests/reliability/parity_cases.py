"""The training cases both distribution parity scripts run (mirrored_parity.py on TensorFlow,
data_parallel_parity.py on JAX): every optimizer, wrapper, deterministic layer and callback on a
small model, and the comparison of one device with several. Import after the backend's devices
are configured."""

import contextlib
import gc
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import keras
import numpy as np

from kerasboost import callbacks, layers, optimizers, schedules

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 6)).astype("float32")
Y = rng.normal(size=(64, 2)).astype("float32")
XI = rng.normal(size=(64, 6, 6, 2)).astype("float32")


def dense_model(*middle):
    return lambda: keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8), *[m() for m in middle], keras.layers.Dense(2)]
    )


def image_model(*middle):
    return lambda: keras.Sequential(
        [keras.Input((6, 6, 2)), *[m() for m in middle], keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)]
    )


SGD = lambda: keras.optimizers.SGD(0.05, momentum=0.9)  # noqa: E731
ADAM = lambda: keras.optimizers.Adam(0.01)  # noqa: E731

CASES = {
    # optimizers and wrappers
    "RectifiedAdam": (dense_model(), lambda: optimizers.RectifiedAdam(0.01), list),
    "AdaBelief": (dense_model(), lambda: optimizers.AdaBelief(0.01), list),
    "LARS": (dense_model(), lambda: optimizers.LARS(0.5, momentum=0.9), list),
    "Lookahead": (dense_model(), lambda: optimizers.Lookahead(ADAM(), sync_period=2), list),
    "GradientCentralization": (dense_model(), lambda: optimizers.GradientCentralization(SGD()), list),
    "AdaptiveGradientClipping": (
        dense_model(),
        lambda: optimizers.AdaptiveGradientClipping(SGD(), clip_factor=0.01),
        list,
    ),
    "SkipNonFinite": (dense_model(), lambda: optimizers.SkipNonFinite(ADAM()), list),
    "LayerwiseLearningRate": (
        dense_model(),
        lambda: optimizers.LayerwiseLearningRate(ADAM(), {}, default_scale=0.5),
        list,
    ),
    "GradientNoise": (dense_model(), lambda: optimizers.GradientNoise(SGD(), eta=0.01, seed=1), list),
    # schedules
    "OneCycle": (dense_model(), lambda: keras.optimizers.SGD(schedules.OneCycle(0.1, total_steps=8)), list),
    # layers
    "WeightNormalization": (dense_model(lambda: layers.WeightNormalization(keras.layers.Dense(8))), SGD, list),
    "Maxout": (dense_model(lambda: layers.Maxout(4)), SGD, list),
    "Swish": (dense_model(lambda: layers.Swish()), SGD, list),
    "SkipInit": (dense_model(lambda: layers.SkipInit(alpha=0.5)), SGD, list),
    "InstanceNormalization": (
        image_model(lambda: keras.layers.Conv2D(4, 3), lambda: layers.InstanceNormalization()),
        SGD,
        list,
    ),
    "FilterResponseNormalization+TLU": (
        image_model(
            lambda: keras.layers.Conv2D(4, 3), lambda: layers.FilterResponseNormalization(), lambda: layers.TLU()
        ),
        SGD,
        list,
    ),
    "WSConv2D": (image_model(lambda: layers.WSConv2D(4, 3)), SGD, list),
    "ScaledStdConv2D": (image_model(lambda: layers.ScaledStdConv2D(4, 3)), SGD, list),
    # callbacks
    "GradientStatistics": (dense_model(), SGD, lambda: [callbacks.GradientStatistics(read_every_n_steps=2)]),
    "EarlyStopping": (
        dense_model(),
        SGD,
        lambda: [callbacks.EarlyStopping("loss", patience=0, mode="max", restore_best_weights=True)],
    ),
    "LearningRateWarmup": (dense_model(), SGD, lambda: [callbacks.LearningRateWarmup(4)]),
    "ReduceLROnPlateau": (
        dense_model(),
        lambda: keras.optimizers.SGD(schedules.OneCycle(0.1, total_steps=8)),
        lambda: [callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, mode="max")],
    ),
    "StochasticWeightAveraging": (dense_model(), SGD, lambda: [callbacks.StochasticWeightAveraging(start_epoch=0)]),
}


def fit_case(name, scope=None, jit_compile=True):
    """Build and compile case `name` inside `scope` (a distribution strategy's, or none), fit it one
    epoch: the model, the losses and the gradient norms GradientStatistics recorded."""
    build, optimizer, make_callbacks = CASES[name]
    keras.utils.set_random_seed(0)
    with scope if scope is not None else contextlib.nullcontext():
        model = build()
        model.compile(optimizer(), "mse", jit_compile=jit_compile)
    x = XI if len(model.inputs[0].shape) == 4 else X
    cbs = make_callbacks()
    history = model.fit(x, Y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=cbs)
    norms = [r["grad_norm"] for c in cbs if isinstance(c, callbacks.GradientStatistics) for r in c.records]
    return model, history.history["loss"], norms


def compare_all(train, out):
    """For every case, `train(name, distributed)` -> (model, losses, norms) on one device and
    distributed; writes {case: {"max_diff", "finite", "records", "devices"} or {"error"}} to `out`."""
    results = {}
    # the collector never rescans what is alive now (TensorFlow's or JAX's modules), and each case
    # ends without a full collection: as in tests/conftest.py, a full collection per case cost
    # about 0.5 s in a process that has imported TensorFlow
    gc.collect()
    gc.freeze()
    for name in CASES:
        try:
            one, losses_one, norms_one = train(name, False)
            many, losses_many, norms_many = train(name, True)
            a, b = one.get_weights(), many.get_weights()
            diffs = [float(np.max(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64")))) for u, v in zip(a, b)]
            diffs += [abs(u - v) for u, v in zip(losses_one, losses_many)] + [
                abs(u - v) for u, v in zip(norms_one, norms_many)
            ]
            results[name] = {
                "max_diff": max(diffs),
                "finite": bool(all(np.all(np.isfinite(w)) for w in b)),
                "records": len(norms_many),
                "devices": devices_of(many.trainable_variables[0]),
            }
        except Exception as e:  # reported per case
            results[name] = {"error": f"{type(e).__name__}: {e}"[:2000], "trace": traceback.format_exc()[-2000:]}
        keras.backend.clear_session(free_memory=False)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


def devices_of(variable):
    """On how many devices a variable lives, where the backend says (JAX's sharding), else None."""
    sharding = getattr(variable.value, "sharding", None)
    return None if sharding is None else len(sharding.device_set)


def run_script(script: str, out: Path, max_diff: float) -> dict:
    """Run a parity script in a fresh process; assert every case ran and agreed within `max_diff`."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, script, str(out)], env=env, capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    results = json.loads(out.read_text())
    errors = {name: r["error"] for name, r in results.items() if "error" in r}
    assert not errors, errors
    # weights after an epoch (4 steps), the loss and the recorded gradient norms
    far = {name: r["max_diff"] for name, r in results.items() if not r["max_diff"] <= max_diff}
    assert not far, far
    assert results["GradientStatistics"]["records"] == 4  # one epoch of 4 steps
    assert len(results) >= 23
    return results
