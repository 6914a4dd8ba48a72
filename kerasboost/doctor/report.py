"""The doctor's report: a `Finding` per problem found, and the `Diagnosis` that holds them (text, JSON, figures)."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import keras
import numpy as np

from kerasboost.diagnostics.activation_report import plot_activations
from kerasboost.diagnostics.gradient_flow import plot_gradient_flow
from kerasboost.doctor.fixes import Fix
from kerasboost.doctor.probe import Data, Probe, RangeTest


@dataclasses.dataclass
class Finding:
    """One problem the doctor found: which layers, the numbers that triggered it, what to do.

    `problem` is a name of the vocabulary (`kerasboost.diagnostics.problems.PROBLEMS`), `remedy`
    its words there; `evidence` holds the measured numbers with the thresholds they crossed;
    `fix` is a change `diagnose(..., try_fixes=True)` can apply to a copy (None where none
    applies); `statistic` names the number in `Diagnosis.measures` that the fix should move;
    `trial` holds the before / after numbers once the fix was tried. A fix whose trial did not
    improve is never offered: it moves to `rejected` and `fix` becomes None.
    """

    problem: str
    layers: list[str]
    evidence: dict[str, Any]
    remedy: str
    fix: Fix | None = None
    statistic: str = "val_loss"
    trial: dict[str, Any] | None = None
    rejected: Fix | None = None  # a fix tried on a copy that did not improve it
    blocking: bool = False  # Keras cannot train the model as it is (the probe did not run)

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


def summary(diagnosis: Diagnosis) -> str:
    """The findings on one line: each problem, with the layers it names."""
    return "; ".join(f"{f.problem} ({span(f.layers)})" if f.layers else f.problem for f in diagnosis.findings)


@dataclasses.dataclass
class Repair:
    """A repaired copy of a diagnosed model, and what its `fit` needs.

    `model` is compiled (a fresh optimizer of the original's configuration, the loss and
    metrics the fix implies) and holds the original's weights with the fix applied; it saves
    and loads as a `.keras` file like any Keras model. `fit_kwargs()` holds the keyword
    arguments of `fit` the fix trained with (the `callbacks` of early stopping, the
    `class_weight` of balanced classes); `notes` says what the fix changed in the data, which a
    model cannot carry, and `prepare(x, y)` makes that change to arrays (the training set, the
    validation set): the rows with NaN / Inf dropped, the targets standardized; `(x, y)` as
    they are for the other fixes. `predictor()` is the model to predict with in the units of
    your targets (after `standardize_targets`, `model` followed by the inverse scaling).
    """

    model: keras.Model
    fix: str  # the name of the fix applied (kerasboost.doctor.fixes)
    description: str
    trial: dict[str, Any]  # its before / after numbers on the probe's copy
    fit: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    transform: Any = dataclasses.field(default=None, repr=False)  # the fix's `prepare`, or None
    inverse: Any = dataclasses.field(default=None, repr=False)  # the fix's `unprepare`, or None

    def prepare(self, x: Any, y: Any) -> tuple[Any, Any]:
        """`(x, y)` changed as the fix changed the probe's data (e.g. `x, y = repair.prepare(x, y)`
        before `repair.model.fit(x, y, **repair.fit_kwargs())`); unchanged when the fix changes
        only the model."""
        return self.transform(x, y) if self.transform is not None else (x, y)

    def predictor(self) -> keras.Model:
        """The model to predict with, in the units of your targets: `model` itself, or, where the
        fix trains on changed targets (`standardize_targets`), `model` followed by the inverse
        change (a `keras.layers.Rescaling(std, offset=mean)` named `original_units`). It shares
        `model`'s layers, so it predicts with whatever `model` has learned; save it (`.keras`) for
        inference, and train `model`."""
        if self.inverse is None:
            return self.model
        outputs = self.inverse()(self.model.outputs[0])
        return keras.Model(self.model.inputs, outputs, name=f"{self.model.name}_original_units")

    @property
    def callbacks(self) -> list:
        """The callbacks the fix trained with."""
        return list(self.fit.get("callbacks", []))

    def fit_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `model.fit` the fix needs (`callbacks`, `class_weight`)."""
        return dict(self.fit)


