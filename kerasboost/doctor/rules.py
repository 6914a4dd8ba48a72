"""The doctor's rules: a table of small functions from one probe's measurements to findings.

Each rule reads a `Measurements` (the probe, the numbers in `measures`, the data and a lazily
run learning-rate range test) and returns a `Finding` or None. `STAGES` lists them in order of
precedence, causes before symptoms:

1. the program: the output layer's activation against the loss, the targets' encoding against
   the loss and the regression targets against the output's range (read without training);
2. the data: NaN / Inf in the inputs or targets explain everything downstream, then targets
   the loss cannot read, then inputs, then regression targets, far from unit scale (the first
   that fires);
3. the forward pass at initialization (every rule of the stage is read): the signal growing
   through depth, dead or saturated units, and the vanishing gradients that follow from them;
4. the learning rate, put on trial by the range test when the probe shows a symptom it could
   cause (the first rule that fires; a test whose suggestions sit at an end of its sweep is
   inconclusive and advises nothing);
5. the symptoms left: non-finite training, exploding gradients, units dying during training
   (the first that fires);
6. generalization: classes so unequal that the model predicts the largest, overfitting, or not
   learning at all (the first that fires).

The first two stages read no probe (`Stage.needs_probe` is False): `blocking` runs them before
the probe trains, so that a fault Keras cannot train through is reported instead of crashing
the probe. `find` stops at the first stage that found something; `healthy` when none did. Nothing the
model or optimizer already has is proposed again. The names, thresholds and remedies are the
vocabulary's (`kerasboost.diagnostics.problems`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kerasboost.diagnostics import problems, program, targets
from kerasboost.diagnostics.problems import THRESHOLDS
from kerasboost.doctor import fixes
from kerasboost.doctor.probe import Data, Probe, RangeTest, optimizer_config
from kerasboost.doctor.report import Finding
from kerasboost.optimizers import AdaptiveGradientClipping, SkipNonFinite
from kerasboost.optimizers.wrapper import optimizer_chain

# ------------------------------------------------------------------ measures


def hidden_rows(report: Any) -> list:
    """The activation-report rows of every layer but the last (the output layer)."""
    return list(report[:-1]) if report else []


def layer_gradient_means(probe: Probe) -> dict[str, float]:
    """Each layer's gradient norm averaged over the probe's steps (NaN steps left out; NaN if all are)."""
    means = {}
    for name in probe.layers:
        norms = np.array([r[f"grad_norm/{name}"] for r in probe.records])
        means[name] = float(np.nanmean(norms)) if np.isfinite(norms).any() else math.nan
    return means


def oscillation(step_losses: np.ndarray) -> dict[str, float]:
    """How much the per-step training loss swings and how much it fell: the median step-to-step
    change over the median loss of the second half of the steps (`oscillation`), and one minus the
    mean loss of the last quarter over the first quarter's (`step_fall`). Empty when there are
    fewer than 20 steps or a loss is not finite (the nonfinite rule reads those)."""
    losses = np.asarray(step_losses, "float64")
    if losses.size < 20 or not np.isfinite(losses).all():
        return {}
    half, quarter = losses[losses.size // 2 :], losses.size // 4
    level = float(np.median(np.abs(half)))
    first = float(np.mean(losses[:quarter]))
    if level == 0 or first == 0:
        return {}
    return {
        "oscillation": float(np.median(np.abs(np.diff(half)))) / level,
        "step_fall": 1.0 - float(np.mean(losses[-quarter:])) / first,
    }


# the names Keras logs an accuracy metric under, in the order they are looked for
_ACCURACY_KEYS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")


def measures(probe: Probe) -> dict[str, float]:
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
    for key in _ACCURACY_KEYS:
        if key in probe.final:
            result["val_accuracy"] = float(probe.final[key])
            break
    if probe.classes is not None:
        true, predicted = probe.classes["true"], probe.classes["predicted"]
        counts = probe.classes["train_counts"]
        result["val_balanced_accuracy"] = targets.balanced_accuracy(true, predicted)
        result["predicted_majority"] = float(np.mean(predicted == max(counts, key=counts.get)))
    if probe.r2 is not None:
        result["val_r2"] = probe.r2
    if probe.records and probe.layers:
        means = layer_gradient_means(probe)
        first, last = means[probe.layers[0]], means[probe.layers[-1]]
        result["first_to_last"] = first / last if last > 0 else math.nan
        result["max_grad_norm"] = float(np.nanmax([r["grad_norm"] for r in probe.records]))
    result.update(oscillation(probe.step_losses))
    hidden = hidden_rows(probe.before)
    stds = [row.std for row in hidden]
    if len(stds) > 1 and stds[0] > 0:
        result["activation_growth"] = float(np.nanmax(stds) / stds[0])
        result["activation_decay"] = float(stds[-1] / stds[0])
    for key, field, report in (
        ("dead_fraction", "dead", probe.before),
        ("saturated_fraction", "saturated", probe.before),
        ("dead_fraction_after", "dead", probe.after),
    ):
        values = [getattr(row, field) for row in hidden_rows(report)]
        values = [v for v in values if not math.isnan(v)]
        if values:
            result[key] = float(max(values))
    return result


def layer_name(model: keras.Model, path: str) -> str:
    """A GradientStatistics layer path without the model's name in front."""
    prefix = model.name + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


