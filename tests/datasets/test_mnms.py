"""mnms adapter: 4D cine + 4D gt, ED/ES from the information CSV, vendor/centre, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.common import CommonDataset, validate_dataset
from harness.common.dataset import read_csv
from harness.datasets import CARDIAC_LABELS, DatasetRegistry, convert_dataset
from tests.support.nnunet_check import assert_nnunet_integrity
from tests.support.raw_acdc import save_nifti
from tests.support.raw_mnms import MnmsSubject, add_bad_subjects, write_mnms


def _convert(raw: Path, out: Path, **options: object) -> CommonDataset:
    convert_dataset(DatasetRegistry().adapter("mnms", dict(options)), raw, out)
    return CommonDataset.open(out)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, MnmsSubject]]:
    root = tmp_path_factory.mktemp("mnms")
    subjects = write_mnms(root / "raw")
    _convert(root / "raw", root / "out")
    return root / "out", subjects


def test_ed_es_cases_with_vendor_and_centre(converted: tuple[Path, dict[str, MnmsSubject]]) -> None:
    out, subjects = converted
    dataset = CommonDataset.open(out)
    assert dataset.label_map == CARDIAC_LABELS
    assert {r.case for r in dataset.cases} == {f"{s.code}_f{f:02d}" for s in subjects.values() for f in (s.ed, s.es)}
    for record in dataset.cases:
        s = subjects[record.subject]
        assert record.phase == ("ED" if record.frame == s.ed else "ES")
        assert record.has_label == s.with_gt
        assert (record.site, record.vendor, record.group) == (str(s.centre), s.vendor_name, s.code)
        assert record.n_slices == s.cine.image.shape[1]
        assert (record.spacing_x_mm, record.spacing_y_mm, record.spacing_z_mm) == pytest.approx((1.25, 1.25, 9.2))
        (image,) = dataset.read_images(record)
        np.testing.assert_array_equal(image.array, s.cine.image[record.frame])
        assert image.geometry.origin_mm == pytest.approx(s.cine.origin_lps_mm, abs=1e-4)
        assert image.geometry.direction == pytest.approx(s.cine.direction_lps, abs=1e-5)
        if record.has_label:
            label = dataset.read_label(record)
            assert label is not None
            np.testing.assert_array_equal(label.array, s.cine.labels[record.frame])  # 1 LV, 2 MYO, 3 RV kept
    assert dataset.meta["numTraining"] == 4
    assert dataset.case("C8J7L5_f02").source_files == "OpenDataset/Training/Unlabeled/C8J7L5/C8J7L5_sa.nii.gz"
    assert validate_dataset(out) == []
    assert read_csv(out / "conversion_log.csv") == []


def test_subjects_csv(converted: tuple[Path, dict[str, MnmsSubject]]) -> None:
    out, subjects = converted
    rows = {row["subject"]: row for row in read_csv(out / "subjects.csv")}
    assert set(rows) == set(subjects)  # Z9Z9Z9 is in the CSV only
    for code, s in subjects.items():
        row = rows[code]
        assert (row["vendor"], row["vendor_name"], row["centre"]) == (s.vendor, s.vendor_name, str(s.centre))
        assert (int(row["ed_frame"]), int(row["es_frame"]), int(row["n_frames"])) == (s.ed, s.es, 6)
        assert row["pathology"] == s.pathology
        assert row["split"] == f"OpenDataset/{s.folder.parent.relative_to(s.folder.parents[2]).as_posix()}"
        assert row["sex"] == "M"
        if s.with_gt:
            voxel_ml = s.cine.voxel_ml()
            edv = np.count_nonzero(s.cine.labels[s.ed] == 1) * voxel_ml
            esv = np.count_nonzero(s.cine.labels[s.es] == 1) * voxel_ml
            assert (float(row["edv_ml"]), float(row["esv_ml"])) == pytest.approx((edv, esv), abs=1e-3)
        else:
            assert row["edv_ml"] == ""


def test_all_frames_option(tmp_path: Path) -> None:
    subjects = write_mnms(tmp_path / "raw")
    dataset = _convert(tmp_path / "raw", tmp_path / "out", all_frames=True)
    assert len(dataset.cases) == 3 * 6
    for record in dataset.cases:
        s = subjects[record.subject]
        if record.frame not in (s.ed, s.es):
            assert (record.phase, record.has_label) == ("", False)
    assert dataset.meta["numTraining"] == 4
    assert validate_dataset(tmp_path / "out") == []


def test_labels_outside_ed_es_are_a_warning(tmp_path: Path) -> None:
    subjects = write_mnms(tmp_path / "raw")
    s = subjects["A0S9V9"]
    gt = s.cine.labels.copy()  # every frame labelled
    save_nifti(s.folder / "A0S9V9_sa_gt.nii.gz", gt, s.cine.affine)
    dataset = _convert(tmp_path / "raw", tmp_path / "out")
    (row,) = read_csv(tmp_path / "out" / "conversion_log.csv")
    assert (row["subject"], row["severity"]) == ("A0S9V9", "warning")
    assert "frames [1, 2, 4, 5] hold labels" in row["detail"]
    assert {r.frame for r in dataset.cases if r.subject == "A0S9V9"} == {s.ed, s.es}


def test_missing_information_csv(tmp_path: Path) -> None:
    write_mnms(tmp_path / "raw")
    for path in (tmp_path / "raw").glob("*.csv"):
        path.unlink()
    from harness.errors import InputDataError

    with pytest.raises(InputDataError, match="no M&Ms information CSV found"):
        _convert(tmp_path / "raw", tmp_path / "out")


def test_bad_subjects_are_logged_and_the_rest_converts(tmp_path: Path) -> None:
    subjects = write_mnms(tmp_path / "raw")
    bad = add_bad_subjects(tmp_path / "raw", subjects)
    summary = convert_dataset(DatasetRegistry().adapter("mnms"), tmp_path / "raw", tmp_path / "out")
    assert summary.n_failed_subjects == len(bad)
    log = {row["subject"]: row for row in read_csv(tmp_path / "out" / "conversion_log.csv")}
    assert set(log) == set(bad)
    for code, row in log.items():
        assert row["severity"] == "error"
        assert bad[code] in row["detail"], row["detail"]
    assert "label values [7]" in log["B1B1B1"]["detail"]
    assert "voxel grid differs from B2B2B2_sa.nii.gz's" in log["B2B2B2"]["detail"]
    assert "subject B3B3B3 is not listed" in log["B3B3B3"]["detail"]
    assert "no labels at the ES frame 4" in log["B4B4B4"]["detail"]
    assert "the frames with labels are [0, 3]" in log["B4B4B4"]["detail"]
    assert "ED of subject B5B5B5 is 6, outside the 6 frames" in log["B5B5B5"]["detail"]
    assert "truncated" in log["B6B6B6"]["detail"]
    dataset = CommonDataset.open(tmp_path / "out")
    assert {r.subject for r in dataset.cases} == set(subjects)
    assert validate_dataset(tmp_path / "out") == []


@pytest.mark.slow
def test_nnunet_integrity(converted: tuple[Path, dict[str, MnmsSubject]]) -> None:
    assert_nnunet_integrity(converted[0])
