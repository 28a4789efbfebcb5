"""The generated variants of real-layout datasets go through the real adapters.

``sunnybrook_synthetic`` writes DICOM + contour files in the challenge layout that the sunnybrook
adapter converts (series choice, contour linking, rasterisation, ED/ES); ``spine_synthetic`` writes
DICOM slices with PNG, NPY and JPEG labels that the spine_slices adapter converts (label map learnt,
JPEG snapped).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.datasets import DatasetRegistry, convert_dataset
from segarena_datasets.sunnybrook.adapter import Adapter as SunnybrookAdapter


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_sunnybrook_synthetic_converts_through_the_sunnybrook_adapter(tmp_path: Path) -> None:
    adapter = DatasetRegistry().adapter("sunnybrook_synthetic", {"subjects": 3, "slices": 3, "size": 64})
    assert isinstance(adapter, SunnybrookAdapter)
    summary = convert_dataset(adapter, tmp_path / "raw", tmp_path / "out")
    assert (summary.n_subjects, summary.n_cases) == (3, 6)
    assert len(list((tmp_path / "raw" / "challenge_training" / "SC-HF-I-01").glob("IM-0001-*.dcm"))) == 6
    contours = list((tmp_path / "raw").rglob("*contour-manual.txt"))
    assert len(contours) == 3 * 3 * 2 + 3 * 3  # i-contours at ED and ES, o-contours at ED
    cases = _rows(tmp_path / "out" / "cases.csv")
    assert sorted(r["phase"] for r in cases) == ["ED"] * 3 + ["ES"] * 3
    assert {r["annotated"] for r in cases if r["phase"] == "ES"} == {"LV"}  # no o-contour at ES: LV only
    lv_share = []
    for row in cases:
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "out" / "labelsTr" / f"{row['case']}.nii.gz")))
        lv_share.append(float((label == 1).mean()))
        if row["phase"] == "ED":
            assert (label == 2).any()
    assert 0.003 < np.mean(lv_share) < 0.03  # the class imbalance of the DIGITS tutorial
    # the same options again: the raw data is not written a second time
    stamp = (tmp_path / "raw" / "generated.json").stat().st_mtime_ns
    adapter.prepare_raw(tmp_path / "raw")
    assert (tmp_path / "raw" / "generated.json").stat().st_mtime_ns == stamp


def test_spine_synthetic_converts_png_npy_and_jpeg_labels_through_spine_slices(tmp_path: Path) -> None:
    adapter = DatasetRegistry().adapter("spine_synthetic", {"subjects": 2, "slices": 3, "size": 64})
    summary = convert_dataset(adapter, tmp_path / "raw", tmp_path / "out")
    assert (summary.n_subjects, summary.n_cases) == (2, 6)
    suffixes = sorted(p.suffix for p in (tmp_path / "raw" / "labels").iterdir())
    assert suffixes == [".jpg", ".jpg", ".npy", ".npy", ".png", ".png"]
    meta = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert meta["labels"] == {"background": 0, "roi_40": 1, "roi_80": 2, "roi_120": 3, "roi_160": 4}
    log = _rows(tmp_path / "out" / "conversion_log.csv")
    assert sum(r["problem"] == "JPEG-compressed label" for r in log) == 2
    for path in (tmp_path / "out" / "labelsTr").iterdir():
        values = set(np.unique(sitk.GetArrayFromImage(sitk.ReadImage(str(path)))).tolist())
        assert values == {0, 1, 2, 3, 4}, path.name
    assert {r["subject"] for r in _rows(tmp_path / "out" / "cases.csv")} == {"SPINE001", "SPINE002"}