# ------------------------------------------------------------------ what the model already has


def clips(model: keras.Model) -> bool:
    config = optimizer_config(model.optimizer)
    return any(config.get(k) for k in ("clipnorm", "global_clipnorm", "clipvalue")) or any(
        isinstance(o, AdaptiveGradientClipping) for o in optimizer_chain(model.optimizer)
    )


def skips_nonfinite(model: keras.Model) -> bool:
    return any(isinstance(o, SkipNonFinite) for o in optimizer_chain(model.optimizer))


# ------------------------------------------------------------------ what every rule reads


@dataclasses.dataclass
class Measurements:
    """One probe and what was measured from it: the input of every rule."""

    model: keras.Model
    data: Data
    trained: Probe | None  # None before the probe ran (the program and data stages read no probe)
    measures: dict[str, float]
    seed: int
    run_range_test: Callable[[], RangeTest | None] = dataclasses.field(repr=False)
    range_test: RangeTest | None = None  # set once `rates()` ran it

    @property
    def probe(self) -> Probe:
        """The probe (only the stages that `needs_probe` read it)."""
        if self.trained is None:
            raise RuntimeError("this rule reads the probe: its stage must have needs_probe=True")
        return self.trained

    @functools.cached_property
    def target_fault(self) -> tuple[program.OutputSetup, targets.TargetFault] | None:
        """The first output whose targets (training, then validation) disagree with its layer and
        loss, and what is wrong."""
        for setup in program.output_setups(self.model) or []:
            for y in (self.data.y, self.data.y_val):
                fault = targets.target_fault(setup, program.output_targets(setup, y))
                if fault is not None:
                    return setup, fault
        return None

    @property
    def task_statistic(self) -> str:
        """The number that judges a fix changing the loss: the validation accuracy where the model
        reports one (the losses before and after are not comparable), else the validation loss."""
        if "val_accuracy" in self.measures or (self.trained is None and _reports_accuracy(self.model)):
            return "val_accuracy"
        return "val_loss"

    @functools.cached_property
    def hidden(self) -> list:
        return hidden_rows(self.probe.before)

    @functools.cached_property
    def gradient_means(self) -> dict[str, float]:
        return layer_gradient_means(self.probe)

    @property
    def symptom(self) -> bool:
        """Whether the probe shows something the learning rate could cause."""
        m = self.measures
        return bool(
            problems.exploding(m.get("max_grad_norm", 0.0))
            or self.probe.nonfinite
            or m["progress"] < THRESHOLDS["slow_progress"]
            or m.get("dead_fraction_after", 0.0) >= THRESHOLDS["dead_fraction"]
            or m.get("oscillation", 0.0) > THRESHOLDS["oscillation_swing"]
        )

    def rates(self) -> RangeTest | None:
        """The range test (run once, on a copy), or None when it is off or its curve is too short."""
        if self.range_test is None:
            self.range_test = self.run_range_test()
        return self.range_test


