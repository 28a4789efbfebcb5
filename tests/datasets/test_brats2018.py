"""brats2018 adapter: four channels, consecutive labels, nnU-Net regions, grades, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.common import CommonDataset, validate_dataset
from harness.common.dataset import read_csv
from harness.datasets import DatasetRegistry, convert_dataset
from tests.support.nnunet_check import assert_nnunet_integrity
from tests.support.raw_brats2018 import MODALITIES, BratsCase, add_bad_cases, write_brats2018

# raw BraTS value → the common format's label
EXPECTED_MAP = {0: 0, 1: 2, 2: 1, 4: 3}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, BratsCase]]:
    root = tmp_path_factory.mktemp("brats")
    expected = write_brats2018(root / "raw")
    convert_dataset(DatasetRegistry().adapter("brats2018"), root / "raw", root / "out")
    return root / "out", expected


def _relabel(seg: np.ndarray) -> np.ndarray:
    out = np.zeros_like(seg)
    for raw, new in EXPECTED_MAP.items():
        out[seg == raw] = new
    return out


def test_cases_channels_and_labels(converted: tuple[Path, dict[str, BratsCase]]) -> None:
    out, expected = converted
    dataset = CommonDataset.open(out)
    assert dataset.channel_names == ["T1", "T1ce", "T2", "FLAIR"]
    assert {r.case for r in dataset.cases} == set(expected)
    for record in dataset.cases:
        case = expected[record.case]
        images = dataset.read_images(record)
        for modality, image, truth in zip(MODALITIES, images, case.channels, strict=True):
            np.testing.assert_array_equal(image.array, truth, err_msg=modality)
            assert image.geometry.origin_mm == pytest.approx(case.origin_lps_mm, abs=1e-5)
            assert image.geometry.direction == pytest.approx(np.eye(3).ravel().tolist(), abs=1e-6)
            assert image.geometry.spacing_mm == pytest.approx((1.0, 1.0, 1.0))
        assert record.has_label == (case.seg is not None)
        if case.seg is not None:
            label = dataset.read_label(record)
            assert label is not None
            np.testing.assert_array_equal(label.array, _relabel(case.seg))
            assert set(np.unique(label.array)) == {0, 1, 2, 3}
    assert (out / "imagesTs" / "Brats18_CBICA_AAM_1_0003.nii.gz").is_file()
    assert validate_dataset(out) == []
    assert read_csv(out / "conversion_log.csv") == []


def test_regions_in_dataset_json(converted: tuple[Path, dict[str, BratsCase]]) -> None:
    out, _ = converted
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] == {"background": 0, "WT": [1, 2, 3], "TC": [2, 3], "ET": [3]}
    assert meta["regions_class_order"] == [1, 2, 3]
    assert meta["segarena_label_map"] == {"background": 0, "ED": 1, "NCR_NET": 2, "ET": 3}
    assert meta["numTraining"] == 3
    dataset = CommonDataset.open(out)
    assert dataset.structures == {"WT": [1, 2, 3], "TC": [2, 3], "ET": [3]}


def test_regions_are_brats_regions_and_give_back_the_label_map(converted: tuple[Path, dict[str, BratsCase]]) -> None:
    """WT = {1,2,4}, TC = {1,4}, ET = {4} in BraTS values; nnU-Net's region→label rule restores the labels."""
    out, expected = converted
    meta = json.loads((out / "dataset.json").read_text())
    region_names = [k for k in meta["labels"] if k != "background"]
    dataset = CommonDataset.open(out)
    for record in dataset.cases:
        if not record.has_label:
            continue
        raw = expected[record.case].seg
        label = dataset.read_label(record)
        assert raw is not None and label is not None
        brats_regions = {"WT": np.isin(raw, [1, 2, 4]), "TC": np.isin(raw, [1, 4]), "ET": raw == 4}
        rebuilt = np.zeros_like(label.array)
        for name, value in zip(region_names, meta["regions_class_order"], strict=True):
            mask = np.isin(label.array, meta["labels"][name])
            np.testing.assert_array_equal(mask, brats_regions[name], err_msg=name)
            rebuilt[mask] = value  # nnU-Net's convert_probabilities_to_segmentation rule
        np.testing.assert_array_equal(rebuilt, label.array)


