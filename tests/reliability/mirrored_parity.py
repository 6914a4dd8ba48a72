"""MirroredStrategy over 2 logical CPU devices vs one device (run by test_mirrored.py).

Usage: python mirrored_parity.py OUT.json — writes {case: {"max_diff": float} or {"error": str}}.
"""

import json
import os
import sys
import traceback

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasboost  # noqa: E402
from kerasboost import callbacks, layers, optimizers, schedules  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 6)).astype("float32")
Y = rng.normal(size=(64, 2)).astype("float32")
XI = rng.normal(size=(64, 6, 6, 2)).astype("float32")


def dense_model(*middle):
    return lambda: keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), *[m() for m in middle], keras.layers.Dense(2)])


def image_model(*middle):
    return lambda: keras.Sequential([keras.Input((6, 6, 2)), *[m() for m in middle], keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])


SGD = lambda: keras.optimizers.SGD(0.05, momentum=0.9)  # noqa: E731
ADAM = lambda: keras.optimizers.Adam(0.01)  # noqa: E731

CASES = {
    # optimizers and wrappers
    "RectifiedAdam": (dense_model(), lambda: optimizers.RectifiedAdam(0.01), list),
    "AdaBelief": (dense_model(), lambda: optimizers.AdaBelief(0.01), list),
    "LARS": (dense_model(), lambda: optimizers.LARS(0.5, momentum=0.9), list),
    "Lookahead": (dense_model(), lambda: optimizers.Lookahead(ADAM(), sync_period=2), list),
    "GradientCentralization": (dense_model(), lambda: optimizers.GradientCentralization(SGD()), list),
    "AdaptiveGradientClipping": (dense_model(), lambda: optimizers.AdaptiveGradientClipping(SGD(), clip_factor=0.01), list),
    "SkipNonFinite": (dense_model(), lambda: optimizers.SkipNonFinite(ADAM()), list),
    "LayerwiseLearningRate": (dense_model(), lambda: optimizers.LayerwiseLearningRate(ADAM(), {}, default_scale=0.5), list),
    "GradientNoise": (dense_model(), lambda: optimizers.GradientNoise(SGD(), eta=0.01, seed=1), list),
    # schedules
    "OneCycle": (dense_model(), lambda: keras.optimizers.SGD(schedules.OneCycle(0.1, total_steps=8)), list),
    # layers
    "WeightNormalization": (dense_model(lambda: layers.WeightNormalization(keras.layers.Dense(8))), SGD, list),
    "Maxout": (dense_model(lambda: layers.Maxout(4)), SGD, list),
    "Swish": (dense_model(lambda: layers.Swish()), SGD, list),
    "SkipInit": (dense_model(lambda: layers.SkipInit(alpha=0.5)), SGD, list),
    "InstanceNormalization": (image_model(lambda: keras.layers.Conv2D(4, 3), lambda: layers.InstanceNormalization()), SGD, list),
    "FilterResponseNormalization+TLU": (image_model(lambda: keras.layers.Conv2D(4, 3), lambda: layers.FilterResponseNormalization(), lambda: layers.TLU()), SGD, list),
    "WSConv2D": (image_model(lambda: layers.WSConv2D(4, 3)), SGD, list),
    "ScaledStdConv2D": (image_model(lambda: layers.ScaledStdConv2D(4, 3)), SGD, list),
    # callbacks
    "GradientStatistics": (dense_model(), SGD, lambda: [callbacks.GradientStatistics(read_every_n_steps=2)]),
    "EarlyStopping": (dense_model(), SGD, lambda: [callbacks.EarlyStopping("loss", patience=0, mode="max", restore_best_weights=True)]),
    "LearningRateWarmup": (dense_model(), SGD, lambda: [callbacks.LearningRateWarmup(4)]),
    "ReduceLROnPlateau": (dense_model(), lambda: keras.optimizers.SGD(schedules.OneCycle(0.1, total_steps=8)), lambda: [callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, mode="max")]),
    "StochasticWeightAveraging": (dense_model(), SGD, lambda: [callbacks.StochasticWeightAveraging(start_epoch=0)]),
}


def train(name, strategy):
    build, optimizer, make_callbacks = CASES[name]
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build()
        # XLA cannot compile a step whose variables live on two devices (Keras's own layers fail
        # the same way: "Trying to access resource ... located in device CPU:1 from device CPU:0")
        model.compile(optimizer(), "mse", jit_compile=False)
    x = XI if len(model.inputs[0].shape) == 4 else X
    cbs = make_callbacks()
    history = model.fit(x, Y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=cbs)
    extra = []
    for c in cbs:
        if isinstance(c, callbacks.GradientStatistics):
            extra = [r["grad_norm"] for r in c.records]
    return model.get_weights(), history.history["loss"], extra


def main(out):
    single = tf.distribute.OneDeviceStrategy("/cpu:0")
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    results = {}
    for name in CASES:
        try:
            a, la, ea = train(name, single)
            b, lb, eb = train(name, mirrored)
            diffs = [float(np.max(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64")))) for u, v in zip(a, b)] + [abs(u - v) for u, v in zip(la, lb)] + [abs(u - v) for u, v in zip(ea, eb)]
            results[name] = {"max_diff": max(diffs), "finite": bool(all(np.all(np.isfinite(w)) for w in b)), "records": len(eb)}
        except Exception as e:  # reported per case
            results[name] = {"error": f"{type(e).__name__}: {e}"[:2000], "trace": traceback.format_exc()[-2000:]}
        keras.backend.clear_session()
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
