"""Tuning replay: the pruners on recorded learning curves, over many orders of the same trials.

`tuning.py` runs each search once per seed, so its "epochs to reach the best" depends on where
in the sampled order the best configuration happened to fall: on mnist1d RandomSearch drew its
best configuration as its 5th and 4th trial (seeds 0 and 20000), and a third of its 59 and 48
epochs leaves a pruned search 16-20. This script separates the pruner's ranking from that luck.
It takes the trials of searches that trained every trial to the end (each epoch's validation
accuracy, from `tuning.py`'s json: RandomSearch's 12 by default; `--pool` names more searches,
and a configuration two of them trained enters the pool once), replays them in many random
orders, and on each order runs:

- RandomSearch: the first `--trials` of the order, each to the end;
- kerasboost's `MedianPruner` and `ASHAPruner` (the objects the tuners use, deciding after each
  epoch what a one-worker search would have reported to them) over the whole order;
- Li et al.'s ASHA as written (the rule of kerasboost's `ASHA` tuner; its pruners stop trials
  instead): a trial pauses at each rung and resumes from there once it ranks in its rung's top
  third (once the order has run out, each rung's best resumes too);
- a bound: every trial stops after epoch 1, except the first that comes near the best.

Per data set and search it reports how often the search came within `--within` of the best trial
of the pool, the median epochs until it did (a search that never did counts as all its epochs),
the median ratio to RandomSearch on the same order, and "target met": the share of random draws
of one order per seed in which issue 40's epochs clause holds (the median over the seeds of the
search's epochs to reach at most a third of RandomSearch's median).

What a replay leaves out: wall time (builds and compiles; `tuning.py` measures them), configurations
outside the pool (a live pruned search samples 24 of its own), and the first rung's run without
XLA (a live pruned trial's early values differ a little from the recorded XLA ones: see
`tests/tuning/test_pruning.py`).

    python benchmarks/tuning_replay.py                      # RandomSearch's 12 trials per seed
    python benchmarks/tuning_replay.py --runs benchmarks/results/tuning_before_seed0.json
        # the committed tuning_replay.md: the main table before its seed 0 ran again (6486457)
    python benchmarks/tuning_replay.py --runs benchmarks/results/tuning_convnet.json \
        --out benchmarks/results/tuning_replay_convnet      # the ConvNet's trials (and tuning_convnet_digits)

Writes `benchmarks/results/tuning_replay.json` and `.md` (or `--out`); no training, about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import command_line

from kerasboost import tuning
from kerasboost.tuning.pruning import best_so_far


def curves_of(run: dict, epochs: int) -> list[list[float]]:
    """The per-trial validation accuracy curves of a search that trained every trial `epochs` epochs."""
    accuracies = run["accuracies"]
    if len(accuracies) != run["trials"] * epochs:
        raise ValueError(
            f"the replayed search must train every trial to the end: {run['trials']} trials x {epochs} epochs "
            f"is {run['trials'] * epochs} epochs, its record has {len(accuracies)}"
        )
    return [accuracies[i : i + epochs] for i in range(0, len(accuracies), epochs)]


def configurations_of(run: dict) -> list | None:
    """Each trial's hyperparameter values, in the order of its curves, if the record keeps its trial table."""
    table = run.get("trial_table")
    if not table or len(table) != run["trials"]:
        return None
    return [tuple(sorted((k, v) for k, v in row.items() if k.startswith("hp/"))) for row in table]


def pool_of(runs: dict, keys: list[str], epochs: int) -> tuple[list[list[float]], int]:
    """The curves of the searches `keys`, each configuration once, and how many repeats were left out.

    Two searches of one seed can train the same configurations: keras-tuner's BayesianOptimization
    draws its first max(3 x the number of hyperparameters, 3) trials at random from the search's
    seed, so on the MLP's space (about 20 hyperparameters) its 12 trials are RandomSearch's 12. A
    repeat is the same configuration in the trial tables or, where a record has none, the same curve.
    """
    curves: list[list[float]] = []
    seen: set = set()
    for key in keys:
        run = runs[key]
        configurations = configurations_of(run)
        for i, curve in enumerate(curves_of(run, epochs)):
            identity = ("configuration", configurations[i]) if configurations else ("curve", tuple(curve))
            if identity in seen:
                continue
            seen.update({identity, ("curve", tuple(curve))})  # a record without a table matches by curve
            curves.append(curve)
    return curves, sum(runs[key]["trials"] for key in keys) - len(curves)