@dataclasses.dataclass
class Diagnosis:
    """What `diagnose` found: `findings` (causes first), the probe's `measures`, and the probe itself.

    `problems` lists the findings' problem names (`["healthy"]` when nothing is wrong); `str()`
    is the printed report; `plot(out)` writes the figures; each finding with a `fix` has a
    `trial` (before / after numbers) when `try_fixes=True`; `repair()` returns the model with
    the proven fix applied. `probe` is None when Keras could not train the model as it is (a
    `blocking` finding: the report then rests on the program and the data alone).
    """

    findings: list[Finding]
    measures: dict[str, float]
    probe: Probe | None = dataclasses.field(repr=False)
    range_test: RangeTest | None = dataclasses.field(repr=False, default=None)
    trials: dict[str, Any] = dataclasses.field(repr=False, default_factory=dict)  # fix name -> re-probe
    model_name: str = ""
    seconds: float = 0.0
    model: keras.Model | None = dataclasses.field(repr=False, default=None)  # the model diagnosed (untouched)
    data: Data | None = dataclasses.field(repr=False, default=None)  # the rows the probe used

    @property
    def problems(self) -> list[str]:
        return [f.problem for f in self.findings]

    @property
    def healthy(self) -> bool:
        return self.problems == ["healthy"]

    def repair(self) -> Repair:
        """The diagnosed model repaired: a compiled copy with the fix of the first finding whose
        trial improved the probe's copy (`diagnose(..., try_fixes=True)`), as that trial applied
        it. Your model is not changed.

        Raises:
            ValueError: when no fix was proven: the model is healthy, `try_fixes` was off, or every
                fix tried was rejected (the report says why).
        """
        for finding in self.findings:
            if finding.fix is not None and finding.trial is not None and finding.trial["improved"]:
                if self.model is None or self.data is None:
                    raise ValueError("This Diagnosis holds no model to repair (it was not made by diagnose).")
                model, _, fit = finding.fix.apply(self.model, self.data)
                notes = [finding.fix.data_note] if finding.fix.data_note else []
                fix = finding.fix
                return Repair(model, fix.name, fix.description, finding.trial, fit, notes, fix.prepare, fix.unprepare)
        if self.healthy:
            raise ValueError("Nothing to repair: the doctor found the model healthy.")
        if not any(f.trial is not None for f in self.findings):
            offered = [f.fix.name for f in self.findings if f.fix is not None]
            if offered:
                raise ValueError(
                    f"repair() applies a fix proven on a copy of the model; {offered} were not tried: "
                    "call diagnose(..., try_fixes=True)."
                )
        rejected = [f"{f.rejected.name} ({f.trial.get('why')})" for f in self.findings if f.rejected and f.trial]
        reason = f"every fix tried was rejected: {'; '.join(rejected)}" if rejected else "no finding has a fix"
        raise ValueError(f"No repair: {reason}. The report's remedies say what to change by hand.")

    def __str__(self) -> str:
        m, p = self.measures, self.probe
        if p is None:
            lines = [
                f"kerasboost doctor: {self.model_name} - not probed: Keras cannot train it as it is "
                f"({self.seconds:.1f} s)"
            ]
        else:
            loss = p.series("loss")
            lines = [
                f"kerasboost doctor: {self.model_name} - probe of {p.steps} steps on a copy ({self.seconds:.1f} s)",
                f"  loss {loss[0]:.4g} -> {loss[-1]:.4g} (progress {m['progress']:.1%}), val_loss {m['val_loss']:.4g}"
                + (f", val_accuracy {m['val_accuracy']:.3f}" if "val_accuracy" in m else ""),
            ]
        if self.range_test is not None and self.range_test.inconclusive:
            lines.append(
                f"  learning-rate range test inconclusive: {self.range_test.inconclusive}; no rate advice from it "
                "(widen the sweep: kerasboost.callbacks.LearningRateFinder(min_lr, max_lr))"
            )
        for i, f in enumerate(self.findings, 1):
            lines.append(f"{i}. {f}")
            if f.problem == "healthy":
                continue
            lines.append(f"   remedy: {f.remedy}")
            if f.fix is not None:
                lines.append(f"   fix ({f.fix.name}): {f.fix.description}")
            if f.trial is None:
                continue
            if f.rejected is None:
                lines.append("   tried on a copy: " + _trial_text(f.trial))
            else:
                lines.append(
                    f"   tried on a copy and rejected ({f.rejected.name}: {f.rejected.description}): "
                    + _trial_text(f.trial)
                    + f"; {f.trial.get('why', 'it did not improve')}"
                )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The findings and measures as plain Python values (for JSON)."""
        return {
            "model": self.model_name,
            "problems": self.problems,
            "measures": self.measures,
            "findings": [
                {
                    "problem": f.problem,
                    "layers": f.layers,
                    "evidence": f.evidence,
                    "remedy": f.remedy,
                    "fix": None if f.fix is None else {"name": f.fix.name, "description": f.fix.description},
                    "trial": f.trial,
                    "blocking": f.blocking,
                    "rejected": None
                    if f.rejected is None
                    else {"name": f.rejected.name, "description": f.rejected.description},
                }
                for f in self.findings
            ],
        }

    def plot(self, out: str) -> list[str]:
        """Write the figures into the folder `out`: gradient flow, activations by depth, the range
        test (when it ran) and the validation loss before / after each fix tried. Returns the paths."""
        import matplotlib  # deferred: matplotlib is imported only when a figure is drawn

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        os.makedirs(out, exist_ok=True)
        paths = []

        def save(fig, name):
            path = os.path.join(out, name)
            fig.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(fig)
            paths.append(path)

        if self.probe is None:  # not probed: no training curves to draw
            return paths
        if self.probe.records:
            save(plot_gradient_flow(self.probe.records, self.probe.layers), "gradient_flow.png")
        if self.probe.before:
            fig = plot_activations(self.probe.before)
            fig.suptitle(f"{self.model_name}: activations at the start of the probe")
            save(fig, "activations.png")
        if self.range_test is not None and self.range_test.finder is not None:
            fig = self.range_test.finder.plot()  # the curve and its suggestions, valley included
            ax = fig.axes[0]
            rate = self.probe.learning_rate
            ax.axvline(rate, color="black", linestyle=":", label=f"the model's rate: {rate:.2e}")
            ax.legend()
            save(fig, "lr_range_test.png")
        if self.trials:
            fig, ax = plt.subplots(figsize=(7, 4))
            as_is = self.probe.series("val_loss")
            ax.plot(np.arange(len(as_is)), as_is, color="tab:red", marker="o", label="as is")
            for name, trial in self.trials.items():
                series = trial.series("val_loss")  # early stopping may end a trial sooner
                ax.plot(np.arange(len(series)), series, marker="o", label=f"with {name}")
            ax.set_title("validation loss in the probe, before and after each fix")
            ax.set_xlabel("probe epoch (0: before training)")
            ax.set_ylabel("validation loss")
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend()
            save(fig, "fixes.png")
        return paths


def _trial_text(trial: dict) -> str:
    parts = []
    for key, (before, after) in trial["values"].items():
        parts.append(f"{key} {after:.3g}" if math.isnan(before) else f"{key} {before:.3g} -> {after:.3g}")
    change = trial.get("val_loss_change")
    before, after = trial["values"].get("val_loss", (0.0, 0.0))  # (absent when the targets were rescaled)
    if math.isnan(before):  # the model as it was could not train: nothing to compare with
        parts.append("(as it was, the model could not train)")
    elif change is not None and math.isfinite(change):
        parts.append(f"({change:+.0%} validation loss)")
    elif not math.isfinite(before) and math.isfinite(after):
        parts.append("(validation loss finite again)")
    return ", ".join(parts)