def _reports_accuracy(model: keras.Model) -> bool:
    metrics = (model.get_compile_config() or {}).get("metrics") or []
    return any("acc" in str(m) for m in keras.tree.flatten(metrics))


def finding(
    problem: str,
    layers: list,
    evidence: dict,
    fix: fixes.Fix | None = None,
    statistic: str = "val_loss",
    blocking: bool = False,
):
    """A finding of `problem` with the vocabulary's remedy."""
    return Finding(problem, list(layers), evidence, problems.remedy(problem), fix, statistic, blocking=blocking)


# ------------------------------------------------------------------ 1. the program


def output_loss_mismatch(s: Measurements) -> Finding | None:
    """The first output whose layer's activation disagrees with its loss."""
    for setup in program.output_setups(s.model) or []:
        y = program.output_targets(setup, s.data.y) if s.data is not None else None
        mismatch = program.output_mismatch(setup, targets.label_encoding(y, setup.units))
        if mismatch is None:
            continue
        evidence = {
            "activation": setup.activation,
            "units": setup.units,
            "loss": setup.loss,
            "from_logits": setup.from_logits,
            "why": mismatch.reason,
        }
        if setup.output is not None:
            evidence["output"] = setup.output
        # where the fix changes the loss, the task's metric judges it (where the model reports one);
        # where it changes the output layer only, the same loss before and after does
        statistic = s.task_statistic if mismatch.loss is not None else "val_loss"
        if setup.targets == "binary" and mismatch.loss is not None:
            # a binary loss's 'accuracy' is binary accuracy, the categorical loss's is not: the classes judge
            statistic = "val_balanced_accuracy"
        fix = fixes.match_output_to_loss(setup.layer, mismatch, setup.output)
        # where the targets also keep Keras from training this output as it is (class indices for a binary
        # loss over a softmax), the mismatch is the cause: it is reported alone, its fix judged by training
        fault = s.data is not None and s.target_fault
        blocking = bool(fault and fault[0].layer == setup.layer and fault[1].blocking)
        return finding("output_loss_mismatch", [setup.layer], evidence, fix, statistic, blocking=blocking)
    return None


def targets_against_program(s: Measurements) -> Finding | None:
    """The targets read another way than the loss reads them, or out of the output's reach."""
    if s.target_fault is None:
        return None
    setup, fault = s.target_fault
    if fault.problem not in ("target_loss_mismatch", "output_range_mismatch"):
        return None
    if fault.problem == "target_loss_mismatch":
        assert fault.loss is not None
        fix, statistic = fixes.match_loss_to_targets(fault.loss, setup.output), s.task_statistic
    else:
        mismatch = program.Mismatch(fault.reason, fault.activation or "linear", None)
        fix, statistic = fixes.match_output_to_loss(setup.layer, mismatch, setup.output), "val_loss"
    evidence = fault.evidence if setup.output is None else {**fault.evidence, "output": setup.output}
    return finding(fault.problem, [setup.layer], evidence, fix, statistic, blocking=fault.blocking)


def linear_model(s: Measurements) -> Finding | None:
    """No nonlinearity before the output layer: the model is one linear map of its inputs."""
    hidden = program.linear_hidden_layers(s.model)
    if not hidden:
        return None
    evidence = {"hidden_kernel_layers": len(hidden), "activation": "linear"}
    return finding("linear_model", hidden, evidence, fixes.add_activations(hidden))


# ------------------------------------------------------------------ 2. the data


def nonfinite_data(s: Measurements) -> Finding | None:
    if not s.data.nonfinite_rows:
        return None
    evidence = {"rows_with_nan_or_inf": s.data.nonfinite_rows, "where": "inputs or targets"}
    return finding("nonfinite", [], evidence, fixes.drop_nonfinite_rows())


def invalid_targets(s: Measurements) -> Finding | None:
    if s.target_fault is None or s.target_fault[1].problem != "invalid_targets":
        return None
    setup, fault = s.target_fault
    evidence = fault.evidence if setup.output is None else {**fault.evidence, "output": setup.output}
    fix = None
    if fault.relabel is not None:
        fix = fixes.relabel_targets(fault.relabel, setup.output)
    elif fault.units_needed is not None and "units" in s.model.get_layer(setup.layer).get_config():
        fix = fixes.resize_output(setup.layer, fault.units_needed)
    return finding("invalid_targets", [], evidence, fix, s.task_statistic, blocking=fault.blocking)


