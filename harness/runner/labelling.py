"""The label job (``datasets[].labels_from``, cmr-seg-tl stage 1): another method's model labels a dataset.

The labeller's trained model predicts the images of one fold's **training and validation** subjects of the
dataset (test subjects are never labelled, so no test reference reaches any method); each subject's LV
volumes at ED and ES are read from those predictions (ED by the labeller card's ``ed_rule``, ES the smallest
LV) and compared with the dataset's subject-level truth (``subjects.csv``: ``edv_ml``, ``esv_ml``), giving
cmr-seg-tl's confidence value max(|ΔEDV|, |ΔESV|) / truth in percent. The output is a common-format folder
of the labelled cases (images linked from the dataset, labels = the predictions) that the fold's training
jobs train on, and ``volumes.csv``; a subset's ``confidence`` rule without ``reference_volumes`` keeps the
subjects whose error is within its ``max_error_pct``. The lineage (who labelled, which rule, which subjects
were kept) lands in each training job's output, ``TrainOutput.labels`` (``steps.label_lineage``).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.common.dataset import CommonDataset, image_file_name, label_file_name, write_csv
from harness.common.images import read_label
from harness.common.records import CaseRecord
from harness.contract.checks import check_predictions, valid_prediction_cases
from harness.contract.files import link_file
from harness.contract.seal import check_model_seal
from harness.contract.views import make_images_view
from harness.errors import InputDataError, JobFailedError
from harness.executors.base import Invocation
from harness.executors.processes import RUNNING_DIR
from harness.factors.subsets import volume_error_pct
from harness.metrics.clinical import CineCurve, select_phase_frames
from harness.plan.jobs import Job
from harness.runner.steps import _check_result, _fold, _method_env
from harness.store.outputs import LabelOutput, TrainOutput

VOLUME_COLUMNS = ("subject", "n_frames", "ed_frame", "es_frame", "edv_ml", "esv_ml", "edv_true_ml", "esv_true_ml",
                  "error_pct")


def labelled_cases(dataset: CommonDataset, groups: set[str], test_groups: set[str]) -> list[CaseRecord]:
    """Every case of ``groups`` (training and validation); never one of a test group."""
    cases = [r for r in dataset.cases if (r.group or r.subject) in groups]
    leaked = sorted({r.subject for r in cases if (r.group or r.subject) in test_groups})
    if leaked:  # unreachable with harness splits (groups are disjoint); a guard, not a rule
        raise JobFailedError(f"refused to label test subjects {', '.join(leaked[:5])}")
    return cases


def _truth(dataset: CommonDataset) -> dict[str, tuple[float, float]]:
    out = {}
    for row in dataset.subjects:
        try:
            edv, esv = float(row.get("edv_ml") or "nan"), float(row.get("esv_ml") or "nan")
        except ValueError:
            continue
        if edv > 0 and esv > 0:
            out[str(row["subject"])] = (edv, esv)
    return out


def subject_volumes(dataset: CommonDataset, cases: list[CaseRecord], folder: Path, ed_rule: str,
                    invalid: set[str]) -> list[dict[str, Any]]:
    """One row per subject: the labeller's ED/ES frames and LV volumes, the truth, the error (NaN without truth)."""
    lv = dataset.label_map.get("LV")
    if lv is None:
        raise InputDataError(f"dataset {dataset.name}: no label named LV in {dataset.label_map}; labels made by a "
                             "method are judged by their LV volumes")
    truth = _truth(dataset)
    by_subject: dict[str, dict[int, float]] = {}
    for record in cases:
        if record.case in invalid or record.frame is None or not record.primary:
            continue
        label = read_label(folder / label_file_name(record.case))
        by_subject.setdefault(record.subject, {})[record.frame] = \
            float((label.array == lv).sum()) * label.geometry.voxel_volume_ml
    rows = []
    for subject, volumes in sorted(by_subject.items()):
        frames = tuple(sorted(volumes))
        phases = select_phase_frames(CineCurve(frames, tuple(volumes[f] for f in frames)),
                                     ed_rule=ed_rule)  # type: ignore[arg-type]
        edv, esv = volumes[phases.ed_frame], volumes[phases.es_frame]
        edv_true, esv_true = truth.get(subject, (math.nan, math.nan))
        error = volume_error_pct(edv, esv, edv_true, esv_true) if subject in truth else math.nan
        rows.append({"subject": subject, "n_frames": len(frames), "ed_frame": phases.ed_frame,
                     "es_frame": phases.es_frame, "edv_ml": round(edv, 4), "esv_ml": round(esv, 4),
                     "edv_true_ml": edv_true, "esv_true_ml": esv_true, "error_pct": round(error, 4)})
    return rows


