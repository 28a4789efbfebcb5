"""Score a folder of predicted masks against a folder of reference masks and write a long CSV.

Masks are NIfTI (``.nii.gz``, ``.nii``), NRRD (``.nrrd``) or MetaImage (``.mha``,
``.mhd``) label maps read with SimpleITK. Cases are matched by name: the file
name without its extension. Every reference case gets rows:

* a prediction file that is missing scores as ``missing_prediction``, one that
  cannot be read as ``invalid_prediction`` (the policy's failure values);
* a prediction whose geometry (size, spacing, origin, direction, up to 1e-5
  relative) differs from its reference raises :class:`InputDataError` naming the case;
* predictions without a reference are not scored; they are listed in the result.

The CSV is long: one row per case × structure × metric with columns
``case, label, metric, value, status``; rows are sorted by case, then follow
the structure and metric order. Cases run in parallel in a process pool when
``workers > 1``.
"""

from __future__ import annotations

import csv
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.errors import InputDataError
from harness.metrics.case import MetricRow, evaluate_case, score_missing_prediction
from harness.metrics.settings import MetricsSettings

log = logging.getLogger(__name__)

MASK_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd")
CSV_COLUMNS: tuple[str, ...] = ("case", "label", "metric", "value", "status")


@dataclass(frozen=True)
class FolderEvaluation:
    """What :func:`evaluate_folders` did: where the CSV is and which cases could not be scored normally."""

    out_csv: Path
    n_cases: int
    n_rows: int
    missing_predictions: tuple[str, ...]
    invalid_predictions: tuple[str, ...]
    unmatched_predictions: tuple[str, ...]  # prediction files without a reference: not scored


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
    """A label map as a numpy array in (z, y, x) / (y, x) order, and its geometry. InputDataError if unreadable."""
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise InputDataError(f"cannot read mask {path}: {str(err).strip().splitlines()[-1]}") from err
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputDataError(f"mask {path} has {image.GetNumberOfComponentsPerPixel()} components per voxel; "
                             "expected a single-component label map")  # fmt: skip
    geometry = MaskGeometry(
        size=tuple(image.GetSize()),
        spacing_mm=tuple(image.GetSpacing()),
        origin_mm=tuple(image.GetOrigin()),
        direction=tuple(image.GetDirection()),
    )
    return sitk.GetArrayFromImage(image), geometry


def check_same_geometry(case: str, reference: MaskGeometry, prediction: MaskGeometry) -> None:
    """Raise InputDataError naming ``case`` and the first differing property."""
    for field in ("size", "spacing_mm", "origin_mm", "direction"):
        ref_value, pred_value = getattr(reference, field), getattr(prediction, field)
        same = len(ref_value) == len(pred_value) and np.allclose(ref_value, pred_value, rtol=1e-5, atol=1e-5)
        if not same:
            raise InputDataError(f"case {case!r}: prediction {field} {pred_value} differs from reference "
                                 f"{field} {ref_value}; resample the prediction onto the reference grid")  # fmt: skip


@dataclass(frozen=True)
class CaseResult:
    """The rows of one case, and why its prediction could not be read (if so)."""

    case: str
    rows: list[MetricRow]
    problem: str | None = None


def evaluate_case_files(
    case: str,
    reference_path: Path,
    prediction_path: Path | None,
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings,
) -> CaseResult:
    """Read and score one case (runs in a worker process; logs nothing, the caller reports)."""
    reference, ref_geometry = read_mask(reference_path)
    spacing_mm = tuple(reversed(ref_geometry.spacing_mm))  # SimpleITK (x, y, z) -> array (z, y, x)
    if prediction_path is None:
        return CaseResult(case, score_missing_prediction(reference, spacing_mm, structures, settings))
    try:
        prediction, pred_geometry = read_mask(prediction_path)
    except InputDataError as err:
        rows = score_missing_prediction(reference, spacing_mm, structures, settings, "invalid_prediction")
        return CaseResult(case, rows, str(err))
    check_same_geometry(case, ref_geometry, pred_geometry)
    try:
        return CaseResult(case, evaluate_case(reference, prediction, spacing_mm, structures, settings))
    except InputDataError as err:
        raise InputDataError(f"case {case!r}: {err}") from err


def _write_csv(out_csv: Path, results: Mapping[str, list[MetricRow]]) -> int:
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    partial = out_csv.with_name(out_csv.name + ".partial")
    n_rows = 0
    with partial.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for case in sorted(results):
            for row in results[case]:
                writer.writerow((case, row.label, row.metric, repr(row.value), row.status))
                n_rows += 1
    os.replace(partial, out_csv)
    return n_rows


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
    missing reference folder, an unreadable reference or mismatched geometry.
    """
    settings = settings or MetricsSettings()
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

    def collect(result: CaseResult) -> None:
        results[result.case] = result.rows
        if result.problem is not None:
            invalid.append(result.case)
            log.warning("case %s: %s; scored as invalid_prediction", result.case, result.problem)
        if on_case_done is not None:
            on_case_done(result.case)

    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            collect(evaluate_case_files(*job))
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a parent that may hold threads (torch, rich)
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
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
    n_rows = _write_csv(Path(out_csv), results)
    return FolderEvaluation(
        out_csv=Path(out_csv),
        n_cases=len(results),
        n_rows=n_rows,
        missing_predictions=missing,
        invalid_predictions=tuple(sorted(invalid)),
        unmatched_predictions=unmatched,
    )
