"""The main job: `kerasboost demo` diagnoses one deep plain network, then trains it twice and compares.

First `kerasboost.doctor.diagnose` probes a copy of the network as Keras builds it by
default (the `Dense` default initializer, Adam at a constant learning rate) and prints what
keeps it from training, naming layers, with the fix. Then run 1 trains that network; run 2
trains the same network with the kerasboost recipe: an initializer matched to the activation
(`LooksLinear` for ReLU, `OrthogonalFor` otherwise) followed by LSUV, a warmup + one-cycle
schedule, and early stopping. Both runs record gradient statistics in the compiled step; the
demo prints a comparison table and writes PNGs: accuracy curves, gradient flow, activation
histograms and the learning-rate curve. Offline: scikit-learn's bundled digits (or mnist1d's
generator).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
import warnings
from typing import Any

import numpy as np

from kerasboost.doctor.report import summary
from kerasboost.utils.digits import compile_model, load_data


@dataclasses.dataclass
class RunResult:
    name: str
    history: dict
    gradients: Any  # GradientStatistics
    report: Any  # ActivationReport after training
    seconds: float
    schedule: Any = None

    @property
    def best(self) -> float:
        return max(self.history["val_accuracy"])

    @property
    def final(self) -> float:
        return self.history["val_accuracy"][-1]

    @property
    def epochs(self) -> int:
        return len(self.history["val_accuracy"])


def build_mlp(input_dim: int, classes: int, depth: int, width: int, activation: str, recipe: bool):
    import keras

    from kerasboost import initializers

    layers = [keras.Input((input_dim,))]
    for i in range(depth):
        kwargs: dict[str, Any] = {}
        if recipe:
            if activation == "relu":
                kwargs["kernel_initializer"] = initializers.LooksLinear(input_mirrored=i > 0, seed=i)
            else:
                kwargs["kernel_initializer"] = initializers.OrthogonalFor(activation, seed=i)
        layers.append(keras.layers.Dense(width, activation=activation, name=f"dense_{i:02d}", **kwargs))
    layers.append(keras.layers.Dense(classes, name="logits"))
    return keras.Sequential(layers, name="recipe" if recipe else "keras_defaults")


def doctor(data, args, jit_compile: bool | str = True):
    """`kerasboost.doctor.diagnose` of the keras-defaults network before it trains (a probe
    on a copy: 200 steps in 8 epochs, or 64 in 4 with `--quick`)."""
    import keras

    from kerasboost.doctor import diagnose

    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(args.seed)
    model = build_mlp(x_train.shape[1], int(y_train.max()) + 1, args.depth, args.width, args.activation, False)
    compile_model(model, keras.optimizers.Adam(), jit_compile)
    steps, epochs = (64, 4) if args.quick else (200, 8)
    return diagnose(model, x_train, y_train, validation_data=(x_val, y_val), steps=steps, epochs=epochs, seed=args.seed)


def _compile_notice():
    """A callback that says the first epoch waits for the XLA compile of the training step, and
    how long it took (reported at the start of the second step: the first call compiled)."""
    import keras

    class CompileNotice(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            print("compiling the training step (XLA)...", flush=True)
            self._start = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            if self._start is not None and batch >= 1:
                print(f"compiled the training step in {time.perf_counter() - self._start:.1f} s", flush=True)
                self._start = None

    return CompileNotice()


def train(name, recipe, data, args, verbose, jit_compile: bool | str = True):
    import keras

    import kerasboost
    from kerasboost.diagnostics import activation_report

    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(args.seed)
    model = build_mlp(x_train.shape[1], int(y_train.max()) + 1, args.depth, args.width, args.activation, recipe)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    callbacks = []
    schedule = None
    if recipe:
        if args.activation != "relu":  # LooksLinear is exact already; LSUV corrects the rest
            kerasboost.initializers.lsuv(model, x_train[:256])
        total = steps_per_epoch * args.epochs
        schedule = kerasboost.schedules.OneCycle(args.max_lr, total_steps=total, pct_start=0.25)
        optimizer = keras.optimizers.Adam(schedule)
        callbacks.append(
            kerasboost.callbacks.EarlyStopping(
                "val_accuracy",
                patience=max(3, args.epochs // 4),
                smoothing="ema",
                smoothing_factor=0.5,
                restore_best_weights=True,
            )
        )
    else:
        optimizer = keras.optimizers.Adam()  # learning rate 1e-3, constant
    gradients = kerasboost.callbacks.GradientStatistics(read_every_n_steps=steps_per_epoch, layer_logs=False)
    callbacks.append(gradients)
    if verbose:
        callbacks.insert(0, _compile_notice())
    compile_model(model, optimizer, jit_compile)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # alerts are collected and shown in the table
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=args.epochs,
            batch_size=args.batch_size,
            callbacks=callbacks,
            verbose=2 if verbose else 0,
        )
    seconds = time.perf_counter() - start
    report = activation_report(model, x_train[:512])
    return RunResult(name, history.history, gradients, report, seconds, schedule)


def table(results: list[RunResult], diagnosis=None) -> str:
    """The comparison; the doctor's findings (before training) in the keras-defaults row."""
    rows = [("run", "final val acc", "best val acc", "epochs", "seconds", "doctor, before training")]
    for r in results:
        found = summary(diagnosis) if diagnosis is not None and r.name == "keras_defaults" else "-"
        rows.append((r.name, f"{r.final:.3f}", f"{r.best:.3f}", str(r.epochs), f"{r.seconds:.0f}", found))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for j, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + " | " + row[5] + " |")
        if j == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|---|")
    return "\n".join(lines)