def write_labelled_dataset(dataset: CommonDataset, cases: list[CaseRecord], predictions: Path, target: Path) -> int:
    """A common-format folder of ``cases`` whose labels are the predictions; returns the number of cases."""
    shutil.rmtree(target, ignore_errors=True)
    for sub in ("imagesTr", "labelsTr"):
        (target / sub).mkdir(parents=True)
    records = []
    for record in cases:
        for channel, path in enumerate(dataset.image_paths(record)):
            link_file(path, target / "imagesTr" / image_file_name(record.case, channel))
        (predictions / label_file_name(record.case)).replace(target / "labelsTr" / label_file_name(record.case))
        records.append(replace(record, has_label=True, annotated=""))
    meta = dict(dataset.meta)
    meta["numTraining"] = len(records)
    meta["segarena_labels_by"] = "predictions of a method (see the label job's output)"
    (target / "dataset.json").write_text(json.dumps(meta, indent=2))
    write_csv(target / "cases.csv", CaseRecord.columns(), (r.to_row() for r in records))
    subjects = {r.subject for r in records}
    rows = [row for row in dataset.subjects if row.get("subject") in subjects]
    if rows:
        write_csv(target / "subjects.csv", list(rows[0]), rows)
    return len(records)


def run_label(ctx: Any, job: Job, progress: Any) -> LabelOutput:
    dataset, splits, fold_index = _fold(ctx, job)
    fold = splits.folds[fold_index]
    labeller = ctx.dep(job, TrainOutput)
    if labeller.dataset == job.spec["dataset"] and set(labeller.training_subjects) & set(fold.test):
        raise InputDataError(f"{job.name}: the labelling model was trained on test subjects of this fold")
    cases = labelled_cases(dataset, set(fold.train) | set(fold.val), set(fold.test))
    if not cases:
        raise JobFailedError(f"{job.name}: no training or validation cases to label in fold {fold_index}")
    card = ctx.methods.card(job.spec["method"])
    folder = ctx.job_dir(job)
    shutil.rmtree(folder, ignore_errors=True)
    check_model_seal(labeller.model, labeller.model_manifest, "before labelling")
    images = make_images_view(dataset, cases, folder / "images")
    out = folder / "predictions"
    out.mkdir(parents=True)
    progress(len(cases), 0)
    result = ctx.executor.run(Invocation(card, "predict", {"images": images, "model": labeller.model, "out": out},
                                         _method_env(job), card.resources.time_limit_s, folder / "label.log",
                                         ctx.run_dir / RUNNING_DIR, ctx.assignment))
    shutil.rmtree(images, ignore_errors=True)
    _check_result(result)
    check_model_seal(labeller.model, labeller.model_manifest, "during labelling")
    invalid = valid_prediction_cases(check_predictions(dataset, cases, out))
    good = [r for r in cases if r.case not in invalid]
    if not good:
        raise JobFailedError(f"{job.name}: every prediction of the labeller broke the contract; log: "
                             f"{folder / 'label.log'}")
    rows = subject_volumes(dataset, good, out, str(job.spec.get("ed_rule", "largest_lv")), invalid)
    n_cases = write_labelled_dataset(dataset, good, out, folder / "dataset")
    shutil.rmtree(out, ignore_errors=True)
    volumes = folder / "volumes.csv"
    write_csv(volumes, VOLUME_COLUMNS, rows)
    errors = {str(r["subject"]): (None if math.isnan(r["error_pct"]) else float(r["error_pct"])) for r in rows}
    return LabelOutput(dataset=folder / "dataset", method=job.spec["method_id"], train_job=job.spec["train_job"],
                       ed_rule=str(job.spec.get("ed_rule", "largest_lv")), volumes=volumes, errors_pct=errors,
                       n_cases=n_cases, invalid_cases=sorted(invalid), duration_s=result.duration_s,
                       log=folder / "label.log", provenance=result.provenance)
