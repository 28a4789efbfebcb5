"""The evaluate step: partial annotation, missing and invalid predictions are all counted."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from harness.common import CaseRecord, Geometry, LabelMap, write_image
from harness.evaluation.predictions import CaseTask, evaluate_one
from harness.metrics import MetricsSettings

GEOMETRY = Geometry.identity((1.0, 1.0, 2.0))
STRUCTURES = {"LV": [1], "MYO": [2]}


def _task(tmp_path: Path, annotated: str = "", prediction: np.ndarray | None = None, valid: bool = True) -> CaseTask:
    reference = np.zeros((2, 8, 8), np.uint8)
    reference[:, 2:6, 2:6] = 2
    reference[:, 3:5, 3:5] = 1
    write_image(LabelMap(reference, GEOMETRY), tmp_path / "ref.nii.gz")
    if prediction is not None:
        write_image(LabelMap(prediction, GEOMETRY), tmp_path / "pred.nii.gz")
    record = CaseRecord(case="c", subject="s", frame=0, has_label=True, annotated=annotated)
    settings = MetricsSettings(names=["dice", "hd_mm"])
    return CaseTask(record, tmp_path / "ref.nii.gz", tmp_path / "pred.nii.gz", valid, STRUCTURES, settings)


def test_unannotated_structure_is_excluded_with_a_status(tmp_path: Path) -> None:
    prediction = np.zeros((2, 8, 8), np.uint8)
    prediction[:, 3:5, 3:5] = 1
    rows, volumes = evaluate_one(_task(tmp_path, annotated="LV", prediction=prediction))
    myo = [r for r in rows if r["label"] == "MYO"]
    assert len(myo) == 2 and all(r["status"] == "not_annotated" and math.isnan(r["value"]) for r in myo)
    lv_dice = next(r for r in rows if r["label"] == "LV" and r["metric"] == "dice")
    assert lv_dice["value"] == 1.0 and lv_dice["status"] == "ok"
    lv, myo_volume = (next(v for v in volumes if v["structure"] == s) for s in ("lv", "myo"))
    assert lv["volume_ref_ml"] == 2 * 2 * 2 * 2 / 1000 and math.isnan(myo_volume["volume_ref_ml"])


def test_missing_and_invalid_predictions_are_scored_as_failures(tmp_path: Path) -> None:
    rows, _ = evaluate_one(_task(tmp_path))
    assert {r["status"] for r in rows} == {"missing_prediction"} and len(rows) == 4
    rows, _ = evaluate_one(_task(tmp_path, prediction=np.zeros((2, 8, 8), np.uint8), valid=False))
    assert {r["status"] for r in rows} == {"invalid_prediction"}
    assert next(r for r in rows if r["metric"] == "dice")["value"] == 0.0
