"""Run a keras-tuner search as a chief and N worker processes on one machine."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
from collections.abc import Sequence

from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_number, fail


@kerasboost_export("kerasboost.tuning.DistributedSearchError", register=False)
class DistributedSearchError(RuntimeError):
    """A distributed search did not finish: a process failed, or the time ran out.

    Raised by `run_distributed_search`; its message names the process(es) and
    ends with the last lines of each one's log.

    Example:

    ```python
    >>> import kerasboost
    >>> issubclass(kerasboost.tuning.DistributedSearchError, RuntimeError)
    True

    ```

    References:
        - keras-tuner's distributed tuning (chief and worker processes set by
          `KERASTUNER_*` environment variables),
          https://keras.io/guides/keras_tuner/distributed_tuning/
    """


@dataclasses.dataclass
class DistributedSearch:
    """What `run_distributed_search` ran: exit codes and log files per process."""

    port: int
    returncodes: dict[str, int]
    logs: dict[str, str]
    seconds: float
    restarts: dict[str, int] = dataclasses.field(default_factory=dict)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: str, lines: int = 25) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


@kerasboost_export("kerasboost.tuning.run_distributed_search", register=False)
def run_distributed_search(
    command: Sequence[str],
    num_workers: int,
    port: int | None = None,
    timeout: float = 3600.0,
    chief_grace: float = 60.0,
    log_dir: str = ".",
    env: dict | None = None,
    max_restarts: int = 1,
) -> DistributedSearch:
    """Launch a keras-tuner chief and `num_workers` workers as processes on this machine.

    Every process runs `command` (the same script: it builds the tuner with
    one shared `directory` and `project_name` and calls `search`) with
    keras-tuner's environment: `KERASTUNER_TUNER_ID` (`chief`, `tuner0`,
    ...), `KERASTUNER_ORACLE_IP=127.0.0.1` and `KERASTUNER_ORACLE_PORT`. The
    chief serves the oracle; the workers run trials. keras-tuner's chief waits
    forever if the workers die; here, when every worker has exited and the
    chief is still up `chief_grace` seconds later, or when `timeout` passes,
    all processes are killed and `DistributedSearchError` says why, with the
    end of each log.

    A worker that dies (killed, out of memory, an error) is started again under
    its own tuner id, up to `max_restarts` times: keras-tuner's chief gives it
    back the trial it was running, which runs again from its start; the other
    workers go on meanwhile. A worker that dies once more than that stays down
    while the others finish the search; its unfinished trial is the only one
    lost (left RUNNING in the oracle), and `DistributedSearchError` then names
    the worker. The chief dying ends the search at once.

    On several machines, run the same script on each with those variables set
    by hand (the chief's address in `KERASTUNER_ORACLE_IP`); this helper is for
    multi-core and multi-GPU boxes (set `CUDA_VISIBLE_DEVICES` per worker in
    `env` overrides if needed).

    Args:
        command: the command line, e.g. `[sys.executable, "search.py"]`.
        num_workers: int >= 1.
        port: optional port for the chief; a free one by default.
        timeout: seconds for the whole search. Defaults to 3600.
        chief_grace: seconds the chief may outlive the last worker (its
            shutdown check sleeps 20 s). Defaults to 60.
        log_dir: folder for `chief.log`, `tuner0.log`, ...
        env: optional extra environment variables for every process.
        max_restarts: int >= 0, restarts per worker. Defaults to 1.

    Returns:
        A `DistributedSearch` with exit codes, log paths and each worker's restarts.

    Example:

    ```python
    >>> import sys, kerasboost
    >>> run = kerasboost.tuning.run_distributed_search  # doctest: +SKIP
    >>> run([sys.executable, "search.py"], num_workers=2, timeout=600)  # doctest: +SKIP

    ```

    References:
        - keras-tuner, "Distributed hyperparameter tuning",
          https://keras.io/guides/keras_tuner/distributed_tuning/
    """
    if isinstance(command, str) or not isinstance(command, (list, tuple)) or not command:
        raise fail("command", "a non-empty list of strings (the script's command line)", command)
    num_workers = check_number("num_workers", num_workers, low=1, integer=True)
    timeout = check_number("timeout", timeout, low=0.0, low_inclusive=False)
    chief_grace = check_number("chief_grace", chief_grace, low=0.0)
    max_restarts = check_number("max_restarts", max_restarts, low=0, integer=True)
    port = free_port() if port is None else check_number("port", port, low=1, high=65535, integer=True)
    os.makedirs(log_dir, exist_ok=True)
    base = {**os.environ, **(env or {}), "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    names = ["chief"] + [f"tuner{i}" for i in range(num_workers)]
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, str] = {}
    files: list = []
    restarts = dict.fromkeys(names[1:], 0)
    down: dict[str, int] = {}  # workers that died once more than `max_restarts`, and their exit codes

    def launch(name: str) -> None:
        logs[name] = os.path.join(log_dir, f"{name}.log")
        f = open(logs[name], "a" if name in processes else "w")  # noqa: SIM115 - closed in the `finally` below
        files.append(f)
        processes[name] = subprocess.Popen(
            list(command), env={**base, "KERASTUNER_TUNER_ID": name}, stdout=f, stderr=subprocess.STDOUT
        )

    start = time.monotonic()
    try:
        for name in names:
            launch(name)
            if name == "chief":
                time.sleep(0.5)  # the workers' first call waits for the server anyway
        workers_done_at = None
        while True:
            codes = {n: p.poll() for n, p in processes.items()}
            if codes["chief"] not in (None, 0):
                raise DistributedSearchError(_report(f"the chief exited with {codes['chief']}", logs))
            for name in names[1:]:
                if codes[name] in (None, 0) or name in down:
                    continue
                if restarts[name] < max_restarts:
                    restarts[name] += 1  # keras-tuner hands it back its unfinished trial
                    launch(name)
                    codes[name] = None
                else:
                    down[name] = int(codes[name] or 0)
            if len(down) == num_workers:
                break  # no worker left to go on with the search
            if all(c is not None for c in codes.values()):
                break
            if all(codes[n] is not None for n in names[1:]):
                workers_done_at = workers_done_at or time.monotonic()
                if time.monotonic() - workers_done_at > chief_grace:
                    if down:  # the chief waits for the lost trial(s) of the worker(s) that stayed down
                        break
                    raise DistributedSearchError(
                        _report(f"every worker exited but the chief was still waiting after {chief_grace:.0f} s", logs)
                    )
            if time.monotonic() - start > timeout:
                raise DistributedSearchError(_report(f"the search did not finish within {timeout:.0f} s", logs))
            time.sleep(0.2)
        if down:
            raise DistributedSearchError(
                _report(
                    f"worker(s) {sorted(down)} exited with {down} after {max_restarts} restart(s) and stayed down"
                    + (
                        "; the other workers finished the search (each lost worker's unfinished trial is left RUNNING)"
                        if len(down) < num_workers
                        else ""
                    ),
                    logs,
                )
            )
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for f in files:
            f.close()
    return DistributedSearch(
        port, {n: p.returncode for n, p in processes.items()}, logs, time.monotonic() - start, restarts
    )


def _report(reason: str, logs: dict) -> str:
    parts = [f"Distributed search failed: {reason}."]
    for name, path in logs.items():
        parts.append(f"--- {name} ({path}), last lines:\n{_tail(path)}")
    return "\n".join(parts)
