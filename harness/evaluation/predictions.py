"""The evaluate job's scoring: the only place test labels are read. Per case metrics, per subject cine indices.

Each case is scored by :func:`harness.evaluation.case.score_case` (one bad file fails only its
case, with a ``reason``); a prediction refused by the method contract's checks is
``invalid_prediction`` with the violation as its reason. Cases that are not ``primary``
(augmentation copies, e.g. kaggle_dsb's ``_rot90``) are never scored.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.common.dataset import CommonDataset, label_file_name, scored_cases
from harness.common.records import CaseRecord
from harness.evaluation.case import CaseFiles, read_reference, score_case
from harness.evaluation.volumes import compute_volumes_ml, volume_rows
from harness.metrics.clinical import ClinicalSettings, compute_subject_indices
from harness.metrics.settings import MetricsSettings

log = logging.getLogger(__name__)

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


def evaluate_one(task: CaseTask) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Metric rows and volume rows of one case (runs in worker processes); a bad file fails this case only."""
    record = task.record
    if task.predicted_volumes_ml is not None:
        return [], _volume_case(task)
    refused = None if task.prediction_valid else task.invalid_reason
    score = score_case(CaseFiles(record.case, task.label_path, task.prediction_path, refused),
                       task.structures, task.settings, record.annotated_structures)  # fmt: skip
    base = {"case": record.case, "subject": record.subject, "phase": record.phase, "frame": record.frame}
    metric_rows: list[dict[str, object]] = [
        {**base, "label": row.label, "metric": row.metric, "value": row.value, "status": row.status,
         "reason": row.reason}
        for row in score.rows
    ]  # fmt: skip
    source = score.reference if score.reference is not None else score.prediction
    voxel_ml = source.geometry.voxel_volume_ml if source is not None else math.nan
    annotated = record.annotated_structures
    scored = {k: v for k, v in task.structures.items() if annotated is None or k in annotated}
    reference_ml = compute_volumes_ml(score.reference, scored, voxel_ml)
    predicted_ml = compute_volumes_ml(score.prediction, task.structures, voxel_ml)
    return metric_rows, volume_rows(record, task.structures, predicted_ml, reference_ml)


def _volume_case(task: CaseTask) -> list[dict[str, object]]:
    """A method that outputs volumes, not masks: only volume rows (mask metrics do not apply)."""
    reference, problem = read_reference(task.label_path)
    if problem:
        log.warning("case %s: %s; its reference volumes are NaN", task.record.case, problem)
    voxel_ml = reference.geometry.voxel_volume_ml if reference is not None else math.nan
    assert task.predicted_volumes_ml is not None
    reference_ml = compute_volumes_ml(reference, task.structures, voxel_ml)
    return volume_rows(task.record, task.structures, task.predicted_volumes_ml, reference_ml)


#: Fewer cases are scored in the calling thread: starting a worker pool (~0.3 s) costs more than they do.
POOL_MIN_CASES = 6


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
    ]  # fmt: skip
    workers = workers or min(os.cpu_count() or 1, 4)
    results = []
    if workers > 1 and len(tasks) > POOL_MIN_CASES:
        from harness.common.workers import worker_pool

        with worker_pool(workers, preload=("harness.evaluation.predictions",)) as pool:
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
    volume_rows_ = [row for _, rows in results for row in rows]
    metrics = pd.DataFrame(metric_rows, columns=METRIC_COLUMNS)
    subjects = pd.DataFrame()
    if clinical is not None and volume_rows_:
        volumes = pd.DataFrame(volume_rows_)
        volumes.insert(0, "method", method_id)
        if truth_table is None and volumes["volume_ref_ml"].isna().all():
            return metrics, subjects
        subjects = compute_subject_indices(volumes, clinical, truth_table)
    return metrics, subjects
