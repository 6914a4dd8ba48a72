"""Per-step overhead of kerasboost components vs the nearest plain-Keras baseline.

Each pair (baseline, component) trains the same MLP on the same synthetic batch
stream under `jit_compile=True`; all configurations are timed interleaved in one
process (repeat r times: one timed epoch of each), and the median step time is
reported with the ratio component / baseline (the median of the per-repeat pair ratios) and
the ratio of the two fastest epochs ("best vs best": interference from other work on a shared
machine only adds time, so the fastest epochs are the least disturbed).

    python benchmarks/overhead.py                       # about 5 minutes on 2 cores
    python benchmarks/overhead.py --repeats 3 --steps 20 --only Lookahead

Targets (issue: benchmarks): <= 1.03x for schedules, optimizer wrappers and callbacks; layers
within 1.05x of the nearest built-in; GradientStatistics (recording every step, reading every
100) <= 1.05x. Most pairs use an MLP (4 x 256, batch 256): per parameter it does the least work
of common models, so costs proportional to the parameter count (optimizer wrappers,
GradientStatistics) show at their largest. Convolution layers and a second GradientStatistics
pair use a small CNN (16x16x3 images, batch 64), where each parameter is reused at every
position.
The "A/A control" pair trains the baseline on both sides: its distance from 1.0 is the noise
of the machine at that moment, the resolution of every other ratio in the same run.
Step time is measured inside each epoch, from the end of batch `--skip` to the end of the last
batch, so that one-off costs of a `fit` call (tracing, XLA compilation, callback set-up) are
not counted. Works on every backend (KERAS_BACKEND=jax for the GPU run).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from harness import machine, summarize, time_pairs

from kerasboost import callbacks, layers, optimizers, schedules, transfer


def adam(lr=1e-3):
    return keras.optimizers.Adam(lr)


def sgd(lr=1e-2):
    return keras.optimizers.SGD(lr, momentum=0.9)


# name -> (baseline optimizer factory, component optimizer factory)
PAIRS = {
    "Warmup(CosineDecay)": (
        adam,
        lambda: keras.optimizers.Adam(schedules.Warmup(keras.optimizers.schedules.CosineDecay(1e-3, 10_000), 100)),
    ),
    "OneCycle": (adam, lambda: keras.optimizers.Adam(schedules.OneCycle(1e-3, 10_000))),
    "CyclicalLearningRate": (adam, lambda: keras.optimizers.Adam(schedules.CyclicalLearningRate(1e-4, 1e-3, 500))),
    "CosineRestarts": (
        adam,
        lambda: keras.optimizers.Adam(schedules.CosineRestarts(1e-3, 500, 2.0, 0.9, warmup_steps=10)),
    ),
    "WarmupStableDecay": (adam, lambda: keras.optimizers.Adam(schedules.WarmupStableDecay(1e-3, 10_000, 100))),
    "SequentialSchedule": (
        adam,
        lambda: keras.optimizers.Adam(
            schedules.SequentialSchedule([schedules.Warmup(1e-3, 100), schedules.OneCycle(1e-3, 9_000)], [100])
        ),
    ),
    "Lookahead(Adam)": (adam, lambda: optimizers.Lookahead(adam())),
    "GradientNoise(SGD)": (sgd, lambda: optimizers.GradientNoise(sgd(), seed=0)),
    "AdaptiveGradientClipping(SGD)": (sgd, lambda: optimizers.AdaptiveGradientClipping(sgd())),
    "GradientCentralization(SGD)": (sgd, lambda: optimizers.GradientCentralization(sgd())),
    "SkipNonFinite(Adam)": (adam, lambda: optimizers.SkipNonFinite(adam())),
    "RectifiedAdam vs Adam": (adam, lambda: optimizers.RectifiedAdam(1e-3)),
    "AdaBelief vs Adam": (adam, lambda: optimizers.AdaBelief(1e-3)),
    "LARS vs SGD": (sgd, lambda: optimizers.LARS(1e-2)),
    "Prodigy vs Adam": (adam, lambda: optimizers.Prodigy()),
    "DAdaptAdam vs Adam": (adam, lambda: optimizers.DAdaptAdam()),
    "DAdaptSGD vs SGD": (sgd, lambda: optimizers.DAdaptSGD(momentum=0.9)),
    "DoG vs SGD": (sgd, lambda: optimizers.DoG()),
    "LDoG vs SGD": (sgd, lambda: optimizers.LDoG()),
    "LayerwiseLearningRate(Adam)": (adam, lambda model: transfer.layerwise_lr_decay(model, adam(), 0.8)),
}

# name -> (baseline, component): a layer inserted after the first hidden layer, or callbacks
LAYER_PAIRS = {
    "WeightNormalization(Dense)": (
        lambda: keras.layers.Dense(256),
        lambda: layers.WeightNormalization(keras.layers.Dense(256)),
    ),
    "InstanceNormalization": (
        lambda: _grouped(keras.layers.GroupNormalization(groups=-1)),
        lambda: _grouped(layers.InstanceNormalization()),
    ),
    "FilterResponseNormalization+TLU": (
        lambda: _grouped(keras.layers.LayerNormalization()),
        lambda: _grouped(layers.FilterResponseNormalization(), layers.TLU()),
    ),
    "Swish": (lambda: keras.layers.Activation("silu"), lambda: layers.Swish()),
    "DropPath": (lambda: keras.layers.Dropout(0.1, noise_shape=None), lambda: layers.DropPath(0.1, seed=0)),
    "SkipInit": (lambda: keras.layers.Identity(), lambda: layers.SkipInit(alpha=1.0)),
}
CALLBACK_PAIRS = {
    # the same configuration on both sides: how far from 1.0 the machine's noise alone moves a ratio
    "A/A control (no callback on either side)": list,
    "GradientStatistics(every step, read every 100)": lambda: [
        callbacks.GradientStatistics(every_n_steps=1, read_every_n_steps=100)
    ],
    "GradientStatistics(every step, read every 100) + histograms of gradients, weights, updates every 100": lambda: [
        callbacks.GradientStatistics(
            every_n_steps=1, read_every_n_steps=100, histograms=("gradients", "weights", "updates")
        )
    ],
    "GradientStatistics(every 10 steps, read every 100)": lambda: [
        callbacks.GradientStatistics(every_n_steps=10, read_every_n_steps=100)
    ],
    "EarlyStopping": lambda: [callbacks.EarlyStopping(monitor="loss", patience=1000, smoothing="ema")],
    "LearningRateWarmup": lambda: [callbacks.LearningRateWarmup(10_000)],
    "ReduceLROnPlateau": lambda: [callbacks.ReduceLROnPlateau(monitor="loss", patience=1000)],
    "LearningRateLogger": lambda: [callbacks.LearningRateLogger()],
    "TimeStopping": lambda: [callbacks.TimeStopping(3600)],
}

# name -> (baseline, component) on the CNN:
# {"conv": conv factory, "insert": layer after the first conv, "callbacks": ...}
CNN_PAIRS = {
    "WSConv2D vs Conv2D (CNN)": ({}, {"conv": lambda f, s: layers.WSConv2D(f, 3, strides=s, padding="same")}),
    "ScaledStdConv2D vs Conv2D (CNN)": (
        {},
        {"conv": lambda f, s: layers.ScaledStdConv2D(f, 3, strides=s, padding="same")},
    ),
    "DropBlock2D vs SpatialDropout2D (CNN)": (
        {"insert": lambda: keras.layers.SpatialDropout2D(0.1)},
        {"insert": lambda: layers.DropBlock2D(0.1, 3, seed=0)},
    ),
    "GradientStatistics(every step, read every 100) (CNN)": (
        {},
        {"callbacks": lambda: [callbacks.GradientStatistics(every_n_steps=1, read_every_n_steps=100)]},
    ),
}


def _grouped(*layer_list):
    """Apply layers to the hidden vector viewed as (16 positions, 16 channels)."""

    def apply(x):
        y = keras.layers.Reshape((16, x.shape[-1] // 16))(x)
        for layer in layer_list:
            y = layer(y)
        return keras.layers.Reshape((x.shape[-1],))(y)

    return apply


class _Timer(keras.callbacks.Callback):
    def __init__(self, skip):
        super().__init__()
        self.skip = skip

    def on_epoch_begin(self, epoch, logs=None):
        self.marks = []

    def on_train_batch_end(self, batch, logs=None):
        if batch >= self.skip - 1:
            self.marks.append(time.perf_counter())

    def seconds_per_step(self):
        return (self.marks[-1] - self.marks[0]) / (len(self.marks) - 1)


def build_cnn(conv=None, insert=None, image=16, classes=10):
    keras.utils.set_random_seed(0)
    conv = conv or (lambda f, s: keras.layers.Conv2D(f, 3, strides=s, padding="same"))
    inputs = keras.Input((image, image, 3))
    x = keras.layers.ReLU()(conv(32, 1)(inputs))
    if insert is not None:
        x = insert()(x)
    x = keras.layers.ReLU()(conv(64, 2)(x))
    x = keras.layers.ReLU()(conv(64, 1)(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes)(x))


def build(width, depth, features, classes, insert=None):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((features,))
    x = inputs
    for i in range(depth):
        x = keras.layers.Dense(width, activation="relu")(x)
        if i == 0 and insert is not None:
            x = insert()(x)
    return keras.Model(inputs, keras.layers.Dense(classes)(x))


def configurations(width, depth=4):
    """name -> {role: (optimizer factory, model factory, callbacks factory)}."""
    configs = {}
    mlp = lambda insert=None: lambda: build(width, depth, 64, 10, insert)  # noqa: E731
    for name, (base, comp) in PAIRS.items():
        configs[name] = {"baseline": (base, mlp(), list), "component": (comp, mlp(), list)}
    for name, (base, comp) in LAYER_PAIRS.items():
        configs[name] = {"baseline": (adam, mlp(base), list), "component": (adam, mlp(comp), list)}
    for name, make in CALLBACK_PAIRS.items():
        configs[name] = {"baseline": (adam, mlp(), list), "component": (adam, mlp(), make)}
    for name, pair in CNN_PAIRS.items():
        configs[name] = {
            role: (adam, lambda c=c: build_cnn(c.get("conv"), c.get("insert")), c.get("callbacks", list))
            for role, c in zip(("baseline", "component"), pair)
        }
    return configs


def _make_optimizer(factory, model):
    """Optimizer factories take no argument, or the model (for per-layer learning rates)."""
    return factory(model) if factory.__code__.co_argcount and factory.__code__.co_varnames[0] == "model" else factory()


def main(argv=None, script="benchmarks/overhead.py"):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--skip", type=int, default=5, help="batches per epoch not timed")
    parser.add_argument("--only", nargs="*", default=None, help="names (or parts of names) of the pairs to run")
    parser.add_argument("--out", default="benchmarks/results/overhead")
    args = parser.parse_args(argv)

    configs = configurations(args.width, args.depth)
    names = [n for n in configs if not args.only or any(o in n for o in args.only)]
    rng = np.random.default_rng(0)
    n = args.steps * args.batch_size
    data = {  # per model kind: (x, y, batch size)
        "mlp": (rng.normal(size=(n, 64)).astype("float32"), rng.integers(0, 10, size=n), args.batch_size),
        "cnn": (
            rng.normal(size=(args.steps * 64, 16, 16, 3)).astype("float32"),
            rng.integers(0, 10, size=args.steps * 64),
            64,
        ),
    }
    kind = {name: "cnn" if name in CNN_PAIRS else "mlp" for name in names}
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    runs = {}
    for name in names:
        x, y, batch_size = data[kind[name]]
        for role, (optimizer, make_model, make_callbacks) in configs[name].items():
            model = make_model()
            model.compile(_make_optimizer(optimizer, model), loss, jit_compile=True)
            runs[(name, role)] = (model, make_callbacks(), dict(x=x, y=y, batch_size=batch_size))
    times, ratios = time_pairs(runs, names, _Timer(args.skip), args.repeats)
    rows = summarize(times, ratios, names)
    for row in rows:
        print(
            f"{row['component']:32s} {row['baseline_ms']:8.3f} ms {row['component_ms']:8.3f} ms  "
            f"x{row['ratio']:.3f} (best vs best x{row['ratio_best']:.3f})",
            flush=True,
        )

    meta = {
        "command": f"python {script} " + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
        "machine": machine(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "model": f"MLP {args.depth}x{args.width} relu, batch {args.batch_size} (pairs marked CNN: 3 conv layers on "
        f"16x16x3, batch 64), {args.steps} steps per epoch (the first {args.skip} not timed), "
        f"median of {args.repeats} back-to-back pair ratios",
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(
            {"meta": meta, "results": rows, "raw_seconds_per_step": {f"{k[0]}|{k[1]}": v for k, v in times.items()}},
            f,
            indent=1,
        )
    lines = [
        f"`{meta['command']}` — {meta['machine']}, Keras {meta['keras']} ({meta['backend']}, XLA); {meta['model']}.",
        "",
        "| component | baseline | baseline ms/step | component ms/step | ratio (median) | ratio range | best vs best |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row, name in zip(rows, names):
        baseline = _describe_baseline(name)
        low, high = row["ratio_range"]
        lines.append(
            f"| {row['component']} | {baseline} | {row['baseline_ms']:.3f} | {row['component_ms']:.3f} "
            f"| {row['ratio']:.3f} | {low:.2f}-{high:.2f} | {row['ratio_best']:.3f} |"
        )
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def _describe_baseline(name):
    if name in PAIRS:
        return "SGD(momentum)" if PAIRS[name][0] is sgd else "Adam, constant LR"
    if name in CALLBACK_PAIRS or name.startswith("GradientStatistics"):
        return "no callback"
    if name in CNN_PAIRS:
        return name.split(" vs ")[1].replace(" (CNN)", "") + " (CNN)"
    return {
        "WeightNormalization(Dense)": "Dense",
        "InstanceNormalization": "GroupNormalization(groups=-1)",
        "FilterResponseNormalization+TLU": "LayerNormalization (no built-in FRN)",
        "Swish": "Activation('silu')",
        "DropPath": "Dropout(0.1)",
        "SkipInit": "Identity",
    }[name]


if __name__ == "__main__":
    main()
