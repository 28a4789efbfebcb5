"""spine_slices adapter: DICOM slices, learnt/declared ROI-id label map, JPEG snapping, grouping, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.common import CommonDataset, validate_dataset
from harness.common.dataset import read_csv
from harness.datasets import DatasetRegistry, convert_dataset
from harness.errors import ConfigError, InputDataError
from tests.support.nnunet_check import assert_nnunet_integrity
from tests.support.raw_spine_slices import SpineSample, add_bad_samples, write_label, write_spine_slices

LEARNT = {0: 0, 50: 1, 100: 2, 150: 3, 200: 4}  # ROI id → label


def _convert(raw: Path, out: Path, **options: object) -> CommonDataset:
    convert_dataset(DatasetRegistry().adapter("spine_slices", dict(options)), raw, out)
    return CommonDataset.open(out)


def _relabel(roi: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    out = np.zeros(roi.shape, np.uint8)
    for raw, label in mapping.items():
        out[roi == raw] = label
    return out


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, SpineSample]]:
    root = tmp_path_factory.mktemp("spine")
    samples = write_spine_slices(root / "raw")
    _convert(root / "raw", root / "out")
    return root / "out", samples


def test_cases_groups_and_learnt_label_map(converted: tuple[Path, dict[str, SpineSample]]) -> None:
    out, samples = converted
    dataset = CommonDataset.open(out)
    assert dataset.label_map == {"background": 0, "roi_50": 1, "roi_100": 2, "roi_150": 3, "roi_200": 4}
    assert json.loads((out / "dataset.json").read_text())["labels"] == dataset.label_map
    assert {r.case for r in dataset.cases} == set(samples)
    for record in dataset.cases:
        s = samples[record.case]
        assert record.subject == record.group == s.patient_id  # the DICOM PatientID, not the name prefix
        assert record.has_label == (s.roi is not None)
        assert record.n_slices == 1
        assert (record.spacing_x_mm, record.spacing_y_mm, record.spacing_z_mm) == pytest.approx((0.8, 0.78125, 4.0))
        assert (record.vendor, record.field_strength_t) == ("SIEMENS", 3.0)
        expected_sources = [f"dicoms/{s.name}.dcm"] + ([f"labels/{s.name}{s.label_suffix}"] if s.label_suffix else [])
        assert record.source_files.split(";") == expected_sources
    assert dataset.meta["numTraining"] == 5
    subjects = {row["subject"]: row for row in read_csv(out / "subjects.csv")}
    assert {k: (int(v["n_slices"]), int(v["n_labelled"])) for k, v in subjects.items()} == {
        "SPINE-001": (3, 3), "SPINE-002": (3, 2)
    }
    assert validate_dataset(out) == []


def test_pixels_labels_and_geometry(converted: tuple[Path, dict[str, SpineSample]]) -> None:
    out, samples = converted
    dataset = CommonDataset.open(out)
    for record in dataset.cases:
        s = samples[record.case]
        (image,) = dataset.read_images(record)
        assert image.array.shape == (1, 40, 48)
        np.testing.assert_array_equal(image.array[0], s.image)
        assert image.geometry.origin_mm == pytest.approx(s.position, abs=1e-4)
        row, column = np.array(s.orientation[:3]), np.array(s.orientation[3:])
        direction = np.column_stack([row, column, np.cross(row, column)]).ravel()
        assert image.geometry.direction == pytest.approx(tuple(direction), abs=1e-5)
        if s.roi is not None and s.label_suffix != ".jpg":
            label = dataset.read_label(record)
            assert label is not None
            np.testing.assert_array_equal(label.array[0], _relabel(s.roi, LEARNT))


def test_jpeg_label_is_snapped_and_the_change_logged(converted: tuple[Path, dict[str, SpineSample]]) -> None:
    out, samples = converted
    s = samples["P001_L5"]
    dataset = CommonDataset.open(out)
    label = dataset.read_label(dataset.case("P001_L5"))
    assert label is not None and s.roi is not None
    truth = _relabel(s.roi, LEARNT)
    # ROI ids 50 apart: JPEG noise (quality 75) crosses half the gap only at a few edge pixels
    assert np.count_nonzero(label.array[0] != truth) <= 0.01 * truth.size
    decoded = np.asarray(Image.open(out.parent / "raw" / "labels" / "P001_L5.jpg")).astype(int)
    ids = np.array(sorted(LEARNT))
    nearest = ids[np.abs(decoded[..., None] - ids).argmin(axis=-1)]
    expected_changed = int(np.count_nonzero(nearest != decoded))
    assert expected_changed > 0  # the JPEG really was lossy
    (event,) = [e for e in read_csv(out / "conversion_log.csv") if e["problem"] == "JPEG-compressed label"]
    assert event["detail"] == f"{expected_changed} of {40 * 48} pixels changed"
    assert (event["subject"], event["file"], event["severity"]) == ("SPINE-001", "labels/P001_L5.jpg", "info")


def test_conversion_log(converted: tuple[Path, dict[str, SpineSample]]) -> None:
    out, _ = converted
    log = read_csv(out / "conversion_log.csv")
    problems = {(e["problem"], e["severity"]): e for e in log}
    once = problems[("ROI id seen in one sample only", "warning")]
    assert "ROI id 200 appears only in labels/P002_L4.png" in once["detail"]
    assert once["subject"] == "SPINE-002"
    learnt = problems[("label map learnt from the data", "info")]
    assert "ROI 200 → 4 roi_200" in learnt["detail"] and "from 4 lossless label file(s)" in learnt["detail"]
    unlabelled = problems[("image without a label file", "info")]
    assert unlabelled["file"] == "dicoms/P002_L5.dcm"
    assert not [e for e in log if e["severity"] == "error"]


def test_learnt_map_reaches_forked_workers(tmp_path: Path) -> None:
    write_spine_slices(tmp_path / "raw")
    summary = convert_dataset(DatasetRegistry().adapter("spine_slices"), tmp_path / "raw", tmp_path / "out", workers=2)
    assert (summary.n_cases, summary.n_failed_subjects) == (6, 0)
    assert CommonDataset.open(tmp_path / "out").label_map["roi_200"] == 4
    assert validate_dataset(tmp_path / "out") == []


def test_declared_label_map(tmp_path: Path) -> None:
    write_spine_slices(tmp_path / "raw")
    labels = {"background": 0, "erector_spinae": 150, "multifidus_left": 50, "multifidus_right": 100, "marker": 200}
    dataset = _convert(tmp_path / "raw", tmp_path / "out", labels=labels)
    assert dataset.label_map == {"background": 0, "multifidus_left": 1, "multifidus_right": 2, "erector_spinae": 3,
                                 "marker": 4}
    assert not [e for e in read_csv(tmp_path / "out" / "conversion_log.csv") if e["problem"].startswith("label map")]


def test_declared_label_map_rejects_other_roi_ids(tmp_path: Path) -> None:
    write_spine_slices(tmp_path / "raw")
    labels = {"background": 0, "a": 50, "b": 100, "c": 150}  # 200 is not declared
    dataset = _convert(tmp_path / "raw", tmp_path / "out", labels=labels)
    assert "P002_L4" not in {r.case for r in dataset.cases}
    (error,) = [e for e in read_csv(tmp_path / "out" / "conversion_log.csv") if e["severity"] == "error"]
    assert "labels/P002_L4.png: ROI ids [200] are outside the label map" in error["detail"]
    assert error["subject"] == "SPINE-002"


def test_bad_options() -> None:
    registry = DatasetRegistry()
    with pytest.raises(ConfigError, match="group_by"):
        registry.adapter("spine_slices", {"group_by": "series"})
    with pytest.raises(ConfigError, match="background: 0"):
        registry.adapter("spine_slices", {"labels": {"muscle": 1}})


def test_only_jpeg_labels_need_a_declared_map(tmp_path: Path) -> None:
    samples = write_spine_slices(tmp_path / "raw")
    for path in (tmp_path / "raw" / "labels").iterdir():
        path.unlink()
    for s in samples.values():
        if s.roi is not None:
            write_label(tmp_path / "raw" / "labels" / f"{s.name}.jpg", s.roi)
    with pytest.raises(InputDataError, match="only JPEG labels"):
        _convert(tmp_path / "raw", tmp_path / "out")
    dataset = _convert(tmp_path / "raw", tmp_path / "out2", labels={"background": 0, "a": 50, "b": 100, "c": 150,
                                                                      "d": 200})
    assert dataset.meta["numTraining"] == 5


def test_grouping_by_name_prefix(tmp_path: Path) -> None:
    write_spine_slices(tmp_path / "raw")
    dataset = _convert(tmp_path / "raw", tmp_path / "out", group_by="name_prefix")
    assert {r.case: r.group for r in dataset.cases if r.case.startswith("P001")} == dict.fromkeys(
        ("P001_L3", "P001_L4", "P001_L5"), "P001"
    )


def test_missing_patient_id_falls_back_to_the_name_prefix(tmp_path: Path) -> None:
    from tests.support.raw_spine_slices import write_sample

    write_spine_slices(tmp_path / "raw")
    write_sample(tmp_path / "raw", "P004_L1", "", 21, ".png", drop=("PatientID",))
    dataset = _convert(tmp_path / "raw", tmp_path / "out")
    assert {r.group for r in dataset.cases} == {"P001", "P002", "P004"}
    (warning,) = [e for e in read_csv(tmp_path / "out" / "conversion_log.csv") if e["problem"] == "DICOM PatientID missing"]
    assert warning["severity"] == "warning" and "dicoms/P004_L1.dcm" in warning["detail"]


def test_bad_samples_are_logged_and_the_rest_converts(tmp_path: Path) -> None:
    samples = write_spine_slices(tmp_path / "raw")
    bad = add_bad_samples(tmp_path / "raw")
    dataset = _convert(tmp_path / "raw", tmp_path / "out")
    assert {r.case for r in dataset.cases} == {*samples, "P003_L1"}
    errors = [e for e in read_csv(tmp_path / "out" / "conversion_log.csv") if e["severity"] == "error"]
    by_sample = {}
    for e in errors:
        name = Path(e["file"]).stem
        by_sample[name] = e
    assert set(by_sample) == set(bad)
    for name, event in by_sample.items():
        assert bad[name] in event["detail"], event["detail"]
    assert "pixel data cannot be decoded" in by_sample["P003_L2"]["detail"]
    assert "missing DICOM tag(s) PixelSpacing" in by_sample["P003_L3"]["detail"]
    assert "label size 44×40 (columns×rows) differs from the image's 48×40" in by_sample["P003_L4"]["detail"]
    assert "cannot be read as an image" in by_sample["P003_L5"]["detail"]
    assert by_sample["P009_L1"]["problem"] == "label for an image that does not exist"
    assert {by_sample[n]["subject"] for n in ("P003_L2", "P003_L3", "P003_L4", "P003_L5")} == {"SPINE-003"}
    assert validate_dataset(tmp_path / "out") == []


@pytest.mark.slow
def test_nnunet_integrity(converted: tuple[Path, dict[str, SpineSample]]) -> None:
    assert_nnunet_integrity(converted[0])
