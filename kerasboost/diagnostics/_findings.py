"""The doctor's rules: from a probe's numbers to findings, each with its evidence, remedy and fix.

Causes come before symptoms. Bad inputs explain everything downstream; a forward pathology at
initialization (activations growing through depth, dead or saturated units, a signal that
vanishes) explains the gradients that follow from it; only then is the learning rate put on
trial (by the range test), and clipping or skipping non-finite steps is proposed only when
neither explains a blow-up. Nothing the model or optimizer already has is proposed again.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kerasboost import _keras
from kerasboost.diagnostics import _fixes
from kerasboost.diagnostics._probe import Data, Probe, RangeTest, optimizer_config

PROBLEMS = (
    "nonfinite",
    "activation_growth",
    "dead_units",
    "saturated_units",
    "vanishing_gradients",
    "exploding_gradients",
    "learning_rate_too_high",
    "learning_rate_too_low",
    "overfitting",
    "not_learning",
    "healthy",
)

THRESHOLDS = {
    "dead_fraction": 0.5,  # a rectifier layer with at least this fraction of units zero on every probe sample
    "saturated_fraction": 0.5,  # a tanh/sigmoid layer with at least this fraction of outputs saturated
    "activation_growth": 10.0,  # a hidden output's std over the first hidden output's std, at initialization
    "vanishing_ratio": 1e-3,  # first layer's gradient norm over the last layer's (mean over the probe)
    "vanishing_floor": 1e-8,  # a layer's mean gradient norm below this
    "exploding_norm": 1e3,  # the global gradient norm at any probe step above this
    "slow_progress": 0.25,  # the training loss fell by less than this fraction of its initial value
    "no_progress": 0.02,  # ... by less than this fraction: not learning
    "rate_above_best": 1.0,  # the peak rate above this multiple of the range test's lowest-loss rate: too high
    "rate_below_valley": 1 / 30,  # the peak rate below this multiple of the range test's valley: too low
    "overfitting_rise": 0.05,  # final validation loss this fraction above its minimum while the training loss falls
    "overfitting_gap": 2.0,  # ... and above this multiple of the final training loss
}

REMEDIES = {
    "nonfinite": "find where the NaN / Inf come from; with finite inputs: a lower learning rate or warmup, "
    "clipping, SkipNonFinite, a LossScaleOptimizer under float16",
    "activation_growth": "keep the trunk's variance bounded: a branch scale (kerasboost.layers.SkipInit, or the last "
    "layer of each branch scaled by 1/sqrt(blocks)) or normalization in each branch; warmup and clipping only "
    "treat the gradients this growth causes",
    "dead_units": "an initializer matched to the activation (kerasboost.initializers.OrthogonalFor / VarianceFor / "
    "LooksLinear, or lsuv), biases at zero; a leaky or smooth activation (leaky_relu, gelu)",
    "saturated_units": "an initializer matched to the activation (OrthogonalFor / VarianceFor with the activation's "
    "gain, or lsuv), or normalization before the activation",
    "vanishing_gradients": "an initializer matched to the activation (OrthogonalFor / VarianceFor / LooksLinear, "
    "lsuv), a non-saturating activation, residual connections or normalization",
    "exploding_gradients": "clip the global gradient norm (global_clipnorm) or "
    "kerasboost.optimizers.AdaptiveGradientClipping",
    "learning_rate_too_high": "lower the learning rate to the range test's valley (or warm up to it: "
    "kerasboost.schedules.Warmup)",
    "learning_rate_too_low": "raise the learning rate to the range test's valley (or use it as the peak of "
    "kerasboost.schedules.OneCycle)",
    "overfitting": "regularize: weight decay, dropout or augmentation, more data, and "
    "kerasboost.callbacks.EarlyStopping(restore_best_weights=True)",
    "not_learning": "check that the labels match the inputs and the loss matches the labels (from_logits, sparse "
    "vs one-hot), and that the model can represent the task",
    "healthy": "nothing to change",
}


@dataclasses.dataclass
class Finding:
    """One problem the doctor found: which layers, the numbers that triggered it, what to do.

    `evidence` holds the measured numbers with the thresholds they crossed; `fix` is a change
    `diagnose(..., try_fixes=True)` can apply to a copy (None where none applies); `statistic`
    names the number in `Diagnosis.measures` that the fix should move; `trial` holds the
    before / after numbers once the fix was tried.
    """

    problem: str
    layers: list[str]
    evidence: dict[str, Any]
    remedy: str
    fix: _fixes.Fix | None = None
    statistic: str = "val_loss"
    trial: dict[str, Any] | None = None

    def __str__(self) -> str:
        layers = f" in {span(self.layers)}" if self.layers else ""
        numbers = ", ".join(f"{k}={_number(v)}" for k, v in self.evidence.items())
        return f"{self.problem}{layers} ({numbers})"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return span([str(v) for v in value])
    return str(value)


def span(names: list[str]) -> str:
    """Layer names for a report: one, up to three, or the first and last of a longer run."""
    return names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]}" if len(names) > 3 else ", ".join(names)


# ------------------------------------------------------------------ measures


def hidden_rows(report: Any, model: keras.Model) -> list:
    """The activation-report rows of every layer but the last (the output layer)."""
    return list(report[:-1]) if report else []


def measures(probe: Probe, model: keras.Model) -> dict[str, float]:
    """The numbers the rules read (and `try_fixes` compares), from one probe."""
    loss, val = probe.series("loss"), probe.series("val_loss")
    finite_loss = loss[np.isfinite(loss)]
    result: dict[str, float] = {
        "val_loss": float(probe.final["loss"]) if math.isfinite(probe.final["loss"]) else math.inf,
        "best_val_loss": float(np.nanmin(np.where(np.isfinite(val[1:]), val[1:], np.nan)))
        if np.isfinite(val[1:]).any()
        else math.inf,
        "train_loss": float(loss[-1]) if np.isfinite(loss[-1]) else math.inf,
        "progress": float((loss[0] - finite_loss[1:].min()) / abs(loss[0]))
        if math.isfinite(loss[0]) and loss[0] != 0 and finite_loss.size > 1
        else 0.0,
        "nonfinite_steps": float(sum(r["grad_nonfinite"] > 0 for r in probe.records)),
    }
    for key in ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy"):
        if key in probe.final:
            result["val_accuracy"] = float(probe.final[key])
            break
    if probe.records and probe.layers:
        means = layer_gradient_means(probe)
        first, last = means[probe.layers[0]], means[probe.layers[-1]]
        result["first_to_last"] = first / last if last > 0 else math.nan
        result["max_grad_norm"] = float(np.nanmax([r["grad_norm"] for r in probe.records]))
    hidden = hidden_rows(probe.before, model)
    stds = [row.std for row in hidden]
    if len(stds) > 1 and stds[0] > 0:
        result["activation_growth"] = float(np.nanmax(stds) / stds[0])
        result["activation_decay"] = float(stds[-1] / stds[0])
    for key, field, report in (
        ("dead_fraction", "dead", probe.before),
        ("saturated_fraction", "saturated", probe.before),
        ("dead_fraction_after", "dead", probe.after),
    ):
        values = [getattr(row, field) for row in hidden_rows(report, model)]
        values = [v for v in values if not math.isnan(v)]
        if values:
            result[key] = float(max(values))
    return result


def layer_gradient_means(probe: Probe) -> dict[str, float]:
    """Each layer's gradient norm averaged over the probe's steps (NaN steps left out; NaN if all are)."""
    means = {}
    for name in probe.layers:
        norms = np.array([r[f"grad_norm/{name}"] for r in probe.records])
        means[name] = float(np.nanmean(norms)) if np.isfinite(norms).any() else math.nan
    return means


def layer_name(model: keras.Model, path: str) -> str:
    """A GradientStatistics layer path without the model's name in front."""
    prefix = model.name + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


