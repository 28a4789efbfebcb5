"""The evaluate job: the only place test labels are read. Per case metrics, per subject cine indices.

One bad file fails only its case: a prediction that cannot be used (unreadable, truncated,
float or NaN, other shape or geometry than its reference) gives ``invalid_prediction`` rows,
a reference that cannot be used ``reference_unreadable`` rows (NaN: not the method's fault),
each with a ``reason`` naming the file. Cases that are not ``primary`` (augmentation copies,
e.g. kaggle_dsb's ``_rot90``) are never scored.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.common.dataset import CommonDataset, label_file_name, scored_cases
from harness.common.images import LabelMap, read_label
from harness.common.records import CaseRecord
from harness.errors import InputDataError
from harness.metrics import MetricsSettings, evaluate_case, score_unreadable_reference
from harness.metrics.clinical import ClinicalSettings, compute_subject_indices
from harness.metrics.folder import describe_file_problem

log = logging.getLogger(__name__)

CLINICAL_NAMES = {"LV": "lv", "MYO": "myo", "RV": "rv"}
METRIC_COLUMNS = ["case", "subject", "phase", "frame", "label", "metric", "value", "status", "reason"]


@dataclass(frozen=True)
class CaseTask:
    record: CaseRecord
    label_path: Path | None
    prediction_path: Path
    prediction_valid: bool
    structures: dict[str, list[int]]
    settings: MetricsSettings
    predicted_volumes_ml: dict[str, float] | None = None  # a volume-output method's row of volumes.csv
    invalid_reason: str = ""  # why the method contract's checks refused the prediction (prediction_valid False)


def _volumes_ml(array: np.ndarray, structures: dict[str, list[int]], voxel_ml: float) -> dict[str, float]:
    return {name: float(np.isin(array, values).sum()) * voxel_ml for name, values in structures.items()}


def _read_reference(task: CaseTask) -> tuple[LabelMap | None, str]:
    """The case's reference label map, or None and the reason it cannot be used ("" when there is none)."""
    if task.label_path is None:
        return None, ""
    try:
        return read_label(task.label_path), ""
    except InputDataError as err:
        return None, describe_file_problem(err)


def _check_against(prediction: LabelMap, reference: LabelMap | None, path: Path) -> str:
    """Why ``prediction`` cannot be scored against ``reference`` (shape or geometry), or ""."""
    if reference is None:
        return ""
    if prediction.array.shape != reference.array.shape:
        return (f"geometry_mismatch: {path}: shape {prediction.array.shape} differs from the reference's "
                f"{reference.array.shape}")
    if not prediction.geometry.matches(reference.geometry):
        return f"geometry_mismatch: {path}: spacing, origin or direction differs from the reference's"
    return ""


