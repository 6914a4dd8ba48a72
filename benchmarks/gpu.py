"""Per-step overhead on a GPU: a ResNet-style CNN on the JAX backend (XLA), kerasboost vs plain Keras.

The components that cost most per step on a real accelerator: optimizer wrappers,
GradientStatistics, a schedule, and the normalization / weight-reparametrization layers used
in residual networks. Each pair trains the same network on the same synthetic 32x32x3 batches
(batch 256) under `jit_compile=True`; pairs are timed back to back in alternating order, each
timing the steps between batch `--skip` and the last one of an epoch (synchronizing with the
device at both ends), and the ratio reported is the median of the per-repeat ratios.

The device machine has JAX but not TensorFlow, so this script runs with `KERAS_BACKEND=jax`
(its default) and keras, keras-tuner and kerasboost carried as wheels
(`../shared/tools/gpu-wheels.sh` fetches them):

    KERAS_BACKEND=jax python benchmarks/gpu.py --out $OUT/gpu       # a few minutes on one H100
    KERAS_BACKEND=jax python benchmarks/gpu.py --quick               # seconds on a CPU: the code path

It runs on any backend and device; the table names the device it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from kerasboost import callbacks, layers, optimizers, schedules

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import command_line, summarize, time_pairs  # the pair timing overhead.py uses too


def sgd():
    return keras.optimizers.SGD(0.05, momentum=0.9)


# Each configuration: conv factory(filters, strides), norm factory, optimizer factory, callbacks factory
BASE = {
    "conv": lambda f, s=1: keras.layers.Conv2D(f, 3, strides=s, padding="same", use_bias=False),
    "norm": lambda: keras.layers.BatchNormalization(),
    "activation": lambda: keras.layers.ReLU(),
    "optimizer": sgd,
    "callbacks": list,
    "residual": None,
}


def variant(**changes):
    return {**BASE, **changes}


PAIRS = {
    # optimizer wrappers and a schedule: baseline SGD(momentum)
    "Lookahead(SGD)": (variant(), variant(optimizer=lambda: optimizers.Lookahead(sgd()))),
    "AdaptiveGradientClipping(SGD)": (variant(), variant(optimizer=lambda: optimizers.AdaptiveGradientClipping(sgd()))),
    "GradientCentralization(SGD)": (variant(), variant(optimizer=lambda: optimizers.GradientCentralization(sgd()))),
    "SkipNonFinite(SGD)": (variant(), variant(optimizer=lambda: optimizers.SkipNonFinite(sgd()))),
    "GradientNoise(SGD)": (variant(), variant(optimizer=lambda: optimizers.GradientNoise(sgd(), seed=0))),
    "OneCycle schedule": (
        variant(),
        variant(optimizer=lambda: keras.optimizers.SGD(schedules.OneCycle(0.05, 10_000), momentum=0.9)),
    ),
    # callbacks
    "GradientStatistics(every step, read every 100)": (
        variant(),
        variant(
            callbacks=lambda: [callbacks.GradientStatistics(every_n_steps=1, read_every_n_steps=100, layer_logs=False)]
        ),
    ),
    "EarlyStopping": (variant(), variant(callbacks=lambda: [callbacks.EarlyStopping(monitor="loss", patience=1000)])),
    # layers vs the nearest built-in
    "InstanceNormalization vs GroupNormalization(-1)": (
        variant(norm=lambda: keras.layers.GroupNormalization(groups=-1)),
        variant(norm=lambda: layers.InstanceNormalization()),
    ),
    "FilterResponseNormalization+TLU vs BatchNormalization+ReLU": (
        variant(),
        variant(norm=lambda: layers.FilterResponseNormalization(), activation=lambda: layers.TLU()),
    ),
    "WSConv2D vs Conv2D": (
        variant(),
        variant(conv=lambda f, s=1: layers.WSConv2D(f, 3, strides=s, padding="same", use_bias=False)),
    ),
    "ScaledStdConv2D vs Conv2D": (
        variant(),
        variant(conv=lambda f, s=1: layers.ScaledStdConv2D(f, 3, strides=s, padding="same", use_bias=False)),
    ),
    "WeightNormalization(Conv2D) vs Conv2D": (
        variant(),
        variant(
            conv=lambda f, s=1: layers.WeightNormalization(
                keras.layers.Conv2D(f, 3, strides=s, padding="same", use_bias=False)
            )
        ),
    ),
    "DropPath vs Dropout(per sample)": (
        variant(residual=lambda: keras.layers.Dropout(0.1, noise_shape=(None, 1, 1, 1))),
        variant(residual=lambda: layers.DropPath(0.1, seed=0)),
    ),
}


def resnet(config, image=32, widths=(32, 64, 128), blocks=2, classes=10):
    """A small pre-activation-free ResNet: stem, `blocks` basic blocks per stage, pool, dense."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((image, image, 3))
    x = config["activation"]()(config["norm"]()(config["conv"](widths[0])(inputs)))
    for stage, width in enumerate(widths):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            y = config["activation"]()(config["norm"]()(config["conv"](width, strides)(x)))
            y = config["norm"]()(config["conv"](width)(y))
            if config["residual"] is not None:
                y = config["residual"]()(y)
            if strides != 1 or x.shape[-1] != width:
                x = keras.layers.Conv2D(width, 1, strides=strides, use_bias=False)(x)
            x = config["activation"]()(keras.layers.Add()([x, y]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes)(x))


