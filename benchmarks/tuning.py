"""Tuning: how many epochs (and how much wall time) each search spends to get near the best.

One search space (kerasboost's `MLPHyperModel`, or `ConvNetHyperModel`: digits as 8x8 images,
mnist1d as 40-sample signals) on digits and mnist1d, several seeds, searched by keras-tuner's
RandomSearch, Hyperband and BayesianOptimization, by kerasboost's RandomSearch with median pruning
and with ASHA, by the Optuna search (TPE with median pruning and with ASHA), and by kerasboost's ASHA
(trials paused at each rung and resumed when they rank high). Every epoch of
every trial is recorded (its end time and validation accuracy, by one callback shared across
trials), so for each search: the epochs and the wall time (trials' model builds and XLA compiles
included) until its best validation accuracy comes within `--within` of the best any search found
on that data and seed, and its final best.

    python benchmarks/tuning.py                               # the table of issue 40 (seeds 0, 10000, 20000)
    python benchmarks/tuning.py --datasets mnist1d --hypermodel convnet \
        --out benchmarks/results/tuning_convnet               # the same with the ConvNet (Conv1D)
    python benchmarks/tuning.py --quick                       # seconds: a smoke run of the code path
    python benchmarks/tuning.py --seeds 0 --datasets digits --methods "RandomSearch + ASHA" \
        "RandomSearch + ASHA (XLA at once)" --out benchmarks/results/tuning_defer   # the first rung without XLA
    python benchmarks/tuning.py --seeds 0 1 2 --methods RandomSearch "RandomSearch (kerasboost)" \
        --out benchmarks/results/tuning_trial_cost   # the per-trial cost cuts alone, on the same trials
    python benchmarks/tuning.py --seeds 0 --datasets mnist1d --methods RandomSearch "RandomSearch + ASHA" \
        --out benchmarks/results/tuning_mnist1d_trials   # which trials ASHA stopped at epoch 1 (trial tables)
    python benchmarks/tuning.py --seeds 0 1 2 --resume --also "RandomSearch + ASHA (first rung 2)" \
        "Optuna TPE + ASHA (first rung 2)" --out benchmarks/results/tuning_seeds012   # the earlier table
    python benchmarks/tuning.py --resume --datasets mnist1d --also "RandomSearch + ASHA (first rung 3)" \
        "Optuna TPE + ASHA (first rung 3)" --out benchmarks/results/tuning_first_rung_3
        # ASHA's first rung at epoch 3 beside the table's searches: its .json started as a copy of
        # tuning.json's mnist1d searches, which --resume keeps
    python benchmarks/tuning.py --methods ASHA "ASHA (rebuilt)" "ASHA (no XLA)" "ASHA (no XLA, rebuilt)" \
        --out benchmarks/results/tuning_asha_kept   # resumed stretches on kept models, and built anew

Writes `benchmarks/results/tuning.json` and `.md` (or `--out`); the json keeps every search's
epochs and its trial table.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import keras_tuner
import numpy as np

import kerasboost
from kerasboost import tuning

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import command_line, load_digits_split, load_mnist1d_split, machine

METHODS = (
    "RandomSearch",
    "Hyperband",
    "BayesianOptimization",
    "RandomSearch + median",
    "RandomSearch + ASHA",
    "Optuna TPE + median",
    "Optuna TPE + ASHA",
    "ASHA",
)
# companions, not in the default run: the pruned searches with XLA from every trial's first epoch,
# searches without XLA at all (the hypermodel compiled with jit_compile=False), and kerasboost's
# RandomSearch without a pruner (keras-tuner's trials, seed and oracle, with kerasboost's per-trial
# cost cuts: the cut alone, side by side with keras-tuner's RandomSearch), and the ASHA searches with
# their first rung at epoch 2 or 3 (one-cycle's warmup is still low at epoch 1), and kerasboost's ASHA
# building every resumed stretch's model anew (paused_models_bytes=0: no paused model kept in memory)
EAGER_XLA, NO_XLA = " (XLA at once)", " (no XLA)"
# keras-tuner's BayesianOptimization draws max(3 x the number of hyperparameters, 3) random trials before
# its Gaussian process proposes any: the MLP's space gives more than 12, so within 12 trials it is a
# RandomSearch (the same draws, the same seed); this companion fits its process after 4 random trials
BO_MODELLED = "BayesianOptimization (4 initial points)"
REBUILT = {"ASHA (rebuilt)": "ASHA", "ASHA (no XLA, rebuilt)": "ASHA" + NO_XLA}
RUNGS = {f" (first rung {epoch})": epoch for epoch in (2, 3)}
COMPANIONS = (
    "RandomSearch (kerasboost)",
    "RandomSearch + median" + EAGER_XLA,
    "RandomSearch + ASHA" + EAGER_XLA,
    "RandomSearch" + NO_XLA,
    "Hyperband" + NO_XLA,
    "RandomSearch + ASHA" + NO_XLA,
    "ASHA" + NO_XLA,
    *(f"{search} + ASHA{rung}" for rung in RUNGS for search in ("RandomSearch", "Optuna TPE")),
    *(f"ASHA{rung}" for rung in RUNGS),
    *REBUILT,
    BO_MODELLED,
)


class EpochLog(keras.callbacks.Callback):
    """Every epoch's end time and validation accuracy, across the trials of a search (keras-tuner
    copies the callbacks of each trial: the copies share this one's list)."""

    def __init__(self, records: list) -> None:
        super().__init__()
        self.records = records

    def __deepcopy__(self, memo):
        return EpochLog(self.records)

    def on_epoch_end(self, epoch, logs=None):
        self.records.append((time.perf_counter(), float((logs or {}).get("val_accuracy", np.nan))))


