"""Depth benchmark: plain deep MLPs on digits, Keras's default init vs kerasboost's.

Plain MLPs of width 64 (no normalization, no residual connections) at several
depths, trained with SGD + momentum; reports final and best validation accuracy
per (activation, depth, init). Writes JSON and a Markdown table.

    python benchmarks/depth.py                      # the full grid (about 45 minutes on 2 cores)
    python benchmarks/depth.py --depths 20 --activations tanh --inits keras lsuv --epochs 5

Inits:
    keras           Keras's default, glorot_uniform
    he_normal       Keras's he_normal
    variance_for    kerasboost VarianceFor(activation)
    orthogonal_for  kerasboost OrthogonalFor(activation)
    orthogonal      kerasboost OrthogonalFor("linear") (gain 1)
    lsuv            OrthogonalFor pre-init + kerasboost lsuv on a training batch
    looks_linear    kerasboost LooksLinear (ReLU only: skipped for other activations)
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
from harness import load_digits_split, load_mnist1d_split, machine

import kerasboost  # noqa: F401
from kerasboost.initializers import LooksLinear, OrthogonalFor, VarianceFor, lsuv

INITS = ("keras", "he_normal", "variance_for", "orthogonal_for", "orthogonal", "lsuv", "looks_linear")
RELU_ONLY = ("he_normal", "looks_linear")


def kernel_initializer(init: str, activation: str, first: bool):
    if init == "looks_linear":
        return LooksLinear(input_mirrored=not first)
    return {
        "keras": "glorot_uniform",
        "he_normal": "he_normal",
        "variance_for": VarianceFor(activation),
        "orthogonal_for": OrthogonalFor(activation),
        "orthogonal": OrthogonalFor("linear"),
        "lsuv": OrthogonalFor(activation),
    }[init]


def build(depth: int, activation: str, init: str, n_features: int, width: int = 64) -> keras.Model:
    layers = [keras.Input((n_features,))]
    for i in range(depth):
        init_i = kernel_initializer(init, activation, first=i == 0)
        layers.append(keras.layers.Dense(width, activation=activation, kernel_initializer=init_i))
    layers.append(keras.layers.Dense(10))
    return keras.Sequential(layers)


def run(depth, activation, init, data, epochs, seed, lr, batch_size):
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build(depth, activation, init, x_train.shape[1])
    if init == "lsuv":
        lsuv(model, x_train[:512], seed=seed)
    model.compile(
        keras.optimizers.SGD(lr, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    start = time.perf_counter()
    history = model.fit(
        x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0
    )
    val = [0.0 if not np.isfinite(v) else v for v in history.history["val_accuracy"]]
    return {
        "depth": depth,
        "activation": activation,
        "init": init,
        "seed": seed,
        "final_val_accuracy": float(val[-1]),
        "best_val_accuracy": float(max(val)),
        "seconds": round(time.perf_counter() - start, 1),
    }


def markdown(results, data_name, epochs, lr, batch_size) -> str:
    depths = sorted({r["depth"] for r in results})
    lines = [
        f"Plain width-64 MLPs on {data_name}, SGD(lr={lr}, momentum=0.9), batch {batch_size}, "
        f"{epochs} epochs; final / best validation accuracy (mean over seeds).",
        "",
        "| activation | init | " + " | ".join(f"depth {d}" for d in depths) + " |",
        "| --- | --- | " + " | ".join("---" for _ in depths) + " |",
    ]
    keys = sorted({(r["activation"], r["init"]) for r in results}, key=lambda k: (k[0], INITS.index(k[1])))
    for activation, init in keys:
        cells = []
        for d in depths:
            rows = [r for r in results if (r["activation"], r["init"], r["depth"]) == (activation, init, d)]
            if rows:
                final = np.mean([r["final_val_accuracy"] for r in rows])
                best = np.mean([r["best_val_accuracy"] for r in rows])
                cells.append(f"{final:.3f} / {best:.3f}")
            else:
                cells.append("")
        lines.append(f"| {activation} | {init} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=["digits", "mnist1d"], default="digits")
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 20, 50, 100, 200])
    parser.add_argument("--activations", nargs="+", default=["sigmoid", "tanh", "relu"])
    parser.add_argument(
        "--inits",
        nargs="+",
        choices=INITS,
        default=["keras", "he_normal", "orthogonal_for", "orthogonal", "lsuv", "looks_linear"],
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="benchmarks/results/depth")
    args = parser.parse_args(argv)

    data = load_digits_split() if args.data == "digits" else load_mnist1d_split()
    results = []
    for activation in args.activations:
        for init in args.inits:
            if init in RELU_ONLY and activation != "relu":
                continue
            for depth in args.depths:
                for seed in args.seeds:
                    row = run(depth, activation, init, data, args.epochs, seed, args.lr, args.batch_size)
                    results.append(row)
                    print(json.dumps(row), flush=True)
                    keras.backend.clear_session()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    meta = {
        "command": "python benchmarks/depth.py " + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
        "machine": machine(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    table = markdown(results, args.data, args.epochs, args.lr, args.batch_size)
    with open(args.out + ".md", "w") as f:
        f.write(f"`{meta['command']}` — {meta['machine']}, Keras {meta['keras']} ({meta['backend']})\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    main()
