"""Score a folder of predicted masks against a folder of reference masks and write a long CSV.

Masks are NIfTI (``.nii.gz``, ``.nii``), NRRD (``.nrrd``) or MetaImage (``.mha``,
``.mhd``) label maps read by :func:`harness.common.images.read_label` (the one
reader: truncation, integer storage, NaN and components are checked there).
Cases are matched by name: the file name without its extension. Every reference
case gets rows, and one bad file never stops the others:

* a prediction file that is missing scores as ``missing_prediction``; one that
  cannot be used (unreadable, truncated, float or NaN values, or a geometry, i.e.
  size, spacing, origin, direction up to 1e-5, that differs from its reference's)
  as ``invalid_prediction`` (the policy's failure values), with a ``reason``;
* a reference file that cannot be used gives ``reference_unreadable`` rows (NaN,
  not the method's fault) with a ``reason``;
* predictions without a reference are not scored; they are listed in the result.

The CSV is long: one row per case × structure × metric with columns
``case, label, metric, value, status, reason``; rows are sorted by case, then
follow the structure and metric order. Cases run in parallel in a process pool
when ``workers > 1``. The CSV's folder is checked for writing before anything is
scored; if the write still fails, the rows go to a fallback file next to the
predictions folder and :class:`InputDataError` says where.
"""

from __future__ import annotations

import csv
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.common.images import ImageFileError, read_label
from harness.errors import InputDataError
from harness.metrics.case import MetricRow, evaluate_case, score_missing_prediction, score_unreadable_reference
from harness.metrics.settings import MetricsSettings

log = logging.getLogger(__name__)

MASK_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd")
CSV_COLUMNS: tuple[str, ...] = ("case", "label", "metric", "value", "status", "reason")


@dataclass(frozen=True)
class FolderEvaluation:
    """What :func:`evaluate_folders` did: where the CSV is and which cases could not be scored normally."""

    out_csv: Path
    n_cases: int
    n_rows: int
    missing_predictions: tuple[str, ...]
    invalid_predictions: tuple[str, ...]
    unmatched_predictions: tuple[str, ...]  # prediction files without a reference: not scored
    unreadable_references: tuple[str, ...] = ()  # reference files that cannot be used: rows with NaN
    reasons: dict[str, str] = field(default_factory=dict)  # case -> what is wrong with its file


@dataclass(frozen=True)
class MaskGeometry:
    """Physical geometry of a mask in SimpleITK's (x, y, z) order."""

    size: tuple[int, ...]
    spacing_mm: tuple[float, ...]
    origin_mm: tuple[float, ...]
    direction: tuple[float, ...]


def split_case_name(path: Path) -> str | None:
    """The case name of a mask file (its name without a known extension), or None if it is no mask file."""
    name = path.name
    for suffix in MASK_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def list_masks(folder: Path, role: str) -> dict[str, Path]:
    """Mask files of ``folder`` by case name; InputDataError if the folder is missing or a name is ambiguous."""
    if not folder.is_dir():
        raise InputDataError(f"{role} folder {folder} does not exist or is not a folder")
    masks: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        case = split_case_name(path)
        if case is None or not path.is_file():
            continue
        if case in masks:
            raise InputDataError(f"{role} folder {folder}: case {case!r} has two files, "
                                 f"{masks[case].name} and {path.name}; keep one")  # fmt: skip
        masks[case] = path
    return masks


def read_mask(path: Path) -> tuple[np.ndarray, MaskGeometry]:
    """A label map as an integer array in (z, y, x) / (y, x) order, and its geometry.

    :class:`ImageFileError` (naming the file and the problem) if it is missing, unreadable,
    truncated, not stored as integers, holds NaN, or has more than one component.
    """
    label = read_label(path)
    geometry = MaskGeometry(
        size=tuple(reversed(label.array.shape)),
        spacing_mm=label.geometry.spacing_mm,
        origin_mm=label.geometry.origin_mm,
        direction=label.geometry.direction,
    )
    return label.array, geometry