HYPERMODELS = {"mlp": "MLP HyperModel", "convnet": "ConvNet HyperModel (digits: Conv2D on 8x8, mnist1d: Conv1D)"}


def make_tuner(method, hypermodel, args, seed, directory):
    kwargs = dict(objective="val_accuracy", seed=seed, directory=directory, project_name="search", overwrite=True)
    trials, epochs = args.trials, args.epochs
    kept = {} if method not in REBUILT else {"paused_models_bytes": 0}
    method = REBUILT.get(method, method)
    defer = not (args.no_defer or method.endswith(EAGER_XLA))
    rung = rung_suffix(method)
    first_rung = RUNGS.get(rung, args.asha_min_epochs)
    method = method.removesuffix(EAGER_XLA).removesuffix(NO_XLA).removesuffix(rung)
    pruned = dict(max_trials=pruned_trials(args), defer_jit_compile=defer, **kwargs)
    median = tuning.MedianPruner(min_epochs=args.median_min_epochs, min_trials=3)
    asha = tuning.ASHAPruner(min_epochs=first_rung, reduction_factor=3)
    tuner = {
        "RandomSearch": lambda: keras_tuner.RandomSearch(hypermodel, max_trials=trials, **kwargs),
        "RandomSearch (kerasboost)": lambda: tuning.RandomSearch(hypermodel, max_trials=trials, **kwargs),
        "Hyperband": lambda: keras_tuner.Hyperband(hypermodel, max_epochs=epochs, factor=3, **kwargs),
        "BayesianOptimization": lambda: keras_tuner.BayesianOptimization(hypermodel, max_trials=trials, **kwargs),
        BO_MODELLED: lambda: keras_tuner.BayesianOptimization(
            hypermodel, max_trials=trials, num_initial_points=4, **kwargs
        ),
        "RandomSearch + median": lambda: tuning.RandomSearch(hypermodel, pruner=median, **pruned),
        "RandomSearch + ASHA": lambda: tuning.RandomSearch(hypermodel, pruner=asha, **pruned),
        "Optuna TPE + median": lambda: tuning.OptunaSearch(hypermodel, pruner=median, **pruned),
        "Optuna TPE + ASHA": lambda: tuning.OptunaSearch(hypermodel, pruner=asha, **pruned),
        # Li et al.'s ASHA: paused configurations resumed when they rank high (as many as the pruned searches)
        "ASHA": lambda: tuning.ASHA(
            hypermodel,
            min_epochs=first_rung,
            reduction_factor=3,
            max_configurations=pruned_trials(args),
            defer_jit_compile=defer,
            **kept,
            **kwargs,
        ),
    }[method]()
    # keras-tuner's own tuners drew a random seed for seed 0 (kerasboost's take 0): every search of
    # a data set and seed draws from the same seed
    tuning.pruning.seed_zero(tuner.oracle, seed)
    return tuner


