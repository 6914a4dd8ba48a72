"""A keras-tuner search run as a chief and worker processes on one machine.

keras-tuner's distributed mode runs one script in several processes: the chief (the oracle)
and the workers (the trials), told apart by `KERASTUNER_TUNER_ID` and finding the chief at
`KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT`. `kerasboost.tuning.run_distributed_search`
launches them here, on a free port, with one shared project folder, and stops everything with
an error (instead of keras-tuner's endless wait) if the workers die. On several machines, run
this script with those three variables set on each machine instead (`--role search`).

    python examples/distributed_tuner.py --workers 2          # 8 trials
    python examples/distributed_tuner.py --quick              # 1 worker, 2 trials: the CI smoke test
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile

# the processes start in a fraction of TensorFlow's time on JAX, when it is installed
os.environ.setdefault("KERAS_BACKEND", "jax" if importlib.util.find_spec("jax") else "tensorflow")

import keras_tuner
from sklearn.datasets import load_digits

import kerasboost


def search(directory, trials, epochs):
    """What every process runs: keras-tuner makes it the chief or a worker."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    hypermodel = kerasboost.tuning.MLPHyperModel(
        (64,), num_classes=10, max_layers=3, epochs=epochs, num_samples=1200, schedules=["constant", "one_cycle"]
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel, objective="val_accuracy", max_trials=trials, directory=directory, project_name="distributed", seed=0
    )
    tuner.search(x[:1200], y[:1200], validation_data=(x[1200:], y[1200:]), verbose=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--role", choices=["launch", "search"], default="launch")
    parser.add_argument("--workers", type=int, default=None, help="default 2 (--quick: 1)")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--directory", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    trials, epochs = (2, 1) if args.quick else (args.trials, args.epochs)
    if args.role == "search":
        search(args.directory, trials, epochs)
        return None
    workers = args.workers if args.workers is not None else (1 if args.quick else 2)
    directory = args.directory or tempfile.mkdtemp(prefix="kerasboost-distributed-")
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--role",
        "search",
        "--directory",
        directory,
        "--trials",
        str(trials),
        "--epochs",
        str(epochs),
    ]
    run = kerasboost.tuning.run_distributed_search(
        command,
        num_workers=workers,
        timeout=3600,
        log_dir=os.path.join(directory, "logs"),
        env={"KERAS_BACKEND": "jax" if importlib.util.find_spec("jax") else os.environ["KERAS_BACKEND"]},
    )
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=trials)
    oracle._set_project_dir(directory, "distributed")
    oracle.reload()
    frame = kerasboost.tuning.trials_dataframe(oracle).sort_values("score", ascending=False)
    print(
        f"chief + {workers} worker(s) on port {run.port}: {len(frame)} trials in {run.seconds:.0f} s; logs in "
        f"{directory}/logs"
    )
    print(frame[["trial_id", "status", "score"]].head(5).to_string(index=False))
    return {"trials": len(frame), "seconds": run.seconds, "best": float(frame["score"].iloc[0])}


if __name__ == "__main__":
    main()
