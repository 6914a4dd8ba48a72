"""The training cases both distribution parity scripts run (mirrored_parity.py on TensorFlow,
data_parallel_parity.py on JAX): every optimizer, wrapper, deterministic layer and callback on a
small model. Import after the backend's devices are configured."""

import keras
import numpy as np

from kerasboost import callbacks, layers, optimizers, schedules

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
