"""The vocabulary of training problems: each problem once, as data.

A problem has a name, a one-line meaning, the thresholds its rule reads (each named, with the
paper or measurement its value comes from), the remedy in words and the names of the doctor's
fixes that treat it. `GradientStatistics` and `ActivationStatistics` alerts, the doctor's
findings (`kerasboost.doctor`), the `kerasboost doctor` command and the doctor guide's table
all read this module: an alert and a finding for the same condition carry the same name, the
same threshold and the same words.

The conditions both the callbacks and the doctor test are functions here too
(`vanishing_layers`, `exploding`, `dead_layers`, `saturated_layers`), so that "vanishing" means
one thing wherever it is reported.

Adding a problem: one `Problem` entry below (in order of precedence: causes before symptoms),
its thresholds, one rule in `kerasboost.doctor.rules`, and its tests (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np


@dataclasses.dataclass(frozen=True)
class Threshold:
    """A named number a rule compares a measurement with, and where its value comes from."""

    name: str
    value: float
    meaning: str
    source: str


@dataclasses.dataclass(frozen=True)
class Problem:
    """One training problem: what it means, what detects it, what treats it."""

    name: str
    meaning: str
    remedy: str
    thresholds: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()  # names of the doctor's fixes (kerasboost.doctor.fixes) that treat it


_MEASURED = "measured on this project's planted sick models (benchmarks/doctor.py, docs/benchmarks.md)"

_THRESHOLDS = (
    Threshold(
        "input_scale",
        10.0,
        "an input feature whose mean or standard deviation is above this: the inputs are far from unit scale",
        "LeCun, Bottou, Orr & Muller 1998 (Efficient BackProp: centred inputs of similar, unit variance); "
        "the value: raw pixels (0..255) and raw counts exceed it by far, standardized data never reaches it",
    ),
    Threshold(
        "input_scale_low",
        0.01,
        "every input feature's mean and standard deviation below this: the inputs are far below unit scale (pixels "
        "divided by 255 twice), and the first layer's weights must grow by orders of magnitude before it learns",
        "LeCun, Bottou, Orr & Muller 1998 (Efficient BackProp: inputs of unit variance); the value: two orders of "
        "magnitude below unit scale, where pixels in [0, 1] (std about 0.3) and rare binary features never are",
    ),
    Threshold(
        "input_scale_spread",
        100.0,
        "the largest feature standard deviation over the median one (constant features left out) above this",
        "LeCun, Bottou, Orr & Muller 1998; the value: two orders of magnitude, as a price next to a count",
    ),
    Threshold(
        "target_scale",
        10.0,
        "regression targets whose mean or standard deviation is above this (under a loss that scales with them)",
        "LeCun, Bottou, Orr & Muller 1998 (Efficient BackProp: targets within the output's range, of unit "
        "scale); the value: that of input_scale",
    ),
    Threshold(
        "dead_fraction",
        0.5,
        "a rectifier layer with at least this fraction of its units zero on every probe sample is dead",
        "Lu, Shin, Su & Karniadakis 2019 (dying ReLU); the value: " + _MEASURED,
    ),
    Threshold(
        "saturated_fraction",
        0.5,
        "a tanh / sigmoid layer with at least this fraction of its outputs in the flat tails is saturated",
        "Glorot & Bengio 2010 (saturation); the value: " + _MEASURED,
    ),
    Threshold(
        "activation_growth",
        10.0,
        "a hidden output's std over the first hidden output's, at initialization, above this: the signal grows "
        "through depth",
        "De & Smith 2020 (un-normalized residual trunks grow with depth); the value: " + _MEASURED,
    ),
    Threshold(
        "vanishing_ratio",
        1e-3,
        "a layer's mean gradient norm below this fraction of the last layer's",
        "Glorot & Bengio 2010; Hochreiter 1991 (vanishing gradients); the value: " + _MEASURED,
    ),
    Threshold(
        "vanishing_floor",
        1e-8,
        "a layer's mean gradient norm below this, whatever the last layer's",
        "float32 resolution: updates this small are lost next to weights of order 1",
    ),
    Threshold(
        "exploding_norm",
        1e3,
        "the global gradient norm above this at any step",
        "Pascanu, Mikolov & Bengio 2013 (exploding gradients, clipping); the value: " + _MEASURED,
    ),
    Threshold(
        "slow_progress",
        0.25,
        "the training loss fell by less than this fraction of its initial value: the learning rate is put on trial",
        _MEASURED,
    ),
    Threshold(
        "no_progress",
        0.02,
        "the training loss fell by less than this fraction of its initial value: not learning",
        _MEASURED,
    ),
    Threshold(
        "oscillation_swing",
        0.5,
        "the median step-to-step change of the training loss over its median, in the probe's second half, above "
        "this, while the loss of the last quarter of the steps is not slow_progress below that of the first: the "
        "loss oscillates instead of falling",
        "LeCun, Bottou, Orr & Muller 1998 (Efficient BackProp: a rate between the optimal one and twice it makes "
        "the weights oscillate, above twice it diverge); the value: " + _MEASURED,
    ),
    Threshold(
        "chance_margin",
        0.02,
        "a validation accuracy (the median over the probe's second half) within this of the largest class's "
        "share of the training rows is at chance",
        "the share a model earns by always answering the largest class; the value: two points, above the "
        "spread of a constant answer's accuracy between random validation splits of a few hundred rows",
    ),
    Threshold(
        "rate_above_best",
        1.0,
        "the peak learning rate above this multiple of the range test's lowest-loss rate is too high",
        "Smith 2017 (the range test)",
    ),
    Threshold(
        "rate_above_valley",
        10.0,
        "a probe that went NaN / Inf at a peak learning rate above this multiple of the range test's valley: the "
        "rate is too high (the sweep's best is read after its small rates moved the weights, and can lie above a "
        "rate that diverges from the initialization)",
        "Smith 2017 (the range test); the value: one order of magnitude above the valley, where the range "
        "test's loss already falls fastest",
    ),
    Threshold(
        "rate_below_valley",
        1 / 30,
        "the peak learning rate below this multiple of the range test's valley is too low",
        "Smith 2017 (the range test); the value: " + _MEASURED,
    ),
    Threshold(
        "imbalance_ratio",
        4.0,
        "the largest class has at least this many times the training rows of the smallest",
        "He & Garcia 2009 (Learning from imbalanced data, IEEE TKDE); the value: four to one, where a model "
        "that always answers the largest class is right on 80% of two classes",
    ),
    Threshold(
        "majority_predictions",
        0.95,
        "... and the probe's model predicts that class for at least this share of the validation rows",
        "Buda, Maki & Mazurowski 2018 (class imbalance in CNNs: the minority classes ignored); the value: " + _MEASURED,
    ),
    Threshold(
        "overfitting_rise",
        0.05,
        "the validation loss, at some epoch after its minimum, this fraction above it while the training loss falls "
        "(Prechelt's generalization loss at its peak)",
        "Prechelt 1998 (early stopping criteria: the generalization loss GL(t) = E_va(t) / E_opt(t) - 1); the "
        "value: " + _MEASURED,
    ),
    Threshold(
        "overfitting_gap",
        2.0,
        "... and the final validation loss above this multiple of the final training loss",
        _MEASURED,
    ),
)

THRESHOLD_NOTES: Mapping[str, Threshold] = MappingProxyType({t.name: t for t in _THRESHOLDS})
"""Each threshold with its meaning and source."""

THRESHOLDS: Mapping[str, float] = MappingProxyType({t.name: t.value for t in _THRESHOLDS})
"""Each threshold's value, by name."""