def check_same_geometry(case: str, reference: MaskGeometry, prediction: MaskGeometry, path: Path) -> None:
    """Raise ImageFileError (``geometry_mismatch``) naming ``case``, the prediction ``path`` and what differs."""
    for name in ("size", "spacing_mm", "origin_mm", "direction"):
        ref_value, pred_value = getattr(reference, name), getattr(prediction, name)
        same = len(ref_value) == len(pred_value) and np.allclose(ref_value, pred_value, rtol=1e-5, atol=1e-5)
        if not same:
            raise ImageFileError(path, "geometry_mismatch",
                                 f"case {case!r}: prediction {name} {pred_value} of {path} differs from "
                                 f"reference {name} {ref_value}; resample the prediction onto the reference "
                                 "grid")  # fmt: skip


def describe_file_problem(err: InputDataError) -> str:
    """A row's ``reason``: ``<problem>: <message>`` (problem from :data:`~harness.common.integrity.FILE_PROBLEMS`)."""
    problem = err.problem if isinstance(err, ImageFileError) else "unreadable"
    return f"{problem}: {err}"


@dataclass(frozen=True)
class CaseResult:
    """The rows of one case, and why its prediction (or its reference: ``reference_failed``) could not be used."""

    case: str
    rows: list[MetricRow]
    problem: str | None = None
    reference_failed: bool = False


def evaluate_case_files(
    case: str,
    reference_path: Path,
    prediction_path: Path | None,
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings,
) -> CaseResult:
    """Read and score one case (runs in a worker process; logs nothing, the caller reports).

    A file that cannot be used is a failed row for this case, never an exception.
    """
    try:
        reference, ref_geometry = read_mask(reference_path)
        if reference.ndim not in (2, 3):
            raise ImageFileError(reference_path, "unreadable",
                                 f"{reference_path}: a {reference.ndim}D label map; expected 2D or 3D")  # fmt: skip
    except InputDataError as err:
        reason = describe_file_problem(err)
        return CaseResult(case, score_unreadable_reference(structures, settings, reason), reason, True)
    spacing_mm = tuple(reversed(ref_geometry.spacing_mm))  # SimpleITK (x, y, z) -> array (z, y, x)
    if prediction_path is None:
        return CaseResult(case, score_missing_prediction(reference, spacing_mm, structures, settings))
    try:
        prediction, pred_geometry = read_mask(prediction_path)
        check_same_geometry(case, ref_geometry, pred_geometry, prediction_path)
        return CaseResult(case, evaluate_case(reference, prediction, spacing_mm, structures, settings))
    except InputDataError as err:
        reason = describe_file_problem(err)
        rows = score_missing_prediction(reference, spacing_mm, structures, settings, "invalid_prediction", reason)
        return CaseResult(case, rows, reason)


def check_csv_writable(out_csv: Path, what: str = "the metrics CSV") -> None:
    """Raise InputDataError unless ``out_csv`` can be written (checked before anything is computed)."""
    if out_csv.is_dir():
        raise InputDataError(f"{what} {out_csv} is a folder; give a file name such as {out_csv / 'metrics.csv'}")
    folder = out_csv.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise InputDataError(f"{what} {out_csv}: {existing} is not a folder, so the CSV cannot be written there; "
                             "give another path")  # fmt: skip
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputDataError(f"{what} {out_csv}: folder {existing} is not writable; give another path")
    try:
        folder.mkdir(parents=True, exist_ok=True)  # the CSV's folder is made now rather than after scoring
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".segarena-write-check-"):
            pass
    except OSError as err:
        raise InputDataError(f"{what} {out_csv}: cannot write in {folder} ({err.strerror or err}); "
                             "give another path") from err  # fmt: skip


def _write_csv(out_csv: Path, results: Mapping[str, list[MetricRow]]) -> int:
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    partial = out_csv.with_name(out_csv.name + ".partial")
    n_rows = 0
    try:
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for case in sorted(results):
                for row in results[case]:
                    writer.writerow((case, row.label, row.metric, repr(row.value), row.status, row.reason))
                    n_rows += 1
        os.replace(partial, out_csv)
    except OSError:
        partial.unlink(missing_ok=True)  # ours: never leave half a CSV behind
        raise
    return n_rows


