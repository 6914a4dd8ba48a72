"""GradientStatistics' host side: buffer rows to per-layer records, and the alerts read from them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kerasboost.callbacks._gradients.graph import DW_NORM, G_MAX, G_NORM, NONFINITE, W_NORM, ZEROS, Layout
from kerasboost.diagnostics import problems


def make_record(layout: Layout, step: int, epoch: int, stats: np.ndarray) -> dict:
    """One record from a buffer row `stats` (`(layers, 6)`, float64): the global values, then
    each layer's `grad_norm`, `grad_max`, `zero_fraction`, `nonfinite` and `update_ratio`."""
    g, dw, w = stats[:, G_NORM], stats[:, DW_NORM], stats[:, W_NORM]
    record = {"step": step, "epoch": epoch, "grad_norm": math.sqrt(g @ g)}
    record["update_ratio"] = math.sqrt(dw @ dw) / max(math.sqrt(w @ w), 1e-30)
    record["grad_nonfinite"] = float(stats[:, NONFINITE].sum())
    for j, name in enumerate(layout.layers):
        record[f"grad_norm/{name}"] = float(g[j])
        record[f"grad_max/{name}"] = float(stats[j, G_MAX])
        record[f"zero_fraction/{name}"] = float(stats[j, ZEROS]) / max(float(layout.layer_sizes[j]), 1.0)
        record[f"nonfinite/{name}"] = float(stats[j, NONFINITE])
        record[f"update_ratio/{name}"] = float(dw[j]) / max(float(w[j]), 1e-30)
    return record


def epoch_logs(records: list[dict], layers: list[str], layer_logs: bool) -> dict:
    """The keys GradientStatistics adds to an epoch's `logs`: means over the epoch's records."""
    mean = lambda key: float(np.mean([r[key] for r in records]))  # noqa: E731
    logs = {
        "grad_norm": mean("grad_norm"),
        "update_ratio": mean("update_ratio"),
        "grad_nonfinite": float(sum(r["grad_nonfinite"] for r in records)),
    }
    if layer_logs:
        for name in layers:
            logs[f"grad_norm/{name}"] = mean(f"grad_norm/{name}")
    return logs


def find_alerts(
    records: list[dict], layers: list[str], vanishing_ratio: float, vanishing_floor: float, exploding_threshold: float
) -> list[dict]:
    """The alerts one epoch's records raise (kind, layers, the evidence, the remedy), in the
    vocabulary of `kerasboost.diagnostics.problems`: `nonfinite`, `vanishing_gradients`,
    `exploding_gradients` (the same conditions and words as the doctor's findings)."""
    found: list[dict[str, Any]] = []
    bad = [n for n in layers if any(r[f"nonfinite/{n}"] > 0 for r in records)]
    if bad:
        found.append(
            {"kind": "nonfinite", "layers": bad, "steps": [r["step"] for r in records if r["grad_nonfinite"] > 0]}
        )
    norms = {n: float(np.mean([r[f"grad_norm/{n}"] for r in records])) for n in layers}
    tiny = problems.vanishing_layers(norms, vanishing_ratio, vanishing_floor)
    if tiny:
        first, last = norms[layers[0]], norms[layers[-1]]
        found.append(
            {
                "kind": "vanishing_gradients",
                "layers": tiny,
                "first_to_last_epoch_mean": first / last if last > 0 else float("nan"),
            }
        )
    max_norm = max(r["grad_norm"] for r in records)
    if problems.exploding(max_norm, exploding_threshold):
        top = sorted(norms, key=lambda n: norms[n], reverse=True)[:3]
        found.append({"kind": "exploding_gradients", "layers": top, "max_grad_norm": max_norm})
    for alert in found:
        alert["remedy"] = problems.remedy(alert["kind"])
    return found
