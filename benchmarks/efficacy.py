"""Training efficacy: does kerasboost measurably help, on the embedded data sets?

Five experiments, each over several seeds (mean, spread and every seed's value are written):

    depth           plain MLPs on digits, depths 10 to 200: best validation accuracy at each
                    depth and the deepest reaching 95%, Keras's default initialization vs
                    kerasboost's (LooksLinear for ReLU, OrthogonalFor("linear") for tanh)
    one_cycle       mnist1d 1-D CNN: training steps to 92% test accuracy, the range test +
                    one-cycle recipe (Smith 2017; Smith & Topin 2018) vs Adam(1e-3) constant
    gradient_noise  Neelakantan et al. 2015's deep-network case, scaled to digits: a 20x50 ReLU
                    MLP with N(0, 0.1) weights and plain SGD, with and without GradientNoise and
                    gradient clipping
    glorot          Glorot & Bengio 2010: a 5-hidden-layer MLP, sigmoid vs tanh with the "standard"
                    U[-1/sqrt(n), 1/sqrt(n)] initialization vs tanh with the normalized (Xavier)
                    one; validation accuracy and the first/last hidden layer gradient-norm ratio
                    (from kerasboost's GradientStatistics)
    sam             SAM (Foret et al. 2021) vs Adam on an MLP that overfits mnist1d
    step_size_free  untuned Prodigy and D-Adapt Adam (learning rate 1 under a cosine decay)
                    vs the best of a 5-rate grid of Adam under the same cosine, on the mnist1d
                    CNN and a digits MLP: one run against five

    python benchmarks/efficacy.py gradient_noise --seeds 0 1 2 3 4 5 6 7 8 9
    python benchmarks/efficacy.py all             # every experiment with its default seeds
    python benchmarks/efficacy.py sam --quick     # seconds: a smoke run of the code path

Each experiment writes `benchmarks/results/efficacy_<name>.json` and `.md` (the table that
docs/benchmarks.md quotes). Data are generated or bundled: scikit-learn's digits and the
`mnist1d` generator (`make_dataset`, which never downloads).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import kerasboost
from kerasboost import callbacks, optimizers, schedules

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from depth import build as build_plain_mlp
from harness import command_line, load_digits_split, load_mnist1d_split, machine, mnist1d_cnn

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _compile(model, optimizer):
    model.compile(optimizer, LOSS, metrics=["accuracy"], jit_compile=True)
    return model


def _finite(values):
    return [0.0 if not np.isfinite(v) else float(v) for v in values]


def _summary(values):
    values = np.asarray(values, "float64")
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _fmt(s, digits=3):
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"


def _fmt_g(s):
    return f"{s['mean']:.3g} ± {s['std']:.2g}"


# ---------------------------------------------------------------------------------- (1) depth

DEPTH_INITS = {"relu": ("keras", "looks_linear"), "tanh": ("keras", "orthogonal")}


def experiment_depth(seeds, quick):
    """Best validation accuracy at every depth of the sweep, per seed; the deepest depth reaching 95%."""
    depths = [3, 5] if quick else [10, 20, 50, 100, 200]
    epochs = 2 if quick else 30
    threshold = 0.95
    runs = []
    for seed in seeds:
        data = load_digits_split(seed)
        for activation, inits in DEPTH_INITS.items():
            for init in inits:
                # every depth is trained: near the threshold the accuracy is not monotone in depth
                for depth in depths:
                    keras.utils.set_random_seed(seed)
                    model = build_plain_mlp(depth, activation, init, data[0].shape[1])
                    _compile(model, keras.optimizers.SGD(1e-3, momentum=0.9))
                    history = model.fit(
                        data[0], data[1], validation_data=data[2:], epochs=epochs, batch_size=32, verbose=0
                    )
                    best = max(_finite(history.history["val_accuracy"]))
                    runs.append(
                        {
                            "seed": seed,
                            "activation": activation,
                            "init": init,
                            "depth": depth,
                            "best_val_accuracy": best,
                        }
                    )
                    print(
                        f"depth seed={seed} {activation:5s} {init:13s} depth {depth:3d}: best val acc {best:.3f}",
                        flush=True,
                    )
    names = {
        "keras": "Keras default (glorot_uniform)",
        "looks_linear": "kerasboost LooksLinear",
        "orthogonal": 'kerasboost OrthogonalFor("linear")',
    }
    rows = []
    lines = [
        f"Plain width-64 MLPs on digits, SGD(1e-3, momentum 0.9), batch 32, {epochs} epochs; every depth of "
        f"{', '.join(map(str, depths))} trained for each of seeds {', '.join(map(str, seeds))} (the seed sets the "
        f"data split and the initial weights). Cells: best validation accuracy, mean ± std over seeds; last column: "
        f"per seed, the deepest depth whose best validation accuracy reached {threshold:.0%} (0: none).",
        "",
        "| activation | initialization | "
        + " | ".join(f"depth {d}" for d in depths)
        + " | deepest reaching 95% (per seed) |",
        "| --- | --- | " + " | ".join("---" for _ in depths) + " | --- |",
    ]
    for activation, inits in DEPTH_INITS.items():
        for init in inits:
            mine = [r for r in runs if (r["activation"], r["init"]) == (activation, init)]
            per_depth = {d: _summary([r["best_val_accuracy"] for r in mine if r["depth"] == d]) for d in depths}
            deepest = [
                max([r["depth"] for r in mine if r["seed"] == seed and r["best_val_accuracy"] >= threshold], default=0)
                for seed in seeds
            ]
            rows.append(
                {
                    "activation": activation,
                    "init": init,
                    "best_val_accuracy": {str(d): v for d, v in per_depth.items()},
                    "deepest_per_seed": deepest,
                }
            )
            cells = " | ".join(_fmt(per_depth[d]) for d in depths)
            lines.append(f"| {activation} | {names[init]} | {cells} | {', '.join(map(str, deepest))} |")
    return {"runs": runs, "rows": rows}, lines


# ---------------------------------------------------------------------------------- (2) one-cycle


def _steps_to(history, key, target, steps_per_epoch):
    """Training steps at the end of the first epoch whose `key` reached `target` (None: never)."""
    for epoch, value in enumerate(history.history[key]):
        if value >= target:
            return (epoch + 1) * steps_per_epoch
    return None


def experiment_one_cycle(seeds, quick):
    target = 0.92
    batch = 64
    budgets = [2] if quick else [3, 5, 8, 12, 20]  # one-cycle lengths tried, in epochs
    adam_epochs = 2 if quick else 150
    runs = []
    for seed in seeds:
        x, y, x_test, y_test = (a[..., None] if a.ndim == 2 else a for a in load_mnist1d_split(seed))
        steps_per_epoch = math.ceil(len(x) / batch)
        # the recipe: range test (weights and optimizer restored afterwards), then one-cycle peaking
        # at the suggested `valley`; the shortest cycle whose end reaches the target counts
        model = _compile(mnist1d_cnn(x.shape[1], seed), keras.optimizers.SGD(0.01, momentum=0.9))
        finder = callbacks.LearningRateFinder(1e-4, 10.0, num_steps=20 if quick else 200)
        model.fit(x, y, batch_size=batch, epochs=10, callbacks=[finder], verbose=0)
        peak = finder.suggestions()["valley"]
        finder_steps = len(finder.learning_rates)
        one_cycle = None
        cycles = []
        for epochs in budgets:
            model = mnist1d_cnn(x.shape[1], seed)
            total = epochs * steps_per_epoch
            _compile(model, keras.optimizers.SGD(schedules.OneCycle(peak, total_steps=total), momentum=0.9))
            history = model.fit(x, y, validation_data=(x_test, y_test), batch_size=batch, epochs=epochs, verbose=0)
            final = _finite(history.history["val_accuracy"])[-1]
            cycles.append({"epochs": epochs, "steps": total, "final_test_accuracy": final})
            print(f"one_cycle seed={seed} peak {peak:.3g} cycle {epochs:2d} epochs: test acc {final:.3f}", flush=True)
            if final >= target:
                one_cycle = total
                break
        model = _compile(mnist1d_cnn(x.shape[1], seed), keras.optimizers.Adam(1e-3))
        history = model.fit(x, y, validation_data=(x_test, y_test), batch_size=batch, epochs=adam_epochs, verbose=0)
        adam = _steps_to(history, "val_accuracy", target, steps_per_epoch)
        best_adam = max(_finite(history.history["val_accuracy"]))
        print(
            f"one_cycle seed={seed} Adam(1e-3): steps to {target:.0%}: {adam} (best test acc {best_adam:.3f})",
            flush=True,
        )
        runs.append(
            {
                "seed": seed,
                "peak_learning_rate": peak,
                "finder_steps": finder_steps,
                "cycles": cycles,
                "one_cycle_steps": one_cycle,
                "adam_steps": adam,
                "adam_best_test_accuracy": best_adam,
                "adam_epochs": adam_epochs,
                "steps_per_epoch": steps_per_epoch,
            }
        )
    lines = [
        f"mnist1d (4000 training / 1000 test sequences), 3-layer 1-D CNN, batch {batch}. Recipe: `LearningRateFinder` "
        f"(SGD + momentum, 1e-4 to 10) suggests `valley`; `OneCycle` to that peak over {', '.join(map(str, budgets))} "
        f"epochs, the first cycle whose final test accuracy reaches {target:.0%} counts. Baseline: Adam(1e-3) "
        "constant, "
        f"test accuracy after every epoch, up to {adam_epochs} epochs. Steps exclude the range test's own steps.",
        "",
        "| seed | suggested peak LR | one-cycle: steps to 92% | Adam(1e-3): steps to 92% | Adam / one-cycle |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        ratio = f"{r['adam_steps'] / r['one_cycle_steps']:.1f}x" if r["adam_steps"] and r["one_cycle_steps"] else "-"
        adam = (
            r["adam_steps"]
            if r["adam_steps"]
            else f"not in {adam_epochs * r['steps_per_epoch']} (best {r['adam_best_test_accuracy']:.3f})"
        )
        lines.append(
            f"| {r['seed']} | {r['peak_learning_rate']:.3g} | {r['one_cycle_steps'] or 'not reached'} | {adam} | "
            f"{ratio} |"
        )
    return {"runs": runs}, lines


# ---------------------------------------------------------------------------------- (3) gradient noise

NOISE_VARIANTS = ("SGD", "SGD + noise", "SGD + clipping", "SGD + clipping + noise")


def deep_narrow_mlp(n_features, seed):
    keras.utils.set_random_seed(seed)
    init = keras.initializers.RandomNormal(0.0, 0.1, seed=seed)  # the paper's "bad" initialization
    layers = [keras.Input((n_features,))]
    layers += [keras.layers.Dense(50, activation="relu", kernel_initializer=init) for _ in range(20)]
    layers.append(keras.layers.Dense(10, kernel_initializer=init))
    return keras.Sequential(layers)


def experiment_gradient_noise(seeds, quick, lr=0.01, eta=0.01, clip=10.0):
    epochs = 2 if quick else 60
    runs = []
    for seed in seeds:
        data = load_digits_split(seed)
        for variant in NOISE_VARIANTS:
            kwargs = {"global_clipnorm": clip} if "clipping" in variant else {}
            optimizer = keras.optimizers.SGD(lr, **kwargs)
            if "noise" in variant:
                optimizer = optimizers.GradientNoise(optimizer, eta=eta, gamma=0.55, seed=seed)
            model = _compile(deep_narrow_mlp(data[0].shape[1], seed), optimizer)
            history = model.fit(data[0], data[1], validation_data=data[2:], epochs=epochs, batch_size=32, verbose=0)
            val = _finite(history.history["val_accuracy"])
            runs.append(
                {"seed": seed, "variant": variant, "final_val_accuracy": val[-1], "best_val_accuracy": max(val)}
            )
            print(f"gradient_noise seed={seed} {variant:24s} final {val[-1]:.3f} best {max(val):.3f}", flush=True)
    lines = [
        f"Digits, 20 hidden ReLU layers of 50 units, weights N(0, 0.1) (Neelakantan et al.'s deep-network setting), "
        f"plain SGD({lr}), batch 32, {epochs} epochs; noise `GradientNoise(eta={eta}, gamma=0.55)` "
        f"(variance eta / (1 + t)^gamma), clipping `global_clipnorm={clip}`. {len(seeds)} seeds; "
        f"'trained' = final validation accuracy above 50%.",
        "",
        "| variant | final val acc, mean ± std | best seed | worst seed | seeds trained |",
        "| --- | --- | --- | --- | --- |",
    ]
    for variant in NOISE_VARIANTS:
        final = [r["final_val_accuracy"] for r in runs if r["variant"] == variant]
        s = _summary(final)
        lines.append(
            f"| {variant} | {_fmt(s)} | {s['max']:.3f} | {s['min']:.3f} | {sum(v > 0.5 for v in final)}/{len(final)} |"
        )
    return {"runs": runs}, lines


# ---------------------------------------------------------------------------------- (4) Glorot & Bengio

GLOROT_VARIANTS = {
    # name -> (activation, kernel initializer)
    "sigmoid, standard init": ("sigmoid", lambda: keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")),
    "tanh, standard init": ("tanh", lambda: keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")),
    "tanh, normalized (Xavier) init": ("tanh", lambda: keras.initializers.GlorotUniform()),
}


def experiment_glorot(seeds, quick, width=256, lr=0.05):
    epochs = 2 if quick else 30
    runs = []
    for seed in seeds:
        data = load_digits_split(seed)
        for variant, (activation, init) in GLOROT_VARIANTS.items():
            keras.utils.set_random_seed(seed)
            layers = [keras.Input((data[0].shape[1],))]
            layers += [
                keras.layers.Dense(width, activation=activation, kernel_initializer=init(), name=f"hidden{i + 1}")
                for i in range(5)
            ]
            layers.append(keras.layers.Dense(10, name="output"))
            model = _compile(keras.Sequential(layers), keras.optimizers.SGD(lr))
            stats = callbacks.GradientStatistics(every_n_steps=1, read_every_n_steps=100)
            with warnings.catch_warnings():  # its vanishing-gradient alerts are what the table shows
                warnings.simplefilter("ignore", RuntimeWarning)
                history = model.fit(
                    data[0],
                    data[1],
                    validation_data=data[2:],
                    epochs=epochs,
                    batch_size=10,
                    verbose=0,
                    callbacks=[stats],
                )
            norms = {
                key.rsplit("/", 1)[-1]: np.asarray(v)
                for key, v in history.history.items()
                if key.startswith("grad_norm/")
            }
            first, last = norms["hidden1"], norms["hidden5"]
            val = _finite(history.history["val_accuracy"])
            runs.append(
                {
                    "seed": seed,
                    "variant": variant,
                    "final_val_accuracy": val[-1],
                    "best_val_accuracy": max(val),
                    "val_accuracy_epoch_1": val[0],
                    "grad_ratio_first_over_last_epoch_1": float(first[0] / last[0]),
                    "grad_ratio_first_over_last_mean": float(np.mean(first / last)),
                }
            )
            print(
                f"glorot seed={seed} {variant:32s} epoch-1 {val[0]:.3f} final {val[-1]:.3f} |g1|/|g5| epoch 1 "
                f"{first[0] / last[0]:.3f}",
                flush=True,
            )
    lines = [
        f"Digits, 5 hidden layers of {width} units, plain SGD({lr}), batch 10, {epochs} epochs (Glorot & Bengio's "
        "setup "
        f"scaled down: 1000-unit layers and their data sets in the paper). 'Standard' init: U[-1/sqrt(fan_in), "
        f"1/sqrt(fan_in)]. Gradient ratio: the norm of hidden layer 1's gradient over hidden layer 5's, epoch means "
        "from `GradientStatistics` (1 = gradients keep their size through the layers). Seeds "
        f"{', '.join(map(str, seeds))}.",
        "",
        "| variant | val acc after epoch 1 | final val acc | grad-norm ratio layer 1 / layer 5 (epoch 1) | same, "
        "mean over epochs |",
        "| --- | --- | --- | --- | --- |",
    ]
    for variant in GLOROT_VARIANTS:
        rows = [r for r in runs if r["variant"] == variant]
        cells = [_fmt(_summary([r[k] for r in rows])) for k in ("val_accuracy_epoch_1", "final_val_accuracy")]
        cells += [
            _fmt_g(_summary([r[k] for r in rows]))
            for k in ("grad_ratio_first_over_last_epoch_1", "grad_ratio_first_over_last_mean")
        ]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return {"runs": runs}, lines


# ---------------------------------------------------------------------------------- (5) SAM


def experiment_sam(seeds, quick, rho=0.05):
    epochs = 2 if quick else 100
    runs = []
    for seed in seeds:
        x, y, x_test, y_test = load_mnist1d_split(seed)
        for variant in ("Adam", f"SAM(rho={rho}) + Adam"):
            keras.utils.set_random_seed(seed)
            model = keras.Sequential(
                [
                    keras.Input((x.shape[1],)),
                    keras.layers.Dense(256, activation="relu"),
                    keras.layers.Dense(256, activation="relu"),
                    keras.layers.Dense(10),
                ]
            )
            if variant != "Adam":
                model = optimizers.SAM(model, rho=rho)
            _compile(model, keras.optimizers.Adam(1e-3))
            history = model.fit(x, y, validation_data=(x_test, y_test), epochs=epochs, batch_size=100, verbose=0)
            val = _finite(history.history["val_accuracy"])
            train = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
            runs.append(
                {
                    "seed": seed,
                    "variant": variant,
                    "final_test_accuracy": val[-1],
                    "best_test_accuracy": max(val),
                    "final_train_accuracy": float(train),
                }
            )
            print(
                f"sam seed={seed} {variant:22s} train {train:.3f} test final {val[-1]:.3f} best {max(val):.3f}",
                flush=True,
            )
    lines = [
        f"mnist1d (4000 training / 1000 test), MLP 2x256 ReLU (overfits: near-100% training accuracy), Adam(1e-3), "
        f"batch 100, {epochs} epochs. Seeds {', '.join(map(str, seeds))}.",
        "",
        "| variant | train acc (end) | test acc (end), mean ± std | best epoch's test acc |",
        "| --- | --- | --- | --- |",
    ]
    for variant in ("Adam", f"SAM(rho={rho}) + Adam"):
        rows = [r for r in runs if r["variant"] == variant]
        lines.append(
            f"| {variant} | {_fmt(_summary([r['final_train_accuracy'] for r in rows]))} | "
            f"{_fmt(_summary([r['final_test_accuracy'] for r in rows]))} | "
            f"{_fmt(_summary([r['best_test_accuracy'] for r in rows]))} |"
        )
    return {"runs": runs}, lines


# ---------------------------------------------------------------------------------- (6) learning-rate-free

ADAM_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
STEP_SIZE_FREE = {"Prodigy": optimizers.Prodigy, "DAdaptAdam": optimizers.DAdaptAdam}


def digits_mlp(n_features, seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((n_features,))]
        + [keras.layers.Dense(128, activation="relu") for _ in range(3)]
        + [keras.layers.Dense(10)]
    )


def _cosine(peak, total, warmup):
    schedule = keras.optimizers.schedules.CosineDecay(peak, total)
    return schedules.Warmup(schedule, warmup_steps=int(warmup * total)) if warmup else schedule


def experiment_step_size_free(seeds, quick, warmup=0.0):
    epochs = {"mnist1d CNN": 2 if quick else 30, "digits MLP": 2 if quick else 40}
    batch = {"mnist1d CNN": 64, "digits MLP": 32}
    grid = ADAM_GRID[:2] if quick else ADAM_GRID
    runs = []
    for seed in seeds:
        for task in epochs:
            if task == "mnist1d CNN":
                x, y, x_val, y_val = (a[..., None] if a.ndim == 2 else a for a in load_mnist1d_split(seed))
                build = lambda n=x.shape[1], seed=seed: mnist1d_cnn(n, seed)  # noqa: E731
            else:
                x, y, x_val, y_val = load_digits_split(seed)
                build = lambda n=x.shape[1], seed=seed: digits_mlp(n, seed)  # noqa: E731
            total = epochs[task] * math.ceil(len(x) / batch[task])
            candidates = [
                (
                    f"Adam({lr:g})",
                    lambda lr=lr, total=total: keras.optimizers.Adam(_cosine(lr, total, warmup)),
                )
                for lr in grid
            ]
            candidates += [
                (name, lambda cls=cls, total=total: cls(_cosine(1.0, total, warmup)))
                for name, cls in STEP_SIZE_FREE.items()
            ]
            for name, make in candidates:
                model = _compile(build(), make())
                logger = callbacks.LearningRateLogger()
                start = time.perf_counter()
                history = model.fit(
                    x,
                    y,
                    validation_data=(x_val, y_val),
                    batch_size=batch[task],
                    epochs=epochs[task],
                    verbose=0,
                    callbacks=[logger],
                )
                seconds = time.perf_counter() - start
                val = _finite(history.history["val_accuracy"])
                # the largest step size the estimate amounted to (logged at each epoch's end)
                step_size = max(history.history["step_size"]) if "step_size" in history.history else None
                runs.append(
                    {
                        "seed": seed,
                        "task": task,
                        "optimizer": name,
                        "final_val_accuracy": val[-1],
                        "best_val_accuracy": max(val),
                        "fit_seconds": seconds,
                        "largest_step_size": step_size,
                    }
                )
                extra = "" if step_size is None else f", largest estimated step size {step_size:.3g}"
                print(
                    f"step_size_free seed={seed} {task} {name:12s} final val acc {val[-1]:.4f} best {max(val):.4f}"
                    f" ({seconds:.0f} s{extra})",
                    flush=True,
                )
    lines = [
        "Each optimizer under `CosineDecay(peak, total_steps)` to 0 over the whole run"
        + (f" behind a linear `Warmup` over the first {warmup:.0%} of the steps" if warmup else "")
        + ": Adam at peaks "
        f"{', '.join(f'{lr:g}' for lr in grid)} (5 runs), Prodigy and DAdaptAdam with every default and peak 1.0 "
        f"(1 run each). mnist1d CNN (4000 / 1000, batch {batch['mnist1d CNN']}, {epochs['mnist1d CNN']} epochs); "
        f"digits MLP (3x128 ReLU, 1438 / 359, batch {batch['digits MLP']}, {epochs['digits MLP']} epochs). "
        f"Final validation accuracy; 'grid best': per seed, the best Adam peak's (chosen on the same validation "
        f"set, which favours the grid). Seeds {', '.join(map(str, seeds))}; median over seeds.",
        "",
        "| task | optimizer | final val acc, median (per seed) | gap to grid best, median (per seed) |",
        "| --- | --- | --- | --- |",
    ]
    for task in epochs:
        mine = [r for r in runs if r["task"] == task]
        best = {
            s: max(r["final_val_accuracy"] for r in mine if r["seed"] == s and r["optimizer"].startswith("Adam"))
            for s in seeds
        }
        names = [f"Adam({lr:g})" for lr in grid] + ["grid best"] + list(STEP_SIZE_FREE)
        for name in names:
            if name == "grid best":
                values = [best[s] for s in seeds]
                gaps = None
            else:
                values = [
                    next(r["final_val_accuracy"] for r in mine if r["seed"] == s and r["optimizer"] == name)
                    for s in seeds
                ]
                gaps = [v - best[s] for v, s in zip(values, seeds)]
            per_seed = ", ".join(f"{v:.3f}" for v in values)
            gap = "" if gaps is None else f"{np.median(gaps):+.3f} ({', '.join(f'{g:+.3f}' for g in gaps)})"
            lines.append(f"| {task} | {name} | {np.median(values):.3f} ({per_seed}) | {gap} |")
    return {"runs": runs}, lines


EXPERIMENTS = {
    "depth": (experiment_depth, [0, 1, 2]),
    "one_cycle": (experiment_one_cycle, [0, 1, 2]),
    "gradient_noise": (experiment_gradient_noise, list(range(10))),
    "glorot": (experiment_glorot, [0, 1, 2]),
    "sam": (experiment_sam, [0, 1, 2]),
    "step_size_free": (experiment_step_size_free, [0, 1, 2]),
    "step_size_free_warmup": (lambda seeds, quick: experiment_step_size_free(seeds, quick, warmup=0.05), [0, 1, 2]),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiment", choices=[*EXPERIMENTS, "all"])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="defaults: 10 seeds for gradient_noise, 3 otherwise"
    )
    parser.add_argument("--quick", action="store_true", help="tiny runs: checks the code path, not the claims")
    parser.add_argument("--out", default="benchmarks/results", help="folder for efficacy_<name>.json / .md")
    args = parser.parse_args(argv)
    names = list(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    command = command_line("efficacy.py", argv)
    os.makedirs(args.out, exist_ok=True)
    outputs = {}
    for name in names:
        function, default_seeds = EXPERIMENTS[name]
        seeds = args.seeds if args.seeds is not None else default_seeds
        start = time.perf_counter()
        result, lines = function(seeds, args.quick)
        seconds = time.perf_counter() - start
        header = (
            f"`{command}` — {machine()}, Keras {keras.__version__} ({keras.backend.backend()}, XLA), kerasboost "
            f"{kerasboost.__version__}; {seconds:.0f} s."
        )
        text = "\n".join([header, "", *lines]) + "\n"
        result["meta"] = {
            "command": command,
            "machine": machine(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "seconds": seconds,
            "seeds": seeds,
            "quick": args.quick,
        }
        with open(os.path.join(args.out, f"efficacy_{name}.json"), "w") as f:
            json.dump(result, f, indent=1)
        with open(os.path.join(args.out, f"efficacy_{name}.md"), "w") as f:
            f.write(text)
        print(text, flush=True)
        outputs[name] = result
    return outputs


if __name__ == "__main__":
    main()