def one_trial(curve: list[float], pruner, done: list[list[float]]) -> list[float]:
    """The values of `curve` a trial reports before `pruner` (None: none) stops it, `done` holding
    the best-so-far curves of the trials before it (as far as they ran)."""
    ran: list[float] = []
    for value in curve:
        ran.append(value)
        if pruner is not None and pruner.prune(best_so_far(ran, 1.0), done):
            break
    return ran


def tally(values, spent: int, reached: int | None, target: float) -> tuple[int, int | None]:
    """(epochs run in all, the epoch the running best reached `target` or None) after `values` run."""
    for value in values:
        spent += 1
        if reached is None and value >= target:
            reached = spent
    return spent, reached


def stop(curves: list[list[float]], order, pruner, target: float) -> tuple[int | None, int]:
    """One search over `curves` taken in `order`, one trial at a time, `pruner` (kerasboost's, or
    None: every trial to the end) deciding after each epoch: (epochs until the running best reached
    `target`, or None; epochs run in all)."""
    done: list[list[float]] = []
    spent, reached = 0, None
    for index in order:
        ran = one_trial(curves[index], pruner, done)
        spent, reached = tally(ran, spent, reached, target)
        done.append(best_so_far(ran, 1.0))
    return reached, spent


def oracle(curves, order, target: float) -> tuple[int | None, int]:
    """A bound: every trial stops after epoch 1 except the first that comes near the best."""
    reaching = [i for i in order if max(curves[i]) >= target]
    if not reaching:
        return None, len(order)
    epochs = next(e for e, v in enumerate(curves[reaching[0]], 1) if v >= target)
    return list(order).index(reaching[0]) + epochs, len(order) - 1 + len(curves[reaching[0]])


def promote(curves, order, target: float, first_rung: int, reduction_factor: int = 3) -> tuple[int | None, int]:
    """Li et al.'s asynchronous successive halving on one worker: whenever the worker is free, the
    best trial of the highest rung that is in its rung's top `1 / reduction_factor` and not yet
    promoted resumes to the next rung; if none, the next configuration of `order` starts. Once
    `order` has run out (a search's end), each rung's best also goes on: without that no trial
    of 12 ever reaches a rung where fewer than `reduction_factor` trials stand."""
    epochs = len(curves[0])
    rungs = [first_rung]
    while rungs[-1] * reduction_factor < epochs:
        rungs.append(rungs[-1] * reduction_factor)
    rungs.append(epochs)  # the last rung: the end of training
    at: list[dict] = [{} for _ in rungs]  # rung -> {trial: its best value up to that rung}
    promoted: list[set] = [set() for _ in rungs]
    pending = list(order)
    spent, reached = 0, None
    while True:
        job = None
        for k in range(len(rungs) - 2, -1, -1):
            keep = len(at[k]) // reduction_factor if pending else max(1, len(at[k]) // reduction_factor)
            ranked = sorted(at[k], key=at[k].get, reverse=True)[:keep]
            waiting = [t for t in ranked if t not in promoted[k]]
            if waiting:
                job = (waiting[0], k)
                break
        if job is not None:
            trial, k = job
            promoted[k].add(trial)
            spent, reached = tally(curves[trial][rungs[k] : rungs[k + 1]], spent, reached, target)
            at[k + 1][trial] = max(curves[trial][: rungs[k + 1]])
        elif pending:
            trial = pending.pop(0)
            spent, reached = tally(curves[trial][: rungs[0]], spent, reached, target)
            at[0][trial] = max(curves[trial][: rungs[0]])
        else:
            return reached, spent