def test_grade_site_and_groups(converted: tuple[Path, dict[str, BratsCase]]) -> None:
    out, expected = converted
    subjects = {row["subject"]: row for row in read_csv(out / "subjects.csv")}
    assert {s: row["grade"] for s, row in subjects.items()} == {c.case: c.grade for c in expected.values()}
    assert subjects["Brats18_CBICA_AVV_1"]["patient"] == "Brats18_CBICA_AVV"
    cases = {r["case"]: r for r in read_csv(out / "cases.csv")}
    assert cases["Brats18_2013_2_1"]["site"] == "2013"
    assert cases["Brats18_CBICA_AVV_1"]["site"] == "CBICA"
    assert cases["Brats18_TCIA10_393_1"]["site"] == "TCIA10"
    assert cases["Brats18_TCIA10_393_1"]["group"] == "Brats18_TCIA10_393"
    assert cases["Brats18_2013_2_1"]["source_files"].split(";")[0] == (
        "MICCAI_BraTS_2018_Data_Training/HGG/Brats18_2013_2_1/Brats18_2013_2_1_t1.nii.gz"
    )


def test_bad_cases_are_logged_and_the_rest_converts(tmp_path: Path) -> None:
    expected = write_brats2018(tmp_path / "raw")
    bad = add_bad_cases(tmp_path / "raw")
    summary = convert_dataset(DatasetRegistry().adapter("brats2018"), tmp_path / "raw", tmp_path / "out")
    assert summary.n_failed_subjects == len(bad)
    log = {row["subject"]: row for row in read_csv(tmp_path / "out" / "conversion_log.csv")}
    assert set(log) == set(bad)
    for case, row in log.items():
        assert row["severity"] == "error"
        assert bad[case] in row["detail"], row["detail"]
    assert "label values [3]" in log["Brats18_TCIA01_390_1"]["detail"]
    assert "value 3 is not used in BraTS 2018" in log["Brats18_TCIA01_390_1"]["detail"]
    assert "voxel grid differs from Brats18_TCIA02_117_1_t1.nii.gz's" in log["Brats18_TCIA02_117_1"]["detail"]
    assert "file not found" in log["Brats18_TCIA09_141_1"]["detail"]
    assert "truncated" in log["Brats18_TCIA12_101_1"]["detail"]
    assert "truncated" in log["Brats18_TCIA12_102_1"]["detail"]
    assert "voxel grid differs" in log["Brats18_2013_0_1"]["detail"]
    assert {r.case for r in CommonDataset.open(tmp_path / "out").cases} == set(expected)
    assert validate_dataset(tmp_path / "out") == []


@pytest.mark.slow
def test_nnunet_integrity(converted: tuple[Path, dict[str, BratsCase]]) -> None:
    assert_nnunet_integrity(converted[0])


@pytest.mark.slow
def test_nnunet_turns_region_predictions_back_into_our_labels(converted: tuple[Path, dict[str, BratsCase]]) -> None:
    """nnU-Net's LabelManager, fed perfect region outputs, writes exactly the converted label map."""
    from nnunetv2.utilities.label_handling.label_handling import LabelManager

    out, _ = converted
    meta = json.loads((out / "dataset.json").read_text())
    manager = LabelManager(meta["labels"], regions_class_order=meta["regions_class_order"])
    assert manager.has_regions
    dataset = CommonDataset.open(out)
    for record in dataset.cases:
        label = dataset.read_label(record)
        if label is None:
            continue
        probabilities = np.stack([np.isin(label.array, region) for region in manager.foreground_regions]).astype(np.float32)
        segmentation = manager.convert_probabilities_to_segmentation(probabilities)
        np.testing.assert_array_equal(np.asarray(segmentation), label.array)