_INPUT_SCALERS = (
    keras.layers.Normalization,
    keras.layers.Rescaling,
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
)


def scales_its_inputs(model: keras.Model, index: int = 0) -> bool:
    """Whether every layer that reads the model's input `index` normalizes or rescales it."""
    try:
        operation = model.inputs[index]._keras_history.operation
    except (AttributeError, IndexError, ValueError):
        return False
    readers = [node.operation for node in getattr(operation, "_outbound_nodes", [])]
    readers = [layer for layer in readers if layer in model.layers] or [
        layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
    ][:1]
    return bool(readers) and all(isinstance(layer, _INPUT_SCALERS) for layer in readers)


def unscaled_inputs(s: Measurements) -> Finding | None:
    """Input features far from unit scale, or spread over orders of magnitude, in an input the
    model does not normalize itself (each input array of a multi-input model on its own)."""
    t, low, spread = THRESHOLDS["input_scale"], THRESHOLDS["input_scale_low"], THRESHOLDS["input_scale_spread"]
    arrays = keras.tree.flatten(s.data.x)
    if len(arrays) != len(s.model.inputs):
        return None
    flagged = []
    for i, array in enumerate(arrays):
        scales = problems.feature_scales(array)
        if (
            scales is not None
            and (scales["scale"] > t or 0 < scales["scale"] < low or scales["spread"] > spread)
            and not scales_its_inputs(s.model, i)
        ):
            flagged.append((i, scales))
    if not flagged:
        return None
    i, scales = max(flagged, key=lambda item: abs(np.log10(max(item[1]["scale"], 1e-30))))
    evidence: dict[str, Any] = {
        "largest_feature_scale": scales["scale"],
        "feature": scales["feature"],
        "scale_threshold": t if scales["scale"] >= low else low,
        "std_spread": scales["spread"],
        "spread_threshold": spread,
    }
    if len(arrays) > 1:
        names = fixes.input_layer_names(s.model)
        evidence["inputs"] = [names[j] for j, _ in flagged]
    fix = fixes.normalize_inputs([j for j, _ in flagged] if len(arrays) > 1 else None)
    return finding("unscaled_inputs", [], evidence, fix)


def unscaled_targets(s: Measurements) -> Finding | None:
    setup = program.output_setup(s.model)
    scales = targets.target_scales(setup, s.data.y) if setup is not None else None
    if setup is None or scales is None or not scales["scale"] > THRESHOLDS["target_scale"]:
        return None
    evidence = {
        "largest_target_scale": scales["scale"],
        "scale_threshold": THRESHOLDS["target_scale"],
        "target_mean": [float(v) for v in scales["mean"]],
        "target_std": [float(v) for v in scales["std"]],
        "loss": setup.loss,
    }
    fix = fixes.standardize_targets(scales["mean"], scales["std"])
    return finding("unscaled_targets", [setup.layer], evidence, fix, "val_r2")


# ------------------------------------------------------------------ 3. the forward pass at initialization


def activation_growth(s: Measurements) -> Finding | None:
    t, m = THRESHOLDS["activation_growth"], s.measures
    if not m.get("activation_growth", 0.0) > t:
        return None
    stds = [row.std for row in s.hidden]
    grown = [row.layer for row in s.hidden if row.std > t * stds[0]]
    ends = fixes.residual_branch_ends(s.model)
    evidence = {"std_growth": m["activation_growth"], "threshold": t, "first_std": stds[0], "max_std": max(stds)}
    if "max_grad_norm" in m:
        evidence["max_grad_norm"] = m["max_grad_norm"]
    fix = fixes.scale_residual_branches(ends) if ends else None
    return finding("activation_growth", grown, evidence, fix, "activation_growth")


def dead_at_initialization(s: Measurements) -> Finding | None:
    t = THRESHOLDS["dead_fraction"]
    dead = problems.layers_at_or_above(((row.layer, row.dead) for row in s.hidden), t)
    if not dead:
        return None
    evidence = {"max_dead_fraction": s.measures["dead_fraction"], "threshold": t, "when": "initialization"}
    return finding("dead_units", dead, evidence, fixes.reinitialize(s.seed), "dead_fraction")


