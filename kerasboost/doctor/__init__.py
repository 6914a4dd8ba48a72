"""The doctor: probe a copy of a model, name what keeps it from training, and prove the fix.

`diagnose` runs the probe (`probe`), reads the rules (`rules`, a table, causes before
symptoms; the problems' names, thresholds and remedies are the vocabulary of
`kerasboost.diagnostics.problems`), and tries the fixes (`fixes`) on copies; `report` holds the
`Diagnosis` it returns.
"""

from kerasboost.doctor.diagnose import diagnose
from kerasboost.doctor.report import Diagnosis as Diagnosis
from kerasboost.doctor.report import Finding as Finding

__all__ = ["diagnose"]  # with the classes it returns, `Diagnosis` and `Finding` (kerasboost.doctor.report)