def rung_suffix(method):
    """The method's "(first rung N)" suffix, a key of `RUNGS` ("" for none)."""
    return next((suffix for suffix in RUNGS if method.endswith(suffix)), "")


def pruned_trials(args):
    return args.pruned_trials or 2 * args.trials


def hypermodel_for(name, data, epochs, seed, jit_compile=True):
    x = data[0]
    shared = dict(
        num_classes=10, num_samples=len(x), epochs=epochs, seed=seed, early_stopping=False, jit_compile=jit_compile
    )
    if name == "convnet":
        return tuning.ConvNetHyperModel(x.shape[1:], **shared)
    return tuning.MLPHyperModel(x.shape[1:], **shared)


def load(dataset, seed, hypermodel):
    x, y, x_val, y_val = load_digits_split(seed) if dataset == "digits" else load_mnist1d_split(seed)
    if hypermodel == "convnet":  # digits as 8x8 images (Conv2D), mnist1d as 40-sample signals (Conv1D)
        shape = (8, 8, 1) if dataset == "digits" else (x.shape[1], 1)
        x, x_val = x.reshape(-1, *shape), x_val.reshape(-1, *shape)
    return x, y, x_val, y_val


def run(method, dataset, seed, args):
    data = load(dataset, seed, args.hypermodel)
    no_xla = REBUILT.get(method, method).endswith(NO_XLA)
    hypermodel = hypermodel_for(args.hypermodel, data, args.epochs, seed, jit_compile=not no_xla)
    directory = tempfile.mkdtemp(prefix="kb-tuning-")
    records: list = []
    try:
        tuner = make_tuner(method, hypermodel, args, seed, directory)
        start = time.perf_counter()
        tuner.search(data[0], data[1], validation_data=data[2:], callbacks=[EpochLog(records)], verbose=0)
        seconds = time.perf_counter() - start
        trials = len(tuner.oracle.trials)
        # each trial's configuration, status, score and the epoch a pruner stopped it at
        detail = json.loads(tuning.trials_dataframe(tuner).to_json(orient="records"))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    times = [t - start for t, _ in records]
    accuracies = [a if np.isfinite(a) else 0.0 for _, a in records]
    return {"times": times, "accuracies": accuracies, "seconds": seconds, "trials": trials, "trial_table": detail}