def saturated_units(s: Measurements) -> Finding | None:
    t = THRESHOLDS["saturated_fraction"]
    saturated = problems.layers_at_or_above(((row.layer, row.saturated) for row in s.hidden), t)
    if not saturated:
        return None
    evidence = {"max_saturated_fraction": s.measures["saturated_fraction"], "threshold": t}
    return finding("saturated_units", saturated, evidence, fixes.reinitialize(s.seed), "saturated_fraction")


def vanishing_gradients(s: Measurements) -> Finding | None:
    if not s.probe.records or len(s.probe.layers) < 2 or s.probe.nonfinite:
        return None
    tiny = problems.vanishing_layers(s.gradient_means)
    if not tiny:
        return None
    evidence = {
        "first_to_last": s.measures.get("first_to_last", math.nan),
        "ratio_threshold": THRESHOLDS["vanishing_ratio"],
        "floor": THRESHOLDS["vanishing_floor"],
    }
    layers = [layer_name(s.model, n) for n in tiny]
    return finding("vanishing_gradients", layers, evidence, fixes.reinitialize(s.seed), "first_to_last")


# ------------------------------------------------------------------ 4. the learning rate, on trial


def _rate_evidence(s: Measurements, rates: RangeTest) -> dict:
    return {
        "learning_rate": s.probe.learning_rate,
        "range_test_best": rates.best,
        "range_test_valley": rates.suggestions["valley"],
    }


def learning_rate_too_high(s: Measurements) -> Finding | None:
    if not s.symptom or (rates := s.rates()) is None or rates.inconclusive:
        return None
    rate, valley = s.probe.learning_rate, rates.suggestions["valley"]
    diverged = s.probe.nonfinite and rate > THRESHOLDS["rate_above_valley"] * valley
    if not (rate > THRESHOLDS["rate_above_best"] * rates.best or diverged):
        return None
    evidence = {**_rate_evidence(s, rates), "progress": s.measures["progress"]}
    if s.probe.nonfinite:
        evidence["nonfinite_steps"] = s.measures["nonfinite_steps"]
    # the valley is the cautious end of the rates the range test allows (Smith 2017 takes the peak
    # an order of magnitude below the rate of the lowest loss): the rate halfway (geometric) between
    # the valley and the rate that failed is tried beside it, and the better trial is kept
    middle = math.sqrt(valley * rate)
    between = fixes.learning_rate(middle, "halfway between the range test's valley and your rate, on a log scale")
    fix = fixes.learning_rate(valley, alternatives=(between,) if middle > 2 * valley else ())
    return finding("learning_rate_too_high", [], evidence, fix)


def learning_rate_too_low(s: Measurements) -> Finding | None:
    if not s.measures["progress"] < THRESHOLDS["slow_progress"] or (rates := s.rates()) is None or rates.inconclusive:
        return None
    valley = rates.suggestions["valley"]
    if not s.probe.learning_rate < THRESHOLDS["rate_below_valley"] * valley:
        return None
    evidence = {**_rate_evidence(s, rates), "progress": s.measures["progress"]}
    return finding("learning_rate_too_low", [], evidence, fixes.learning_rate(valley))


# ------------------------------------------------------------------ 5. the symptoms left


def nonfinite_training(s: Measurements) -> Finding | None:
    if not s.probe.nonfinite:
        return None
    evidence = {"nonfinite_steps": s.measures["nonfinite_steps"], "where": "gradients or loss"}
    return finding("nonfinite", [], evidence, None if skips_nonfinite(s.model) else fixes.skip_nonfinite())


def exploding_gradients(s: Measurements) -> Finding | None:
    m = s.measures
    if not problems.exploding(m.get("max_grad_norm", 0.0)):
        return None
    means = s.gradient_means
    top = sorted(s.probe.layers, key=lambda n: -means[n])[:3]
    evidence = {"max_grad_norm": m["max_grad_norm"], "threshold": THRESHOLDS["exploding_norm"]}
    fix = None if clips(s.model) else fixes.clip_gradients()
    return finding("exploding_gradients", [layer_name(s.model, n) for n in top], evidence, fix, "max_grad_norm")


