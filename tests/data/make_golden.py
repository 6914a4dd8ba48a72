"""Write the golden `.keras` files of tests/reliability/test_format_stability.py.

One small trained model per family of public objects, saved with the version of kerasboost that
runs this script, with the inputs and what the model computed before saving (`<name>.npz`).
The test loads every file with `safe_mode=True` and compares: a change that breaks loading
files written by earlier versions fails it. Regenerate only on purpose (a format change that
comes with a migration), never to make the test pass:

    KERAS_BACKEND=tensorflow python tests/data/make_golden.py
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

import kerasboost
from kerasboost import ensemble, initializers, layers, optimizers, schedules

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
STEPS = [0, 3, 10, 40, 95]


def _mlp(name="golden"):
    return keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh", name="hidden"), keras.layers.Dense(3, name="out")],
        name=name,
    )


def schedules_model():
    lr = schedules.SequentialSchedule(
        [
            schedules.Warmup(
                schedules.CosineRestarts(0.01, 5, cycle_multiplier=2.0, warmup_steps=1), 3, mode="polynomial", power=2.0
            ),
            schedules.CyclicalLearningRate(1e-3, 1e-2, 4, mode="triangular2"),
            schedules.Scaled(schedules.OneCycle(1e-2, 20, three_phase=True), 0.5),
            schedules.StepDecay(1e-2, 5, factor=0.5),
            schedules.InverseSqrtDecay(0.01, warmup_steps=2),
            schedules.LinearDecay(1e-2, 10, end_learning_rate=1e-3),
            schedules.WarmupStableDecay(1e-2, 30, warmup_steps=3, decay_fraction=0.3, decay_shape="1-sqrt"),
        ],
        boundaries=[10, 20, 40, 50, 60, 70],
    )
    model = _mlp()
    model.compile(keras.optimizers.Adam(lr), "mse", jit_compile=True)
    return model


def optimizer_models():
    out = {}
    for name, optimizer in {
        "radam": lambda: optimizers.RectifiedAdam(1e-2),
        "adabelief": lambda: optimizers.AdaBelief(1e-2),
        "lars": lambda: optimizers.LARS(0.1, momentum=0.9, weight_decay_rate=1e-4),
        "wrappers": lambda: optimizers.Lookahead(
            optimizers.GradientNoise(
                optimizers.AdaptiveGradientClipping(
                    optimizers.GradientCentralization(keras.optimizers.SGD(0.1, momentum=0.9))
                ),
                eta=0.01,
                seed=3,
            ),
            sync_period=2,
        ),
        "skip_non_finite": lambda: optimizers.SkipNonFinite(keras.optimizers.AdamW(1e-2)),
        "layerwise": lambda: optimizers.LayerwiseLearningRate(
            keras.optimizers.Adam(1e-2), {"golden/hidden": 0.25}, default_scale=0.5
        ),
    }.items():
        model = _mlp()
        model.compile(optimizer(), "mse", jit_compile=True)
        out[f"optimizer_{name}"] = model
    inner = _mlp()
    sam = optimizers.SAM(inner, rho=0.05)
    sam.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse", jit_compile=True)
    out["optimizer_sam"] = sam
    return out


def layers_model():
    dense_in = keras.Input((6,), name="dense_in")
    x = layers.WeightNormalization(keras.layers.Dense(8))(dense_in)
    x = layers.Swish(beta=1.5)(x)
    x = layers.Maxout(4)(x)
    branch = layers.SkipInit()(keras.layers.Dense(4)(x))
    x = layers.StochasticDepth(0.2, seed=1)([x, branch])
    x = layers.DropPath(0.1, seed=2)(x)
    image_in = keras.Input((8, 8, 1), name="image_in")
    y = layers.WSConv2D(4, 3, padding="same")(image_in)
    y = layers.InstanceNormalization()(y)
    y = layers.ScaledStdConv2D(4, 3, padding="same")(y)
    y = layers.FilterResponseNormalization()(y)
    y = layers.TLU()(y)
    y = layers.DropBlock2D(0.1, block_size=3, seed=4)(y)
    y = layers.WeightNormalization(keras.layers.Conv2D(2, 3))(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    audio_in = keras.Input((32, 8), name="audio_in")
    z = layers.RandomTimeShift(0.1, seed=5)(audio_in)
    z = layers.RandomGain(seed=6)(z)
    z = layers.AddNoise(seed=7)(z)
    z = layers.RandomSpeed(seed=8)(z)
    z = layers.TimeMasking(4, seed=9)(z)
    z = layers.FrequencyMasking(2, seed=10)(z)
    z = keras.layers.GlobalAveragePooling1D()(z)
    out = keras.layers.Dense(3)(keras.layers.Concatenate()([x, y, z]))
    model = keras.Model([dense_in, image_in, audio_in], out, name="golden_layers")
    model.compile(keras.optimizers.Adam(1e-2), "mse", jit_compile=True)
    return model


def initializers_model():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu", kernel_initializer=initializers.VarianceFor("relu", seed=1))(inputs)
    x = keras.layers.Dense(8, activation="tanh", kernel_initializer=initializers.OrthogonalFor("tanh", seed=2))(x)
    x = keras.layers.Dense(8, activation="relu", kernel_initializer=initializers.LooksLinear(seed=3))(x)
    x = keras.layers.Reshape((2, 2, 2))(x)
    x = keras.layers.Conv2D(4, 1, kernel_initializer=initializers.DeltaOrthogonal(seed=4))(x)
    out = keras.layers.Dense(3)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.Adam(1e-2), "mse", jit_compile=True)
    return model


def data(model):
    rng = np.random.default_rng(0)
    inputs = getattr(model, "inputs", None) or model.model.inputs  # SAM wraps a model
    x = [rng.normal(size=(16, *i.shape[1:])).astype("float32") for i in inputs]
    x = x if len(x) > 1 else x[0]
    return x, rng.normal(size=(16, 3)).astype("float32")


def write(name, model):
    keras.utils.set_random_seed(0)
    x, y = data(model)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    arrays = {"prediction": model.predict(x, verbose=0)}
    for i, xi in enumerate(x if isinstance(x, list) else [x]):
        arrays[f"x{i}"] = xi
    optimizer = getattr(model, "optimizer", None)
    for i, v in enumerate(optimizer.variables if optimizer is not None else []):
        arrays[f"optimizer{i}"] = keras.ops.convert_to_numpy(v)
    inner = kerasboost.optimizers.wrapper.optimizer_chain(optimizer)[-1] if optimizer is not None else None
    if inner is not None and isinstance(inner._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        arrays["learning_rates"] = np.array([float(keras.ops.convert_to_numpy(inner._learning_rate(s))) for s in STEPS])
    model.save(os.path.join(HERE, f"{name}.keras"))
    np.savez(os.path.join(HERE, f"{name}.npz"), **arrays)
    print(f"wrote {name}")


def main():
    os.makedirs(HERE, exist_ok=True)
    keras.utils.set_random_seed(0)
    write("schedules", schedules_model())
    for name, model in optimizer_models().items():
        write(name, model)
    write("layers", layers_model())
    write("initializers", initializers_model())
    members = [_mlp(f"member_{i}") for i in range(3)]
    averaged = ensemble.average_models(members, weights=[1, 2, 1])
    averaged.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=True)
    write("ensemble", averaged)
    return 0


if __name__ == "__main__":
    sys.exit(main())