class SyncTimer(keras.callbacks.Callback):
    """Seconds per step between the end of batch `skip - 1` and the end of the last batch, with a
    device synchronization (a host copy of the loss) at both ends and nowhere else."""

    def __init__(self, skip, steps):
        super().__init__()
        self.skip, self.steps = skip, steps

    def on_train_batch_end(self, batch, logs=None):
        if batch in (self.skip - 1, self.steps - 1):
            np.asarray(keras.ops.convert_to_numpy(logs["loss"]))
            if batch == self.skip - 1:
                self.start = time.perf_counter()
            else:
                self.seconds = (time.perf_counter() - self.start) / (self.steps - self.skip)

    def seconds_per_step(self):
        return self.seconds


def device_name():
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        return f"{d.platform}: {getattr(d, 'device_kind', d)}"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"gpu: {gpus[0].name}" if gpus else f"cpu: {platform.processor() or platform.machine()}"
    return backend


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--skip", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image", type=int, default=32)
    parser.add_argument("--only", nargs="*", default=None, help="names (or parts of names) of the pairs to run")
    parser.add_argument(
        "--quick", action="store_true", help="tiny images and batches: checks the code path, not the claims"
    )
    parser.add_argument("--out", default="benchmarks/results/gpu")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps, args.skip, args.batch_size, args.image = 2, 4, 2, 4, 8
    names = [n for n in PAIRS if not args.only or any(o in n for o in args.only)]
    rng = np.random.default_rng(0)
    n = args.steps * args.batch_size
    x = rng.normal(size=(n, args.image, args.image, 3)).astype("float32")
    y = rng.integers(0, 10, size=n)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    timer = SyncTimer(args.skip, args.steps)

    runs = {}
    plain = None  # the plain network: one compiled model is the baseline of every pair that uses it
    for name in names:
        for role, config in zip(("baseline", "component"), PAIRS[name]):
            if role == "baseline" and config == BASE and plain is not None:
                model = plain
            else:
                model = resnet(config, image=args.image)
                model.compile(config["optimizer"](), loss, jit_compile=True)
                if role == "baseline" and config == BASE:
                    plain = model
            runs[(name, role)] = (model, config["callbacks"](), dict(x=x, y=y, batch_size=args.batch_size))
    log = lambda message: print(message, flush=True)  # noqa: E731
    first_fit = {}
    times, ratios = time_pairs(runs, names, timer, args.repeats, log=log, first_fit=first_fit)
    rows = summarize(times, ratios, names)
    for row in rows:
        row["first_epoch_s"] = first_fit[(row["component"], "component")]
    plain_first = next((first_fit[key] for key in first_fit if runs[key][0] is plain), None)

    device = device_name()
    command = f"KERAS_BACKEND={keras.backend.backend()} {command_line('gpu.py', argv)}"
    meta = {
        "command": command,
        "device": device,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "model": "ResNet-style CNN (3 stages x 2 basic blocks, 32-64-128 channels), synthetic "
        f"{args.image}x{args.image}x3, "
        f"batch {args.batch_size}, {args.steps} steps per epoch (the first {args.skip} not timed), median of "
        f"{args.repeats} back-to-back pair ratios",
    }
    lines = [
        f"`{command}` — {device}, Keras {meta['keras']} ({meta['backend']}, XLA); {meta['model']}.",
        "",
        "| component | baseline ms/step | component ms/step | ratio (median) | ratio range | best vs best "
        "| component's first epoch (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        low, high = row["ratio_range"]
        lines.append(
            f"| {row['component']} | {row['baseline_ms']:.3f} | {row['component_ms']:.3f} | {row['ratio']:.3f} | "
            f"{low:.2f}-{high:.2f} | {row['ratio_best']:.3f} | {row['first_epoch_s']:.1f} |"
        )
    if plain_first is not None:
        lines += [
            "",
            f"The plain network's first epoch (trace, XLA compile and {args.steps} steps): {plain_first:.1f} s; "
            "a component's first epoch is its own network's, from the same fresh start except that the "
            "process is already warm.",
        ]
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(
            {
                "meta": meta,
                "results": rows,
                "first_epoch_seconds": {f"{k[0]}|{k[1]}": v for k, v in first_fit.items()},
                "raw_seconds_per_step": {f"{k[0]}|{k[1]}": v for k, v in times.items()},
            },
            f,
            indent=1,
        )
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    return rows


if __name__ == "__main__":
    main()