def dead_during_training(s: Measurements) -> Finding | None:
    t = THRESHOLDS["dead_fraction"]
    if not s.measures.get("dead_fraction_after", 0.0) >= t:
        return None
    dead = problems.layers_at_or_above(((row.layer, row.dead) for row in hidden_rows(s.probe.after)), t)
    evidence = {"max_dead_fraction": s.measures["dead_fraction_after"], "threshold": t, "when": "during the probe"}
    return finding("dead_units", dead, evidence, None, "dead_fraction_after")


def oscillating_loss(s: Measurements) -> Finding | None:
    """The per-step loss swings and does not trend down (a learning rate the range test could not
    judge, or one it did not find too high): the fix on trial is a tenth of the probe's rate."""
    m = s.measures
    swing, fall = m.get("oscillation", 0.0), m.get("step_fall", 1.0)
    if not (swing > THRESHOLDS["oscillation_swing"] and fall < THRESHOLDS["slow_progress"]):
        return None
    evidence = {
        "oscillation": swing,
        "swing_threshold": THRESHOLDS["oscillation_swing"],
        "step_fall": fall,
        "fall_threshold": THRESHOLDS["slow_progress"],
        "learning_rate": s.probe.learning_rate,
    }
    rate = s.probe.learning_rate / 10
    return finding("oscillating_loss", [], evidence, fixes.learning_rate(rate, "a tenth of the probe's peak rate"))


# ------------------------------------------------------------------ 6. generalization


def imbalanced_classes(s: Measurements) -> Finding | None:
    """Classes of very unequal size, and a model that predicts the largest for (almost) every row."""
    classes = s.probe.classes
    if classes is None or len(classes["train_counts"]) < 2:
        return None
    counts = classes["train_counts"]
    ratio = max(counts.values()) / min(counts.values())
    share = s.measures["predicted_majority"]
    if ratio < THRESHOLDS["imbalance_ratio"] or share < THRESHOLDS["majority_predictions"]:
        return None
    evidence = {
        "class_counts": {int(c): int(n) for c, n in counts.items()},
        "imbalance_ratio": ratio,
        "ratio_threshold": THRESHOLDS["imbalance_ratio"],
        "predicted_majority": share,
        "majority_threshold": THRESHOLDS["majority_predictions"],
        "val_balanced_accuracy": s.measures["val_balanced_accuracy"],
    }
    fix = fixes.class_weight(targets.balanced_weights(counts))  # the probe's count of the training classes
    return finding("imbalanced_classes", [], evidence, fix, "val_balanced_accuracy")


def _accuracy_series(probe: Probe) -> np.ndarray | None:
    for key in (*_ACCURACY_KEYS, "acc"):
        if f"val_{key}" in probe.history:
            return probe.series(f"val_{key}")
    return None


