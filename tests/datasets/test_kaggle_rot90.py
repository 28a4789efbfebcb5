"""kaggle_dsb's ``_rot90`` copies: none by default; when asked for, augmentation only, never tested or scored."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from harness.common import CommonDataset, LabelMap, read_image, write_image
from harness.common.dataset import read_csv, scored_cases
from harness.datasets import DatasetRegistry, convert_dataset
from harness.evaluation.predictions import evaluate_predictions
from harness.evaluation.volumes import subject_truth_table
from harness.metrics import MetricsSettings
from harness.metrics.clinical import ClinicalSettings
from harness.runner.steps import test_cases as select_test_cases
from tests.support.raw_kaggle_dsb import write_dataset


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsb_rot90")
    write_dataset(root / "raw")
    return root / "raw"


def _convert(raw: Path, out: Path, options: dict[str, object] | None = None) -> CommonDataset:
    convert_dataset(DatasetRegistry().adapter("kaggle_dsb", options), raw, out, workers=1)
    return CommonDataset.open(out)


def test_default_writes_one_case_per_series_and_frame(raw: Path, tmp_path: Path) -> None:
    dataset = _convert(raw, tmp_path / "out")
    subjects = {row["subject"] for row in read_csv(dataset.root / "subjects.csv")}
    assert "2" in subjects and not any(s.endswith("_rot90") for s in subjects)
    assert not any("_rot90" in r.case for r in dataset.cases)
    assert not list((dataset.root / "imagesTs").glob("*_rot90_*"))
    assert all(r.primary for r in dataset.cases)
    assert {r["subject"] for r in dataset.subjects if r["primary"] != "True"} == set()


def _predict_lv(dataset: CommonDataset, cases: list, folder: Path) -> None:
    """A mask per case with a fixed LV of 8 voxels (volume from the case's own geometry)."""
    folder.mkdir()
    for record in cases:
        image = read_image(dataset.image_paths(record)[0])
        labels = np.zeros(image.array.shape, np.uint8)
        labels[0, :2, :4] = 1
        write_image(LabelMap(labels, image.geometry), folder / f"{record.case}.nii.gz")


def test_a_requested_copy_is_never_a_test_case_nor_scored(raw: Path, tmp_path: Path) -> None:
    dataset = _convert(raw, tmp_path / "out", {"rot90_copy": True})
    copies = [r for r in dataset.cases if r.subject == "2_rot90"]
    originals = [r for r in dataset.cases if r.subject == "2"]
    assert copies and len(copies) == len(originals)  # the copy exists (for training views) ...
    assert not any(r.primary for r in copies) and all(r.primary for r in originals)
    assert {r.group for r in copies} == {"2"}  # ... in the same split group as its original
    rows = {row["subject"]: row for row in dataset.subjects}
    assert (rows["2_rot90"]["primary"], rows["2"]["primary"]) == ("False", "True")

    groups = tuple(sorted({r.group for r in dataset.cases}))
    chosen = select_test_cases(dataset, groups)  # every group held out: the whole dataset as test set
    assert {r.case for r in chosen} == {r.case for r in dataset.cases if r.subject != "2_rot90"}
    assert scored_cases(dataset.cases) == chosen

    truth = subject_truth_table(dataset)
    assert truth is not None and "2_rot90" not in set(truth.subject)
    assert truth.loc[truth.subject == "1", "edv_ml"].item() == 150.25
    assert truth.edv_ml.isna().any()  # a patient without truth is NaN, not an unparsable ""

    # even handed every case, the evaluator scores only primary ones: no subject-level row of the copy
    _predict_lv(dataset, list(dataset.cases), tmp_path / "pred")
    metrics, subjects = evaluate_predictions(dataset, list(dataset.cases), tmp_path / "pred", set(),
                                             MetricsSettings(names=["dice"]), ClinicalSettings(), "m", truth,
                                             workers=1)
    assert metrics.empty  # no reference masks in this dataset
    assert "2_rot90" not in set(subjects.subject) and "2" in set(subjects.subject)
    row = subjects.set_index("subject").loc["1"]
    assert row.edv_true_ml == 150.25 and not math.isnan(row.edv_pred_ml)
