"""What the benchmark scripts share: the machine's description, the paired step timing, the
datasets and the models that more than one script uses.

The scripts run from the repository root (`python benchmarks/overhead.py`), so this folder is
first on `sys.path` and `import harness` finds this module; nothing here imports `examples/`.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np


def machine() -> str:
    """The machine a result was measured on, as the results files name it."""
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"


def command_line(script: str, argv=None) -> str:
    """The command that ran `script` with `argv` (default: this process's arguments), quoted so
    that it can be pasted back into a shell (method names hold spaces)."""
    return f"python benchmarks/{script} {shlex.join(sys.argv[1:] if argv is None else argv)}".strip()


# ----------------------------------------------------------------------------- paired timing


def time_pairs(runs, names, timer, repeats, log=None, first_fit=None):
    """Warm up, then time every (name, role) of `runs` - {(name, "baseline" | "component"):
    (compiled model, callbacks, fit data as x=, y=, batch_size=)} - for `repeats` rounds.

    The warm-up is one epoch: trace, compile and steps. Its wall time goes into the dict
    `first_fit` (seconds per key) when one is given; a model shared by several keys is compiled
    by the first of them, and the later ones time an epoch of an already compiled model.

    Pairs are timed back to back, in alternating order: drift of a shared machine cancels within
    a pair. `timer` is a callback with `seconds_per_step()`. Returns ({(name, role): [seconds per
    step, one per repeat]}, {name: [component / baseline, one per repeat]}).
    """
    for key, (model, extra, data) in runs.items():
        start = time.perf_counter()
        model.fit(**data, epochs=1, verbose=0, callbacks=extra)  # compile + warm up
        seconds = time.perf_counter() - start
        if first_fit is not None:
            first_fit[key] = seconds
        if log:
            log(f"compiled {key[0]} [{key[1]}]: first epoch {seconds:.1f} s")
    times = {key: [] for key in runs}
    ratios = {name: [] for name in names}
    for r in range(repeats):
        for name in names:
            for role in ("baseline", "component") if r % 2 == 0 else ("component", "baseline"):
                model, extra, data = runs[(name, role)]
                model.fit(**data, epochs=1, verbose=0, shuffle=False, callbacks=[timer, *extra])
                times[(name, role)].append(timer.seconds_per_step())
            ratios[name].append(times[(name, "component")][-1] / times[(name, "baseline")][-1])
    return times, ratios


def summarize(times, ratios, names):
    """Per pair: median step times (ms), the median and range of the per-repeat ratios, and the
    ratio of the two fastest epochs ("best vs best": interference from other work on a shared
    machine only adds time, so the fastest epochs are the least disturbed)."""
    rows = []
    for name in names:
        base, comp = times[(name, "baseline")], times[(name, "component")]
        rows.append(
            {
                "component": name,
                "baseline_ms": 1000 * statistics.median(base),
                "component_ms": 1000 * statistics.median(comp),
                "ratio": statistics.median(ratios[name]),
                "ratio_range": (min(ratios[name]), max(ratios[name])),
                "ratio_best": min(comp) / min(base),
            }
        )
    return rows


# ----------------------------------------------------------------------------- data and models


def load_digits_split(seed: int = 0):
    """scikit-learn's bundled digits (8x8, 1,797 images) as 64 standardized features: 80% to
    train, 20% to validate, shuffled by `seed`."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    n_val = len(x) // 5
    x_train, y_train, x_val, y_val = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    return (x_train - mean) / std, y_train, (x_val - mean) / std, y_val


def load_mnist1d_split(seed: int = 0):
    """MNIST-1D (40-sample signals, 10 classes), generated locally from `seed`, standardized."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    data = make_dataset(args)  # generated locally: never get_dataset, which downloads
    x_train, x_val = data["x"].astype("float32"), data["x_test"].astype("float32")
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    return (x_train - mean) / std, data["y"], (x_val - mean) / std, data["y_test"]


def mnist1d_cnn(length: int, seed: int = 0):
    """A three-layer 1-D CNN for MNIST-1D (the architecture of examples/lr_finder_one_cycle.py),
    logits out."""
    import keras

    keras.utils.set_random_seed(seed)
    conv = dict(kernel_size=5, padding="same", activation="relu")
    return keras.Sequential(
        [keras.Input((length, 1)), keras.layers.Conv1D(32, **conv)]
        + [keras.layers.Conv1D(32, strides=2, **conv) for _ in range(2)]
        + [keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(10)]
    )