def metric_at_chance(s: Measurements) -> Finding | None:
    """The training loss falls, and the validation accuracy stays at the largest class's share over
    the probe's second half (its median there: one epoch's luck above chance is not learning; a
    single-label classifier with an accuracy metric)."""
    classes, accuracy = s.probe.classes, _accuracy_series(s.probe)
    if classes is None or accuracy is None or s.measures["progress"] < THRESHOLDS["slow_progress"]:
        return None
    counts = classes["train_counts"]
    chance = max(counts.values()) / sum(counts.values())
    epochs = accuracy[1:]
    late = epochs[len(epochs) // 2 :]
    level = float(np.median(late)) if late.size and np.isfinite(late).all() else math.nan
    if not level <= chance + THRESHOLDS["chance_margin"]:
        return None
    evidence = {
        "progress": s.measures["progress"],
        "progress_threshold": THRESHOLDS["slow_progress"],
        "val_accuracy_late": level,
        "best_val_accuracy": float(np.max(epochs)),
        "largest_class_share": chance,
        "margin": THRESHOLDS["chance_margin"],
    }
    return finding("metric_at_chance", [], evidence)


def overfitting(s: Measurements) -> Finding | None:
    if not s.data.whole_set:  # judged only when the probe saw the whole training set
        return None
    val, loss = s.probe.series("val_loss")[1:], s.probe.series("loss")[1:]
    if len(val) < 3 or not np.isfinite(val).all():
        return None
    k = int(np.argmin(val))
    peak = k + int(np.argmax(val[k:]))  # Prechelt's generalization loss at its largest after the minimum
    rise = float(val[peak] / val[k] - 1.0)
    gap = float(val[-1] / max(loss[-1], 1e-12))
    rising = rise > THRESHOLDS["overfitting_rise"] and loss[peak] < loss[k]
    if not (k < len(val) - 1 and rising and gap > THRESHOLDS["overfitting_gap"]):
        return None
    evidence = {
        "val_loss_rise": rise,
        "peak_epoch": peak + 1,
        "rise_threshold": THRESHOLDS["overfitting_rise"],
        "val_to_train_loss": gap,
        "gap_threshold": THRESHOLDS["overfitting_gap"],
        "best_epoch": k + 1,
        "train_loss": float(loss[-1]),
        "val_loss": float(val[-1]),
    }
    patience = max(2, len(s.probe.history["loss"]) // 10)
    return finding("overfitting", [], evidence, fixes.early_stopping(patience=patience))


def not_learning(s: Measurements) -> Finding | None:
    if not s.measures["progress"] < THRESHOLDS["no_progress"]:
        return None
    return finding("not_learning", [], {"progress": s.measures["progress"], "threshold": THRESHOLDS["no_progress"]})


# ------------------------------------------------------------------ the table

Rule = Callable[[Measurements], "Finding | None"]


@dataclasses.dataclass(frozen=True)
class Stage:
    """Rules read together: `every` reads all of them, else the first that fires wins."""

    name: str
    rules: tuple[Rule, ...]
    every: bool = False
    needs_probe: bool = True  # False: read before the probe trains (static checks and the data)


STAGES: tuple[Stage, ...] = (
    Stage("program", (output_loss_mismatch, targets_against_program, linear_model), needs_probe=False),
    Stage("data", (nonfinite_data, invalid_targets, unscaled_inputs, unscaled_targets), needs_probe=False),
    Stage(
        "forward pass at initialization",
        (activation_growth, dead_at_initialization, saturated_units, vanishing_gradients),
        every=True,
    ),
    Stage("learning rate", (learning_rate_too_high, learning_rate_too_low)),
    Stage("symptoms", (nonfinite_training, exploding_gradients, dead_during_training, oscillating_loss)),
    Stage("generalization", (imbalanced_classes, metric_at_chance, overfitting, not_learning)),
)
"""The rules in order of precedence: the first stage that finds something ends the reading."""


def blocking(model: keras.Model, data: Data, seed: int) -> Finding | None:
    """A fault of the program or the data that keeps Keras from training the model at all (targets
    of a shape the loss rejects, class indices out of range), read before any probe; None if none."""
    s = Measurements(model, data, None, {}, seed, lambda: None)
    for stage in STAGES:
        if stage.needs_probe:
            break
        for rule in stage.rules:
            result = rule(s)
            if result is not None and result.blocking:
                return result
    return None


def find(
    model: keras.Model,
    data: Data,
    probe: Probe,
    run_range_test: Callable[[], RangeTest | None],
    seed: int,
) -> tuple[list[Finding], dict[str, float], RangeTest | None]:
    """The findings of one probe (causes first), the measures they read, and the range test if it ran."""
    s = Measurements(model, data, probe, measures(probe), seed, run_range_test)
    found: list[Finding] = []
    for stage in STAGES:
        for rule in stage.rules:
            result = rule(s)
            if result is not None:
                found.append(result)
                if not stage.every:
                    break
        if found:
            break
    if not found:
        found.append(finding("healthy", [], {"progress": s.measures["progress"], "val_loss": s.measures["val_loss"]}))
    _share_fixes(found)
    return found, s.measures, s.range_test


def _share_fixes(found: list[Finding]) -> None:
    """Findings with the same kind of fix share one Fix object (it is tried once)."""
    seen: dict[str, fixes.Fix] = {}
    for f in found:
        if f.fix is not None:
            f.fix = seen.setdefault(f.fix.name, f.fix)