def run_isolated(method, dataset, seed, args):
    """`run` in a fresh process: one process running search after search grows (every trial's
    XLA executables stay allocated) until LLVM cannot allocate memory; a fresh process per search
    also gives every search the same cold start (TensorFlow's and XLA's first-use costs)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run, method, dataset, seed, args).result()


def reach(run, target):
    """(epochs, seconds) until the running best validation accuracy reached `target` (None: never)."""
    best = -1.0
    for i, (t, a) in enumerate(zip(run["times"], run["accuracies"])):
        best = max(best, a)
        if best >= target:
            return i + 1, t
    return None, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # keras-tuner seeds each sampled value with a counter that starts at the seed and adds one per
    # value, so nearby seeds (1 and 2) draw overlapping configurations: the defaults lie far apart
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 10_000, 20_000])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"], choices=["digits", "mnist1d"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS + COMPANIONS)
    parser.add_argument("--also", nargs="+", default=[], choices=COMPANIONS, help="companions added to --methods")
    parser.add_argument("--hypermodel", default="mlp", choices=sorted(HYPERMODELS))
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument(
        "--pruned-trials", type=int, default=None, help="trials of the pruned searches (default: 2 x --trials)"
    )
    parser.add_argument("--median-min-epochs", type=int, default=1, help="the median pruner's min_epochs")
    parser.add_argument("--asha-min-epochs", type=int, default=1, help="ASHA's min_epochs (its first rung)")
    parser.add_argument("--resume", action="store_true", help="keep the searches already in --out's .json")
    parser.add_argument("--no-defer", action="store_true", help="pruned searches: XLA from the first epoch")
    parser.add_argument("--within", type=float, default=0.005, help="how close to the best counts as reaching it")
    parser.add_argument("--quick", action="store_true", help="tiny runs: checks the code path, not the claims")
    parser.add_argument("--out", default="benchmarks/results/tuning", help="output path without extension")
    parser.add_argument("--figure", default=None, help="also draw the running best per search to this image")
    parser.add_argument("--replot", default=None, help="draw --figure from this earlier run's .json; train nothing")
    args = parser.parse_args(argv)
    args.methods = list(dict.fromkeys([*args.methods, *args.also]))
    if args.replot:
        with open(args.replot) as f:
            saved = json.load(f)
        plot(saved["runs"], saved["rows"], args.figure or args.replot.replace(".json", ".png"), args.within)
        return saved["rows"]
    if args.quick:
        args.methods = [m for m in args.methods if m != "Hyperband"][:3]
        first_rungs = [RUNGS[rung_suffix(m)] for m in args.methods if rung_suffix(m)]
        # 2 epochs, or as many as a companion's first rung needs (its pruner refuses fewer)
        args.trials, args.epochs = 2, max([2, *first_rungs])
        args.seeds, args.datasets = args.seeds[:1], args.datasets[:1]
        args.pruned_trials, args.median_min_epochs, args.asha_min_epochs = args.trials, 1, 1
    command = command_line("tuning.py", argv)
    runs: dict = {}
    if args.resume and os.path.exists(args.out + ".json"):
        with open(args.out + ".json") as f:
            runs = json.load(f)["runs"]
    for seed in args.seeds:  # seeds outermost: an interrupted run has whole seeds of both datasets
        for dataset in args.datasets:
            for method in args.methods:
                key = f"{dataset}|{seed}|{method}"
                if key in runs:
                    continue
                result = runs[key] = run_isolated(method, dataset, seed, args)
                print(
                    f"{dataset} seed {seed} {method:22s}: {result['trials']} trials, {len(result['times'])} epochs, "
                    f"{result['seconds']:.0f} s, best val acc {max(result['accuracies'], default=0):.4f}",
                    flush=True,
                )
                report(runs, args, command, args.seeds)
    rows, text = report(runs, args, command, args.seeds)
    print(text, flush=True)
    if args.figure:
        plot(runs, rows, args.figure, args.within)
    return rows


def plot(runs, rows, path, within):
    """Per dataset, each search's running best validation accuracy against epochs and against
    seconds, one thin line per seed, the target (best any search found, less `within`) dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({r["dataset"] for r in rows}, key=["digits", "mnist1d"].index)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    colors = dict(zip(methods, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(2, len(datasets), figsize=(6.5 * len(datasets), 8), squeeze=False)
    for col, dataset in enumerate(datasets):
        mine = [r for r in rows if r["dataset"] == dataset]
        targets = {r["seed"]: r["best_any"] for r in mine}
        low = min(targets.values()) - 0.06
        for row, axis in enumerate(("epochs", "seconds")):
            ax = axes[row][col]
            for r in mine:
                run = runs[f"{dataset}|{r['seed']}|{r['method']}"]
                best = np.maximum.accumulate(run["accuracies"]) if run["accuracies"] else []
                x = np.arange(1, len(best) + 1) if axis == "epochs" else run["times"]
                first = r["seed"] == min(targets)
                ax.step(
                    x,
                    best,
                    where="post",
                    color=colors[r["method"]],
                    lw=1.2,
                    alpha=0.8,
                    label=r["method"] if first else None,
                )
            for target in targets.values():
                ax.axhline(target - within, color="grey", ls="--", lw=0.6)
            ax.set_ylim(low, 1.0)
            ax.set_xlabel(f"{axis} (all trials of the search)")
            ax.set_ylabel("best validation accuracy so far")
            ax.set_title(f"{dataset}: {'epochs' if axis == 'epochs' else 'wall time'} ({len(targets)} seeds)")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def report(runs, args, command, seeds):
    """The rows and the table of the (dataset, seed) pairs whose searches are all done; written
    to `args.out` (.json, .md) with every search run so far."""
    done = {(d, s) for d in args.datasets for s in seeds if all(f"{d}|{s}|{m}" in runs for m in args.methods)}
    datasets = [d for d in args.datasets if any((d, s) in done for s in seeds)]
    rows = []
    for dataset in datasets:
        for seed in [s for s in seeds if (dataset, s) in done]:
            best = max(max(runs[f"{dataset}|{seed}|{m}"]["accuracies"], default=0.0) for m in args.methods)
            for method in args.methods:
                r = runs[f"{dataset}|{seed}|{method}"]
                epochs, seconds = reach(r, best - args.within)
                rows.append(
                    {
                        "dataset": dataset,
                        "seed": seed,
                        "method": method,
                        "best_any": best,
                        "final_best": max(r["accuracies"], default=0.0),
                        "epochs_to_reach": epochs,
                        "seconds_to_reach": seconds,
                        "epochs": len(r["times"]),
                        "seconds": r["seconds"],
                        "trials": r["trials"],
                    }
                )
    medians = "; ".join(f"{d}: seeds {', '.join(str(s) for s in seeds if (d, s) in done)}" for d in datasets)
    lines = [
        f"`{command}` — {machine()}, Keras {keras.__version__} ({keras.backend.backend()}), kerasboost "
        f"{kerasboost.__version__}; each search in a fresh process. {HYPERMODELS[args.hypermodel]}, "
        f"{args.trials} trials x {args.epochs} epochs (pruned searches: {pruned_trials(args)} trials, first rung "
        f"{'with' if args.no_defer else 'without'} XLA, median pruner min_epochs {args.median_min_epochs} / "
        f"min_trials 3, ASHA min_epochs {args.asha_min_epochs} / reduction factor 3; Hyperband: max_epochs "
        f"{args.epochs}, factor 3); reached = running best validation accuracy within {args.within:.1%} of the best "
        f"any search found on that data and seed; medians over the seeds done ({medians}; a search that never "
        "reached counts as its whole run).",
        "",
        "| data | search | reached | epochs to reach | seconds to reach | trials | epochs in all | seconds in all "
        "| final best |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset in datasets:
        for method in args.methods:
            mine = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            to_epochs = [r["epochs_to_reach"] or r["epochs"] for r in mine]
            to_seconds = [r["seconds_to_reach"] or r["seconds"] for r in mine]
            reached = sum(r["epochs_to_reach"] is not None for r in mine)
            lines.append(
                f"| {dataset} | {method} | {reached}/{len(mine)} | {np.median(to_epochs):.0f} | "
                f"{np.median(to_seconds):.0f} | {np.median([r['trials'] for r in mine]):.0f} | "
                f"{np.median([r['epochs'] for r in mine]):.0f} | {np.median([r['seconds'] for r in mine]):.0f} | "
                f"{np.median([r['final_best'] for r in mine]):.4f} |"
            )
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"rows": rows, "runs": runs, "command": command, "machine": machine()}, f, indent=1)
    with open(args.out + ".md", "w") as f:
        f.write(text)
    return rows, text


if __name__ == "__main__":
    main()