# ------------------------------------------------------------------ what the model already has


def has_normalization(model: keras.Model) -> bool:
    kinds = (
        keras.layers.BatchNormalization,
        keras.layers.LayerNormalization,
        keras.layers.GroupNormalization,
        keras.layers.UnitNormalization,
    )
    return any(
        isinstance(layer, kinds) or "Normalization" in type(layer).__name__ for layer in _keras.flatten_layers(model)
    )


def clips(model: keras.Model) -> bool:
    from kerasboost.optimizers import AdaptiveGradientClipping
    from kerasboost.optimizers.wrapper import optimizer_chain

    config = optimizer_config(model.optimizer)
    chain = optimizer_chain(model.optimizer)
    return any(config.get(k) for k in ("clipnorm", "global_clipnorm", "clipvalue")) or any(
        isinstance(o, AdaptiveGradientClipping) for o in chain
    )


def skips_nonfinite(model: keras.Model) -> bool:
    from kerasboost.optimizers import SkipNonFinite
    from kerasboost.optimizers.wrapper import optimizer_chain

    return any(isinstance(o, SkipNonFinite) for o in optimizer_chain(model.optimizer))


# ------------------------------------------------------------------ the rules


def find(
    model: keras.Model,
    data: Data,
    probe: Probe,
    get_range_test: Callable[[], RangeTest | None],
    seed: int,
) -> tuple[list[Finding], dict[str, float], RangeTest | None]:
    """The findings of one probe, causes first, and the measures they read."""
    t = THRESHOLDS
    m = measures(probe, model)
    found: list[Finding] = []

    def add(problem, layers, evidence, fix=None, statistic="val_loss"):
        found.append(Finding(problem, list(layers), evidence, REMEDIES[problem], fix, statistic))

    if data.nonfinite_rows:
        add(
            "nonfinite",
            [],
            {"rows_with_nan_or_inf": data.nonfinite_rows, "where": "inputs or targets"},
            _fixes.drop_nonfinite_rows(),
        )
        return found, m, None  # every other number is NaN downstream of the data

    hidden = hidden_rows(probe.before, model)
    means = layer_gradient_means(probe)  # per layer, read by the vanishing and exploding rules
    # forward, at initialization
    forward = False
    if m.get("activation_growth", 0.0) > t["activation_growth"]:
        stds = [row.std for row in hidden]
        grown = [row.layer for row in hidden if row.std > t["activation_growth"] * stds[0]]
        ends = _fixes.residual_branch_ends(model)
        evidence = {
            "std_growth": m["activation_growth"],
            "threshold": t["activation_growth"],
            "first_std": stds[0],
            "max_std": max(stds),
        }
        if "max_grad_norm" in m:
            evidence["max_grad_norm"] = m["max_grad_norm"]
        add(
            "activation_growth",
            grown,
            evidence,
            _fixes.scale_residual_branches(ends) if ends else None,
            "activation_growth",
        )
        forward = True
    dead = [row.layer for row in hidden if not math.isnan(row.dead) and row.dead >= t["dead_fraction"]]
    if dead:
        add(
            "dead_units",
            dead,
            {"max_dead_fraction": m["dead_fraction"], "threshold": t["dead_fraction"], "when": "initialization"},
            _fixes.reinitialize(seed),
            "dead_fraction",
        )
        forward = True
    saturated = [
        row.layer for row in hidden if not math.isnan(row.saturated) and row.saturated >= t["saturated_fraction"]
    ]
    if saturated:
        add(
            "saturated_units",
            saturated,
            {"max_saturated_fraction": m["saturated_fraction"], "threshold": t["saturated_fraction"]},
            _fixes.reinitialize(seed),
            "saturated_fraction",
        )
        forward = True
    if probe.records and len(probe.layers) > 1 and not probe.nonfinite:
        last = means[probe.layers[-1]]
        tiny = [
            n for n, v in means.items() if v < t["vanishing_floor"] or (last > 0 and v < t["vanishing_ratio"] * last)
        ]
        if tiny:
            add(
                "vanishing_gradients",
                [layer_name(model, n) for n in tiny],
                {
                    "first_to_last": m.get("first_to_last", math.nan),
                    "ratio_threshold": t["vanishing_ratio"],
                    "floor": t["vanishing_floor"],
                },
                _fixes.reinitialize(seed),
                "first_to_last",
            )
            forward = True
    if forward:
        _share_fixes(found)
        return found, m, None

    # training dynamics: the learning rate on trial
    exploding = m.get("max_grad_norm", 0.0) > t["exploding_norm"]
    nonfinite = probe.nonfinite
    slow = m["progress"] < t["slow_progress"]
    died = m.get("dead_fraction_after", 0.0) >= t["dead_fraction"]
    rates = None
    if exploding or nonfinite or slow or died:
        rates = get_range_test()
    if rates is not None:
        lr, best, valley = probe.learning_rate, rates.best, rates.suggestions["valley"]
        evidence = {"learning_rate": lr, "range_test_best": best, "range_test_valley": valley}
        if lr > t["rate_above_best"] * best and (exploding or nonfinite or died or slow):
            evidence["progress"] = m["progress"]
            if nonfinite:
                evidence["nonfinite_steps"] = m["nonfinite_steps"]
            add("learning_rate_too_high", [], evidence, _fixes.learning_rate(valley))
        elif slow and lr < t["rate_below_valley"] * valley:
            evidence["progress"] = m["progress"]
            add("learning_rate_too_low", [], evidence, _fixes.learning_rate(valley))
    if not found and nonfinite:
        add(
            "nonfinite",
            [],
            {"nonfinite_steps": m["nonfinite_steps"], "where": "gradients or loss"},
            None if skips_nonfinite(model) else _fixes.skip_nonfinite(),
        )
    elif not found and exploding:
        top = sorted(probe.layers, key=lambda n: -means[n])[:3]
        add(
            "exploding_gradients",
            [layer_name(model, n) for n in top],
            {"max_grad_norm": m["max_grad_norm"], "threshold": t["exploding_norm"]},
            None if clips(model) else _fixes.clip_gradients(),
            "max_grad_norm",
        )
    elif not found and died:
        dead_after = [
            row.layer
            for row in hidden_rows(probe.after, model)
            if not math.isnan(row.dead) and row.dead >= t["dead_fraction"]
        ]
        add(
            "dead_units",
            dead_after,
            {
                "max_dead_fraction": m["dead_fraction_after"],
                "threshold": t["dead_fraction"],
                "when": "during the probe",
            },
            None,
            "dead_fraction_after",
        )
    if not found and not nonfinite:
        overfit = _overfitting(probe, m)
        if overfit is not None and data.whole_set:
            add("overfitting", [], overfit, _fixes.early_stopping(patience=max(2, len(probe.history["loss"]) // 10)))
        elif m["progress"] < t["no_progress"]:
            add("not_learning", [], {"progress": m["progress"], "threshold": t["no_progress"]})
    if not found:
        add("healthy", [], {"progress": m["progress"], "val_loss": m["val_loss"]})
    _share_fixes(found)
    return found, m, rates


def _overfitting(probe: Probe, m: dict) -> dict | None:
    val, loss = probe.series("val_loss")[1:], probe.series("loss")[1:]
    if len(val) < 3 or not np.isfinite(val).all():
        return None
    k = int(np.argmin(val))
    rise = float(val[-1] / val[k] - 1.0)
    gap = float(val[-1] / max(loss[-1], 1e-12))
    rising = rise > THRESHOLDS["overfitting_rise"] and loss[-1] < loss[k]
    if k < len(val) - 1 and rising and gap > THRESHOLDS["overfitting_gap"]:
        return {
            "val_loss_rise": rise,
            "rise_threshold": THRESHOLDS["overfitting_rise"],
            "val_to_train_loss": gap,
            "gap_threshold": THRESHOLDS["overfitting_gap"],
            "best_epoch": k + 1,
            "train_loss": float(loss[-1]),
            "val_loss": float(val[-1]),
        }
    return None


def _share_fixes(found: list[Finding]) -> None:
    """Findings with the same kind of fix share one Fix object (it is tried once)."""
    seen: dict[str, _fixes.Fix] = {}
    for finding in found:
        if finding.fix is not None:
            finding.fix = seen.setdefault(finding.fix.name, finding.fix)