def evaluate_one(task: CaseTask) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Metric rows and volume rows of one case (runs in worker processes); a bad file fails this case only."""
    record = task.record
    prediction = None
    pred_status = "ok"
    reason = ""
    if task.predicted_volumes_ml is not None:
        return _volume_case(task)
    reference, reference_problem = _read_reference(task)
    if not task.prediction_valid:
        pred_status = "invalid_prediction"
        reason = f"contract: {task.invalid_reason}" if task.invalid_reason else "contract: failed the output checks"
    elif not task.prediction_path.is_file():
        pred_status = "missing_prediction"
    else:
        try:
            prediction = read_label(task.prediction_path)
        except InputDataError as err:
            pred_status, reason = "invalid_prediction", describe_file_problem(err)
        else:
            reason = _check_against(prediction, reference, task.prediction_path)
            if reason:
                pred_status, prediction = "invalid_prediction", None
    source = reference if reference is not None else prediction
    geometry = source.geometry if source is not None else None
    base = {"case": record.case, "subject": record.subject, "phase": record.phase, "frame": record.frame}
    metric_rows: list[dict[str, object]] = []
    annotated = record.annotated_structures
    scored = {k: v for k, v in task.structures.items() if annotated is None or k in annotated}
    if reference_problem:
        for row in score_unreadable_reference(task.structures, task.settings, reference_problem):
            metric_rows.append({**base, "label": row.label, "metric": row.metric, "value": row.value,
                                "status": row.status, "reason": row.reason})
    if reference is not None:
        for name in sorted(set(task.structures) - set(scored)):  # counted as excluded, never silently dropped
            for metric in task.settings.names:
                metric_rows.append({**base, "label": name, "metric": metric, "value": math.nan,
                                    "status": "not_annotated", "reason": ""})
        try:
            rows = evaluate_case(reference.array, prediction.array if prediction is not None else None,
                                 reference.geometry.array_spacing_mm, scored, task.settings) if scored else []
        except InputDataError as err:  # e.g. a 4D mask: this case only
            pred_status, reason, prediction = "invalid_prediction", f"unreadable: {task.prediction_path}: {err}", None
            rows = evaluate_case(reference.array, None, reference.geometry.array_spacing_mm, scored, task.settings)
        for row in rows:
            status = row.status if prediction is not None or pred_status == "missing_prediction" else pred_status
            metric_rows.append({**base, "label": row.label, "metric": row.metric, "value": row.value,
                                "status": status, "reason": reason if status == "invalid_prediction" else ""})
    volume_rows: list[dict[str, object]] = []
    voxel_ml = geometry.voxel_volume_ml if geometry is not None else math.nan
    ref_vol = _volumes_ml(reference.array, task.structures, voxel_ml) if reference is not None else {}
    pred_vol = _volumes_ml(prediction.array, task.structures, voxel_ml) if prediction is not None else {}
    for name, clinical_name in CLINICAL_NAMES.items():
        if name in task.structures:
            volume_rows.append({"subject": record.subject, "frame": record.frame if record.frame is not None else 0,
                                "phase": record.phase, "structure": clinical_name,
                                "volume_pred_ml": pred_vol.get(name, math.nan),
                                "volume_ref_ml": ref_vol.get(name, math.nan) if name in scored else math.nan})
    return metric_rows, volume_rows


def _volume_case(task: CaseTask) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """A method that outputs volumes, not masks: only volume rows (mask metrics do not apply)."""
    record = task.record
    reference, problem = _read_reference(task)
    if problem:
        log.warning("case %s: %s; its reference volumes are NaN", record.case, problem)
    ref_vol = (_volumes_ml(reference.array, task.structures, reference.geometry.voxel_volume_ml)
               if reference is not None else {})
    assert task.predicted_volumes_ml is not None
    rows = []
    for name, clinical_name in CLINICAL_NAMES.items():
        if name in task.structures:
            rows.append({"subject": record.subject, "frame": record.frame if record.frame is not None else 0,
                         "phase": record.phase, "structure": clinical_name,
                         "volume_pred_ml": task.predicted_volumes_ml.get(name, math.nan),
                         "volume_ref_ml": ref_vol.get(name, math.nan)})
    return [], rows


def subject_truth_table(dataset: CommonDataset) -> pd.DataFrame | None:
    """``subject, edv_ml, esv_ml`` of a volume-truth dataset's primary subjects (empty truth: NaN), or None.

    A subject row with ``primary`` false (an augmentation copy such as kaggle_dsb's ``_rot90``)
    is left out: it is never scored.
    """
    if not dataset.subjects:
        return None
    table = pd.DataFrame(dataset.subjects)
    if not {"subject", "edv_ml", "esv_ml"} <= set(table.columns):
        return None
    if "primary" in table.columns:
        table = table[table["primary"].astype(str).str.lower() != "false"]
    table = table[["subject", "edv_ml", "esv_ml"]].copy()
    for column in ("edv_ml", "esv_ml"):
        table[column] = pd.to_numeric(table[column].replace("", math.nan), errors="coerce")
    return table.reset_index(drop=True)


def read_volume_table(path: Path, cases: list[CaseRecord], structures: dict[str, list[int]]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Read a volume-output method's ``volumes.csv`` (``case`` + one column per structure, ml).

    Returns the volumes by case and the problems found (each naming the case or the column).
    """
    problems: list[str] = []
    if not path.is_file():
        return {}, [f"{path.name}: missing (a method with `output: volumes` writes volumes.csv)"]
    try:
        table = pd.read_csv(path, dtype={"case": str})
    except (OSError, ValueError) as err:
        return {}, [f"{path.name}: unreadable ({err})"]
    if "case" not in table.columns:
        return {}, [f"{path.name}: no `case` column (columns: {', '.join(table.columns)})"]
    columns = [c for c in table.columns if c in structures]
    if not columns:
        problems.append(f"{path.name}: no column named after a structure ({', '.join(structures)})")
    volumes: dict[str, dict[str, float]] = {}
    for row in table.to_dict(orient="records"):
        values = {c: float(row[c]) for c in columns}
        if any(not math.isfinite(v) or v < 0 for v in values.values()):
            problems.append(f"{row['case']}: volumes must be finite and non-negative, got {values}")
            continue
        volumes[str(row["case"])] = values
    for record in cases:
        if record.case not in volumes:
            problems.append(f"{record.case}: no row in {path.name}")
    return volumes, problems


def evaluate_predictions(
    dataset: CommonDataset,
    cases: list[CaseRecord],
    predictions: Path,
    invalid_cases: set[str] | Mapping[str, str],
    settings: MetricsSettings,
    clinical: ClinicalSettings | None,
    method_id: str,
    truth_table: pd.DataFrame | None = None,
    predicted_volumes: dict[str, dict[str, float]] | None = None,
    workers: int | None = None,
    on_case_done: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (metric rows, subject rows); every primary case of ``cases`` appears, scored or failed.

    ``invalid_cases`` are the cases whose prediction failed the method contract's checks, as a
    set or as a mapping case -> the violation (it becomes the rows' ``reason``). Non-primary
    cases (augmentation copies) are never scored: they are left out, with a log line.
    """
    structures = dataset.structures
    kept = scored_cases(cases)
    if len(kept) < len(cases):
        log.info("%d non-primary case(s) (augmentation copies) are not scored", len(cases) - len(kept))
    reasons = invalid_cases if isinstance(invalid_cases, Mapping) else dict.fromkeys(invalid_cases, "")
    tasks = [
        CaseTask(r, dataset.label_path(r), predictions / label_file_name(r.case), r.case not in reasons,
                 structures, settings,
                 None if predicted_volumes is None else predicted_volumes.get(r.case, {}),
                 reasons.get(r.case, ""))
        for r in kept
    ]
    workers = workers or min(os.cpu_count() or 1, 4)
    results = []
    if workers > 1 and len(tasks) > 1:
        from harness.executors.processes import die_with_parent

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=die_with_parent) as pool:
            for result in pool.map(evaluate_one, tasks, chunksize=max(1, len(tasks) // (workers * 4))):
                results.append(result)
                if on_case_done:
                    on_case_done()
    else:
        for task in tasks:
            results.append(evaluate_one(task))
            if on_case_done:
                on_case_done()
    metric_rows = [row for rows, _ in results for row in rows]
    volume_rows = [row for _, rows in results for row in rows]
    metrics = pd.DataFrame(metric_rows, columns=METRIC_COLUMNS)
    subjects = pd.DataFrame()
    if clinical is not None and volume_rows:
        volumes = pd.DataFrame(volume_rows)
        volumes.insert(0, "method", method_id)
        if truth_table is None and volumes["volume_ref_ml"].isna().all():
            return metrics, subjects
        subjects = compute_subject_indices(volumes, clinical, truth_table)
    return metrics, subjects
