"""One case: its reference and prediction files → its metric rows. The one case loop of the harness.

Every structure of a case with a reference gets rows, and a bad file fails this case only:

* a prediction refused by the method contract's checks, or one that cannot be used
  (unreadable, truncated, float or NaN values, a size, spacing, origin or direction
  that differs from its reference's) scores as ``invalid_prediction`` with a ``reason``;
  no prediction file at all as ``missing_prediction`` (the policy's failure values);
* a reference that cannot be used gives ``reference_unreadable`` rows (NaN, not the
  method's fault) with a ``reason``;
* a structure the case's reference does not annotate gives ``not_annotated`` rows (NaN);
* a case without a reference file gives no rows.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.common.images import ImageFileError, LabelMap, read_label
from harness.errors import InputDataError
from harness.evaluation.files import check_same_geometry, describe_file_problem
from harness.metrics.case import MetricRow, evaluate_case, score_missing_prediction, score_unreadable_reference
from harness.metrics.settings import MetricsSettings


@dataclass(frozen=True)
class CaseFiles:
    """What to score for one case. ``refused`` is the contract's reason for refusing the prediction, if it did."""

    case: str
    reference: Path | None  # None: the case has no reference (no rows)
    prediction: Path | None  # None or not a file: the prediction is missing
    refused: str | None = None


@dataclass(frozen=True)
class CaseScore:
    """The rows of one case, the label maps read (for volumes), and why a file could not be used.

    ``problem`` is the ``reason`` of an invalid prediction or, with ``reference_failed``, of an
    unusable reference; None when both files could be used (or the prediction is just missing).
    """

    case: str
    rows: list[MetricRow]
    reference: LabelMap | None
    prediction: LabelMap | None
    problem: str | None = None
    reference_failed: bool = False


def read_reference(path: Path | None) -> tuple[LabelMap | None, str]:
    """The reference label map, or None and why it cannot be used ("" when there is none)."""
    if path is None:
        return None, ""
    try:
        reference = read_label(path)
        if reference.array.ndim not in (2, 3):
            raise ImageFileError(path, "unreadable", f"{path}: a {reference.array.ndim}D label map; expected 2D or 3D")
    except InputDataError as err:
        return None, describe_file_problem(err)
    return reference, ""


def _read_prediction(files: CaseFiles, reference: LabelMap | None) -> tuple[LabelMap | None, str, str]:
    """The prediction (None unless usable), its status (``ok``, ``missing_prediction``, ``invalid_prediction``), the reason."""
    if files.refused is not None:
        return None, "invalid_prediction", f"contract: {files.refused or 'failed the output checks'}"
    if files.prediction is None or not files.prediction.is_file():
        return None, "missing_prediction", ""
    try:
        prediction = read_label(files.prediction)
        if reference is not None:
            check_same_geometry(files.case, reference, prediction, files.prediction)
    except InputDataError as err:
        return None, "invalid_prediction", describe_file_problem(err)
    return prediction, "ok", ""


def score_case(
    files: CaseFiles,
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings,
    annotated: Collection[str] | None = None,
) -> CaseScore:
    """Read and score one case (logs nothing: the caller reports); see the module docstring for the rows.

    ``annotated`` are the structures the reference holds (None: all of them); the others get
    ``not_annotated`` rows. Rows: structures in order, each with the metrics of ``settings``.
    """
    reference, reference_problem = read_reference(files.reference)
    prediction, status, reason = _read_prediction(files, reference)
    if reference_problem:
        rows = score_unreadable_reference(structures, settings, reference_problem)
        return CaseScore(files.case, rows, None, prediction, reference_problem, reference_failed=True)
    if reference is None:
        return CaseScore(files.case, [], None, prediction)
    scored = {name: values for name, values in structures.items() if annotated is None or name in annotated}
    rows = [
        MetricRow(label=name, metric=metric, value=math.nan, status="not_annotated")
        for name in sorted(set(structures) - set(scored))
        for metric in settings.names
    ]  # never silently dropped
    if not scored:
        return CaseScore(files.case, rows, reference, prediction, reason or None)
    spacing_mm = reference.geometry.array_spacing_mm
    if prediction is not None:
        try:
            rows += evaluate_case(reference.array, prediction.array, spacing_mm, scored, settings)
            return CaseScore(files.case, rows, reference, prediction)
        except InputDataError as err:  # e.g. a 4D mask: this case only
            prediction, status, reason = None, "invalid_prediction", f"unreadable: {files.prediction}: {err}"
    rows += score_missing_prediction(reference.array, spacing_mm, scored, settings, status, reason)
    return CaseScore(files.case, rows, reference, prediction, reason or None)