_PROBLEMS = (
    Problem(
        "output_loss_mismatch",
        "the output layer's activation and the loss disagree: probabilities where the loss takes logits or the "
        "reverse, a softmax over one unit, a sigmoid where the classes should compete, a softmax scored by "
        "binary cross-entropy",
        "make the output and the loss agree: a linear output with from_logits=True (or softmax / sigmoid with "
        "from_logits=False); a sigmoid with binary cross-entropy for one unit or several labels per sample; "
        "softmax with categorical cross-entropy for one class per sample",
        (),
        ("match_output_to_loss",),
    ),
    Problem(
        "target_loss_mismatch",
        "the targets are encoded another way than the loss reads them: one-hot rows under a sparse loss, class "
        "indices under a categorical loss",
        "compile with the loss of the targets' encoding: SparseCategoricalCrossentropy for class indices, "
        "CategoricalCrossentropy for one-hot rows (same from_logits), or re-encode the targets",
        (),
        ("match_loss_to_targets",),
    ),
    Problem(
        "output_range_mismatch",
        "regression targets lie outside the range the output layer's activation can reach (a sigmoid output "
        "for targets 3..103)",
        "a linear output layer for unbounded targets (or scale the targets into the activation's range, and "
        "back at inference)",
        (),
        ("match_output_to_loss",),
    ),
    Problem(
        "linear_model",
        "no hidden layer has an activation: the stacked layers compute one linear map of the inputs, however deep "
        "the model is",
        "give the hidden layers a nonlinearity (activation='relu' in each Dense / Conv layer, with He's "
        "initializer), or say so with a single layer if a linear model is what you want",
        (),
        ("add_activations",),
    ),
    Problem(
        "nonfinite",
        "NaN or Inf in the inputs or targets, or in the loss or the gradients during training",
        "find where the NaN / Inf come from (drop or impute the rows holding them); with finite inputs: a lower "
        "learning rate or warmup, clipping, kerasboost.optimizers.SkipNonFinite, a LossScaleOptimizer under float16",
        (),
        ("drop_nonfinite_rows", "skip_nonfinite"),
    ),
    Problem(
        "invalid_targets",
        "target values the loss cannot read as its kind of target: class indices outside the output's units or "
        "not whole numbers, binary targets outside [0, 1], one-hot rows that are not distributions, a column "
        "count the output does not have",
        "fix the labels in the data: class indices 0..units-1 (y - y.min(), or keras.layers.IntegerLookup / "
        "StringLookup), binary targets 0 / 1, labels never scaled like the inputs; or give the output layer one "
        "unit per class",
        (),
        ("relabel_targets", "resize_output"),
    ),
    Problem(
        "unscaled_inputs",
        "the input features are far from unit scale (far above it, or all far below it), or their scales differ by "
        "orders of magnitude",
        "standardize the inputs with statistics of the training set: a keras.layers.Normalization adapted on it "
        "as the model's first layer (saved with the model, so inference gets it too), or (x - mean) / std",
        ("input_scale", "input_scale_low", "input_scale_spread"),
        ("normalize_inputs",),
    ),
    Problem(
        "unscaled_targets",
        "regression targets far from unit scale: the loss and its gradients grow with their square, and the "
        "output's bias needs thousands of steps to reach their mean",
        "train on standardized targets ((y - mean) / std of the training targets) and predict in the original "
        "units with model.predict(x) * std + mean (or a keras.layers.Rescaling(std, offset=mean) after training)",
        ("target_scale",),
        ("standardize_targets",),
    ),
    Problem(
        "activation_growth",
        "the forward signal grows through depth at initialization (an un-normalized residual trunk)",
        "keep the trunk's variance bounded: a branch scale (kerasboost.layers.SkipInit, or the last layer of each "
        "branch scaled by 1/sqrt(blocks)) or normalization in each branch; warmup and clipping only treat the "
        "gradients this growth causes",
        ("activation_growth",),
        ("scale_residual_branches",),
    ),
    Problem(
        "dead_units",
        "rectifier units that output zero for every sample (at initialization or during training)",
        "an initializer matched to the activation (kerasboost.initializers.OrthogonalFor / VarianceFor / "
        "LooksLinear, or lsuv) with biases at zero; a lower learning rate if they die during training; a leaky or "
        "smooth activation (leaky_relu, gelu)",
        ("dead_fraction",),
        ("reinitialize",),
    ),
    Problem(
        "saturated_units",
        "tanh / sigmoid outputs stuck in the flat tails, where the gradient is near zero",
        "an initializer matched to the activation (OrthogonalFor / VarianceFor with the activation's gain, or "
        "lsuv), normalized inputs, or normalization before the activation",
        ("saturated_fraction",),
        ("reinitialize",),
    ),
    Problem(
        "vanishing_gradients",
        "the gradients of the layers near the input are orders of magnitude smaller than the last layer's",
        "an initializer matched to the activation (OrthogonalFor / VarianceFor / LooksLinear, lsuv), a "
        "non-saturating activation, residual connections or normalization",
        ("vanishing_ratio", "vanishing_floor"),
        ("reinitialize",),
    ),
    Problem(
        "exploding_gradients",
        "the global gradient norm reaches huge values",
        "clip the global gradient norm (global_clipnorm=1.0, or kerasboost.optimizers.AdaptiveGradientClipping); "
        "if the learning rate is the cause, lower it or warm up to it (kerasboost.schedules.Warmup)",
        ("exploding_norm",),
        ("clip_gradients",),
    ),
    Problem(
        "learning_rate_too_high",
        "the peak learning rate is above the rate of the lowest loss in a range test, and training shows it",
        "lower the learning rate to the range test's valley (or warm up to it: kerasboost.schedules.Warmup)",
        ("rate_above_best", "rate_above_valley"),
        ("learning_rate",),
    ),
    Problem(
        "learning_rate_too_low",
        "the loss falls slowly and the learning rate is far below the range test's valley",
        "raise the learning rate to the range test's valley (or use it as the peak of kerasboost.schedules.OneCycle)",
        ("slow_progress", "rate_below_valley"),
        ("learning_rate",),
    ),
    Problem(
        "oscillating_loss",
        "the training loss swings up and down from step to step and does not trend down",
        "lower the learning rate (a tenth, or the range test's valley), or warm up to it "
        "(kerasboost.schedules.Warmup); a larger batch or gradient clipping if single batches cause the swings",
        ("oscillation_swing", "slow_progress"),
        ("learning_rate",),
    ),
    Problem(
        "imbalanced_classes",
        "the classes are of very unequal size and the model answers the largest for almost every row",
        "weight the classes in the loss (fit(class_weight={c: n / (k * n_c)})), resample the smaller ones, and "
        "judge the model by a metric of every class (balanced accuracy, per-class recall, AUC), not accuracy",
        ("imbalance_ratio", "majority_predictions"),
        ("class_weight",),
    ),
    Problem(
        "metric_at_chance",
        "the training loss falls while the validation accuracy stays at the share of the largest class",
        "check what the loss rewards against what the metric measures: labels that belong to their inputs (not "
        "shuffled apart), a metric of the targets' encoding (SparseCategoricalAccuracy for class indices, "
        "CategoricalAccuracy for one-hot rows), validation data prepared as the training data was",
        ("slow_progress", "chance_margin"),
        (),
    ),
    Problem(
        "overfitting",
        "the validation loss rises from its minimum while the training loss keeps falling",
        "regularize: weight decay, dropout or augmentation, more data, and "
        "kerasboost.callbacks.EarlyStopping(restore_best_weights=True)",
        ("overfitting_rise", "overfitting_gap"),
        ("early_stopping",),
    ),
    Problem(
        "not_learning",
        "the training loss barely moves, and nothing above explains it",
        "check that the labels match the inputs and the loss matches the labels (from_logits, sparse vs one-hot), "
        "and that the model can represent the task",
        ("no_progress",),
        (),
    ),
    Problem("healthy", "nothing above was found", "nothing to change"),
)