def searches(reduction_factors=(3,)) -> dict:
    """The searches replayed, each (curves, order, target) -> (epochs to reach or None, epochs in
    all): RandomSearch, kerasboost's pruners stopping trials, Li et al.'s ASHA as written (the
    rule of kerasboost's `ASHA` tuner: each trial paused at a rung and resumed from there when
    it ranks in the rung's top 1 / reduction factor), and a bound no pruner can beat.
    The ASHA searches run with each of `reduction_factors` (named without it for 3, the default)."""
    found = {"RandomSearch": lambda c, o, t: stop(c, o, None, t)}
    for e in (1, 2, 3):
        found[f"median (from epoch {e})"] = lambda c, o, t, e=e: stop(c, o, tuning.MedianPruner(e, min_trials=3), t)
    for factor in reduction_factors:
        named = "" if factor == 3 else f", reduction factor {factor}"
        for e in (1, 2, 3):
            found[f"ASHA (first rung {e}{named})"] = lambda c, o, t, e=e, f=factor: stop(
                c, o, tuning.ASHAPruner(e, reduction_factor=f), t
            )
        for e in (1, 2, 3):
            found[f"ASHA, paused trials resumed (first rung {e}{named})"] = lambda c, o, t, e=e, f=factor: promote(
                c, o, t, e, f
            )
    found["oracle (stops at epoch 1 every trial but the first near the best)"] = oracle
    return found


SEARCHES = searches()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default="benchmarks/results/tuning.json", help="a tuning.py results .json")
    parser.add_argument(
        "--pool", nargs="+", default=["RandomSearch"], help="the searches (every trial trained to the end) replayed"
    )
    parser.add_argument("--trials", type=int, default=12, help="RandomSearch's trials: the first of each order")
    parser.add_argument("--epochs", type=int, default=12, help="the epochs of each recorded trial")
    parser.add_argument("--orders", type=int, default=2000, help="random trial orders per data set and seed")
    parser.add_argument("--draws", type=int, default=2000, help="random draws of one order per seed ('target met')")
    parser.add_argument("--within", type=float, default=0.005, help="how close to the best counts as reaching it")
    parser.add_argument("--seed", type=int, default=0, help="seeds the orders")
    parser.add_argument(
        "--reduction-factors", nargs="+", type=int, default=[3], help="the ASHA searches' reduction factors (>= 2)"
    )
    parser.add_argument("--out", default="benchmarks/results/tuning_replay", help="output path without extension")
    args = parser.parse_args(argv)
    args.command = command_line("tuning_replay.py", argv)
    if min(args.reduction_factors) < 2:
        raise ValueError(f"--reduction-factors {args.reduction_factors}: each must be at least 2")
    args.searches = searches(args.reduction_factors)
    with open(args.runs) as f:
        runs = json.load(f)["runs"]
    rng = np.random.default_rng(args.seed)
    sources = sorted(
        {tuple(key.split("|")[:2]) for key in runs if key.endswith("|" + args.pool[0])}, key=lambda k: (k[0], int(k[1]))
    )
    if not sources:
        raise ValueError(f"--pool {args.pool[0]!r}: {args.runs} holds no such search")
    results: dict = {}  # "dataset|seed|search" -> per order: (epochs to reach or None, epochs in all)
    pool_best: dict = {}
    args.pool_sizes, args.repeats = {}, {}
    for dataset, seed in sources:
        curves, repeats = pool_of(runs, [f"{dataset}|{seed}|{name}" for name in args.pool], args.epochs)
        if not 0 < args.trials <= len(curves):
            raise ValueError(
                f"--trials {args.trials}: RandomSearch takes 1 to {len(curves)} of the pool's trials "
                f"({dataset}, seed {seed}: {len(curves)} configurations, {repeats} repeated ones left out)"
            )
        args.pool_sizes[f"{dataset}|{seed}"], args.repeats[f"{dataset}|{seed}"] = len(curves), repeats
        best = max(max(c) for c in curves)
        pool_best[f"{dataset}|{seed}"] = best
        orders = [rng.permutation(len(curves)) for _ in range(args.orders)]
        for name, search in args.searches.items():
            taken = args.trials if name == "RandomSearch" else len(curves)  # a pruned search runs the whole pool
            results[f"{dataset}|{seed}|{name}"] = [search(curves, o[:taken], best - args.within) for o in orders]
    rows, text = report(results, pool_best, sources, args, rng)
    print(text, flush=True)
    return rows