def write_figures(results: list[RunResult], out: str, steps: int) -> list[str]:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasboost.diagnostics import plot_activations, plot_gradient_flow, plot_schedule

    os.makedirs(out, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for r, colour in zip(results, ("tab:red", "tab:blue")):
        epochs = np.arange(1, len(r.history["accuracy"]) + 1)
        ax.plot(epochs, r.history["accuracy"], "--", color=colour, label=f"{r.name} (train)")
        ax.plot(epochs, r.history["val_accuracy"], "-", color=colour, label=f"{r.name} (validation)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title("accuracy per epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out, "accuracy.png"))
    fig, axes = plt.subplots(1, len(results), figsize=(7 * len(results), 4.5), layout="constrained")
    for ax, r in zip(np.atleast_1d(axes), results):
        plot_gradient_flow(r.gradients.records, r.gradients.layers, ax=ax)
        ax.set_title(f"{r.name}: gradient norm per layer")
    paths.append(_save(fig, out, "gradient_flow.png"))
    for r in results:
        fig = plot_activations(r.report)
        fig.suptitle(f"{r.name}: activations after training")
        paths.append(_save(fig, out, f"activations_{r.name}.png"))
    recipe = [r for r in results if r.schedule is not None]
    if recipe:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        plot_schedule(recipe[0].schedule, steps, ax=ax)
        ax.axhline(1e-3, color="tab:red", linestyle="--", label="keras defaults: Adam 1e-3")
        ax.set_title("learning rate per step")
        ax.legend()
        paths.append(_save(fig, out, "learning_rate.png"))
    return paths


def _save(fig, out, name):
    import matplotlib.pyplot as plt

    path = os.path.join(out, name)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        choices=("digits", "mnist1d"),
        default="digits",
        help="scikit-learn's bundled digits or mnist1d's generated set (default digits)",
    )
    parser.add_argument("--depth", type=int, default=50, help="hidden layers (default 50)")
    parser.add_argument("--width", type=int, default=64, help="units per hidden layer (default 64)")
    parser.add_argument(
        "--activation",
        choices=("relu", "tanh", "sigmoid", "selu", "gelu", "elu"),
        default="relu",
        help="activation of every hidden layer (default relu)",
    )
    parser.add_argument("--epochs", type=int, default=30, help="epochs per run (default 30)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--max-lr", type=float, default=3e-3, help="the one-cycle peak of the recipe (default 3e-3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data split and the models (default 0)")
    parser.add_argument("--out", default="kerasboost-demo", help="folder for the PNGs (default kerasboost-demo)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="8 layers, 2 epochs, a 64-step probe: a smoke run of every part (under a minute on 2 CPU cores)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")


def run(args: argparse.Namespace) -> int:
    if args.quick:
        args.depth, args.epochs = min(args.depth, 8), min(args.epochs, 2)
    for name in ("depth", "width", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    import keras

    data = load_data(args.data, args.seed)
    print(
        f"kerasboost demo: {args.depth}-layer plain {args.activation} MLP (width {args.width}) on {args.data} "
        f"({len(data[0])} train / {len(data[2])} validation), {args.epochs} epochs, backend {keras.backend.backend()}"
    )
    print("\n== doctor: kerasboost.doctor.diagnose(keras_defaults model), a short probe on a copy")
    diagnosis = doctor(data, args)
    print(diagnosis)
    results = []
    for name, recipe in (("keras_defaults", False), ("kerasboost", True)):
        print(
            f"\n== {name}: "
            + (
                "Adam(1e-3), Dense default initializer"
                if not recipe
                else "matched init, warmup + one-cycle, early stopping"
            )
        )
        results.append(train(name, recipe, data, args, verbose=not args.quiet))
    print("\n" + table(results, diagnosis))
    steps = math.ceil(len(data[0]) / args.batch_size) * args.epochs
    paths = write_figures(results, args.out, steps)
    print("\nwrote " + ", ".join(paths))
    return 0