PROBLEMS: Mapping[str, Problem] = MappingProxyType({p.name: p for p in _PROBLEMS})
"""Every problem, by name, in order of precedence (causes before symptoms)."""

REMEDIES: Mapping[str, str] = MappingProxyType({p.name: p.remedy for p in _PROBLEMS})
"""Each problem's remedy text, by name."""


def remedy(problem: str) -> str:
    """The remedy text of `problem` (a name in `PROBLEMS`)."""
    return PROBLEMS[problem].remedy


# ------------------------------------------------------------------ the conditions callbacks and the doctor share


def vanishing_layers(
    mean_norms: Mapping[str, float],
    ratio: float = THRESHOLDS["vanishing_ratio"],
    floor: float = THRESHOLDS["vanishing_floor"],
) -> list[str]:
    """The layers (input side first, as in `mean_norms`) whose mean gradient norm is below
    `floor`, or below `ratio` times the last layer's. NaN norms (non-finite steps only) are
    never vanishing."""
    names = list(mean_norms)
    if not names:
        return []
    last = mean_norms[names[-1]]  # (the last layer against itself: never below a ratio < 1)
    return [n for n in names if mean_norms[n] < floor or (last > 0 and mean_norms[n] < ratio * last)]


def feature_scales(x: object) -> dict[str, float] | None:
    """The scale of the inputs, per feature (the last axis; every other axis is pooled): the
    largest `max(|mean|, std)` (`scale`), and the largest std over the median std of the
    non-constant features (`spread`), with the feature that has the largest scale. None for
    inputs that are not one floating-point array."""
    if not hasattr(x, "dtype") or not np.issubdtype(np.asarray(x).dtype, np.floating):
        return None
    array = np.asarray(x, "float64")
    if array.ndim < 2 or not np.isfinite(array).all():
        return None
    flat = array.reshape(-1, array.shape[-1])
    means, stds = np.abs(flat.mean(axis=0)), flat.std(axis=0)
    scales = np.maximum(means, stds)
    varying = stds[stds > 1e-6 * max(float(stds.max()), 1e-30)]
    spread = float(varying.max() / np.median(varying)) if varying.size else 1.0
    worst = int(np.argmax(scales))
    return {"scale": float(scales[worst]), "feature": worst, "spread": spread}


def exploding(max_grad_norm: float, threshold: float = THRESHOLDS["exploding_norm"]) -> bool:
    """Whether a global gradient norm is above the exploding threshold."""
    return max_grad_norm > threshold


def layers_at_or_above(fractions: Iterable[tuple[str, float]], threshold: float) -> list[str]:
    """The layers whose fraction (dead or saturated; NaN: not measured) reaches `threshold`."""
    return [name for name, value in fractions if not math.isnan(value) and value >= threshold]


def markdown_table() -> str:
    """The vocabulary as a Markdown table (the doctor guide includes it)."""
    lines = ["| problem | meaning | thresholds | remedy | fixes the doctor tries |", "|---|---|---|---|---|"]
    for p in _PROBLEMS:
        thresholds = "<br>".join(f"`{t}` = {THRESHOLDS[t]:.3g}: {THRESHOLD_NOTES[t].meaning}" for t in p.thresholds)
        fixes = ", ".join(f"`{f}`" for f in p.fixes) or "none"
        lines.append(f"| `{p.name}` | {p.meaning} | {thresholds or '-'} | {p.remedy} | {fixes} |")
    return "\n".join(lines)