def _fallback_csv(prediction_dir: Path) -> Path:
    """A new file next to the predictions folder (never an existing one): ``<folder>.segarena-metrics[-N].csv``."""
    base = prediction_dir.resolve()
    for n in range(1, 1000):
        candidate = base.parent / f"{base.name}.segarena-metrics{'' if n == 1 else f'-{n}'}.csv"
        if not candidate.exists():
            return candidate
    return base.parent / f"{base.name}.segarena-metrics-{os.getpid()}.csv"


def write_results(out_csv: Path, results: Mapping[str, list[MetricRow]], prediction_dir: Path) -> int:
    """Write the CSV; if that fails keep the rows in a fallback file and raise InputDataError saying where."""
    try:
        return _write_csv(out_csv, results)
    except OSError as err:
        failure = f"could not write the metrics CSV {out_csv} ({err.strerror or err})"
        temporary = Path(tempfile.gettempdir()) / f"segarena-metrics-{os.getpid()}.csv"
        for fallback in (_fallback_csv(prediction_dir), temporary):
            try:
                _write_csv(fallback, results)
            except OSError:
                continue
            log.error("%s; the results are in %s", failure, fallback)
            raise InputDataError(f"{failure}; the {len(results)} scored case(s) are kept in {fallback}: "
                                 "move that file where you want it, or free space and run again") from err
        raise InputDataError(f"{failure}, nor a fallback next to {prediction_dir} or in the temporary folder; "
                             "free space or give a writable path and run again") from err


def evaluate_folders(
    reference_dir: Path,
    prediction_dir: Path,
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings | None = None,
    out_csv: Path = Path("metrics.csv"),
    workers: int = 1,
    on_case_done: Callable[[str], None] | None = None,
) -> FolderEvaluation:
    """Score every reference case of ``reference_dir`` against ``prediction_dir``; write ``out_csv``.

    ``on_case_done(case)`` is called in this process after each case (for progress bars).
    ``workers`` > 1 runs cases in a process pool. Raises InputDataError for an empty or
    missing reference folder and an ``out_csv`` that cannot be written (before scoring);
    a bad mask file is a failed row of its case (see the module docstring).
    """
    settings = settings or MetricsSettings()
    check_csv_writable(Path(out_csv))
    references = list_masks(Path(reference_dir), "reference")
    predictions = list_masks(Path(prediction_dir), "prediction")
    if not references:
        raise InputDataError(f"reference folder {reference_dir} holds no masks ({', '.join(MASK_SUFFIXES)})")
    missing = tuple(sorted(set(references) - set(predictions)))
    unmatched = tuple(sorted(set(predictions) - set(references)))
    if unmatched:
        log.warning("%d prediction(s) without a reference, not scored: %s", len(unmatched), ", ".join(unmatched[:5]))
    jobs = [
        (case, path, predictions.get(case), dict(structures), settings) for case, path in sorted(references.items())
    ]
    results: dict[str, list[MetricRow]] = {}
    invalid: list[str] = []
    unreadable: list[str] = []
    reasons: dict[str, str] = {}

    def collect(result: CaseResult) -> None:
        results[result.case] = result.rows
        if result.problem is not None:
            reasons[result.case] = result.problem
            (unreadable if result.reference_failed else invalid).append(result.case)
            status = "reference_unreadable" if result.reference_failed else "invalid_prediction"
            log.info("case %s: %s; scored as %s", result.case, result.problem, status)  # summed up by the caller
        if on_case_done is not None:
            on_case_done(result.case)

    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            collect(evaluate_case_files(*job))
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a parent that may hold threads (torch, rich)
        from harness.executors.processes import die_with_parent  # workers die with a kill -9'd harness

        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                                 initializer=die_with_parent) as pool:
            pending: set[Future[CaseResult]] = {pool.submit(evaluate_case_files, *job) for job in jobs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        raise error
                    collect(future.result())
    n_rows = write_results(Path(out_csv), results, Path(prediction_dir))
    return FolderEvaluation(
        out_csv=Path(out_csv),
        n_cases=len(results),
        n_rows=n_rows,
        missing_predictions=missing,
        invalid_predictions=tuple(sorted(invalid)),
        unmatched_predictions=unmatched,
        unreadable_references=tuple(sorted(unreadable)),
        reasons=reasons,
    )