def pool_text(args) -> str:
    """The pool's size in words: one number if every data set and seed has it, else each; repeats named."""
    sizes = sorted(set(args.pool_sizes.values()))
    text = (
        f"a pool of {sizes[0]} per data set and seed"
        if len(sizes) == 1
        else "pools of " + ", ".join(f"{size} ({key.replace('|', ' seed ')})" for key, size in args.pool_sizes.items())
    )
    repeats = sum(args.repeats.values())
    return text + (f"; {repeats} trials that repeated a configuration of the pool left out" if repeats else "")


def report(results, pool_best, sources, args, rng):
    datasets = list(dict.fromkeys(d for d, _ in sources))
    rows = []
    for dataset in datasets:
        seeds = [s for d, s in sources if d == dataset]
        baseline = {s: np.array([r or spent for r, spent in results[f"{dataset}|{s}|RandomSearch"]]) for s in seeds}
        # issue 40's epochs clause on one random order per seed: the same draws for every search
        picks = {s: rng.integers(0, args.orders, size=args.draws) for s in seeds}
        random_search = np.median([baseline[s][picks[s]] for s in seeds], axis=0)
        for name in args.searches:
            mine = {s: results[f"{dataset}|{s}|{name}"] for s in seeds}
            to_reach = {s: np.array([r or spent for r, spent in mine[s]]) for s in seeds}
            everything = np.concatenate([to_reach[s] for s in seeds])
            ratios = np.concatenate([to_reach[s] / baseline[s] for s in seeds])
            # a search that never reached the best does not meet the clause, however few its epochs
            reaching = {s: np.array([r if r is not None else np.inf for r, _ in mine[s]]) for s in seeds}
            searched = np.median([reaching[s][picks[s]] for s in seeds], axis=0)
            rows.append(
                {
                    "dataset": dataset,
                    "search": name,
                    "reached": float(np.mean([r is not None for s in seeds for r, _ in mine[s]])),
                    "epochs_to_reach": float(np.median(everything)),
                    "epochs_in_all": float(np.median([spent for s in seeds for _, spent in mine[s]])),
                    "ratio_to_random_search": float(np.median(ratios)),
                    "target_met": float(np.mean(searched <= random_search / 3)),
                    "per_seed_epochs_to_reach": {str(s): float(np.median(to_reach[s])) for s in seeds},
                }
            )
    lines = [
        f"`{args.command}` — no training: the trials of {' and '.join(args.pool)} recorded in `{args.runs}` "
        f"({args.epochs} epochs each; {pool_text(args)}) replayed in "
        f"{args.orders} random orders per data set and seed; RandomSearch runs the first {args.trials} of each "
        "order to the end, each pruned search the whole order; reached = running best within "
        f"{args.within:.1%} of the best of the pool; medians over seeds and orders (a search that never reached "
        f"counts as all its epochs); target met = share of {args.draws} draws of one order per seed in which the "
        "median over the seeds of the search's epochs to reach (a seed it never reached in: never) is at most a "
        "third of RandomSearch's.",
        "",
        "| data | search | reached | epochs to reach | ratio to RandomSearch | epochs in all | target met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['search']} | {r['reached']:.0%} | {r['epochs_to_reach']:.0f} | "
            f"{r['ratio_to_random_search']:.2f} | {r['epochs_in_all']:.0f} | {r['target_met']:.0%} |"
        )
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(
            {
                "rows": rows,
                "pool_best": pool_best,
                "pool_sizes": args.pool_sizes,
                "repeats_left_out": args.repeats,
                "command": args.command,
            },
            f,
            indent=1,
        )
    with open(args.out + ".md", "w") as f:
        f.write(text)
    return rows, text


if __name__ == "__main__":
    main()
