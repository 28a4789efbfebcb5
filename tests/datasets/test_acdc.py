"""acdc adapter: Info.cfg, ED/ES cases, ACDC → canonical labels, all_frames, subjects.csv, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.common import CommonDataset, validate_dataset
from harness.common.dataset import read_csv
from harness.datasets import CARDIAC_LABELS, DatasetRegistry, convert_dataset
from tests.support.nnunet_check import assert_nnunet_integrity
from tests.support.raw_acdc import AcdcPatient, add_bad_patients, write_acdc


def _convert(raw: Path, out: Path, **options: object) -> CommonDataset:
    convert_dataset(DatasetRegistry().adapter("acdc", dict(options)), raw, out)
    return CommonDataset.open(out)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, AcdcPatient]]:
    root = tmp_path_factory.mktemp("acdc")
    patients = write_acdc(root / "raw")
    _convert(root / "raw", root / "out")
    return root / "out", patients


def test_ed_es_cases(converted: tuple[Path, dict[str, AcdcPatient]]) -> None:
    out, patients = converted
    dataset = CommonDataset.open(out)
    assert dataset.label_map == CARDIAC_LABELS
    expected_cases = {f"{p.name}_f{f - 1:02d}" for p in patients.values() for f in (p.ed, p.es)}
    assert {r.case for r in dataset.cases} == expected_cases
    for record in dataset.cases:
        patient = patients[record.subject]
        assert record.group == patient.name
        assert record.phase == ("ED" if record.frame == patient.ed - 1 else "ES")
        assert record.frame in (patient.ed - 1, patient.es - 1)
        assert record.has_label == patient.with_gt
        assert record.n_slices == 3
        assert (record.spacing_x_mm, record.spacing_y_mm, record.spacing_z_mm) == pytest.approx((1.5625, 1.5625, 10.0))
        frame1 = record.frame + 1
        assert record.source_files.split(";")[0] == (
            f"{patient.folder.parent.name}/{patient.name}/{patient.name}_frame{frame1:02d}.nii.gz"
        )
    assert dataset.meta["numTraining"] == 4
    assert validate_dataset(out) == []
    assert read_csv(out / "conversion_log.csv") == []


def test_pixels_labels_and_geometry(converted: tuple[Path, dict[str, AcdcPatient]]) -> None:
    out, patients = converted
    dataset = CommonDataset.open(out)
    for record in dataset.cases:
        cine = patients[record.subject].cine
        (image,) = dataset.read_images(record)
        np.testing.assert_array_equal(image.array, cine.image[record.frame])
        assert image.geometry.spacing_mm == pytest.approx(cine.spacing_mm, abs=1e-5)
        assert image.geometry.origin_mm == pytest.approx(cine.origin_lps_mm, abs=1e-4)
        assert image.geometry.direction == pytest.approx(cine.direction_lps, abs=1e-5)
        if record.has_label:
            label = dataset.read_label(record)
            assert label is not None
            np.testing.assert_array_equal(label.array, cine.labels[record.frame])  # canonical 1 LV, 2 MYO, 3 RV
    # the tilted patient really is oblique
    assert patients["patient002"].cine.direction_lps[5] != pytest.approx(0.0)


def test_acdc_labels_are_swapped_to_the_canonical_map(converted: tuple[Path, dict[str, AcdcPatient]]) -> None:
    out, patients = converted
    raw_gt = patients["patient001"].folder / "patient001_frame01_gt.nii.gz"
    from harness.common import read_label

    raw = read_label(raw_gt).array
    label = CommonDataset.open(out).read_label(CommonDataset.open(out).case("patient001_f00"))
    assert label is not None
    for acdc, canonical in ((1, 3), (2, 2), (3, 1)):  # RV, MYO, LV
        assert np.array_equal(raw == acdc, label.array == canonical)


def test_subjects_csv(converted: tuple[Path, dict[str, AcdcPatient]]) -> None:
    out, patients = converted
    rows = {row["subject"]: row for row in read_csv(out / "subjects.csv")}
    assert set(rows) == set(patients)
    for name, patient in patients.items():
        row = rows[name]
        assert row["pathology"] == patient.group
        assert float(row["height_cm"]) == patient.height_cm
        assert float(row["weight_kg"]) == patient.weight_kg
        assert int(row["n_frames"]) == patient.cine.image.shape[0]
        assert (int(row["ed_frame"]), int(row["es_frame"])) == (patient.ed - 1, patient.es - 1)
        assert row["split"] == patient.folder.parent.name
        if patient.with_gt:
            voxel_ml = patient.cine.voxel_ml()
            edv = np.count_nonzero(patient.cine.labels[patient.ed - 1] == 1) * voxel_ml
            esv = np.count_nonzero(patient.cine.labels[patient.es - 1] == 1) * voxel_ml
            assert float(row["edv_ml"]) == pytest.approx(edv, abs=1e-3)
            assert float(row["esv_ml"]) == pytest.approx(esv, abs=1e-3)
            assert float(row["ef_pct"]) == pytest.approx(100 * (edv - esv) / edv, abs=1e-2)
            assert edv > esv > 0
        else:
            assert row["edv_ml"] == ""


def test_all_frames_option(tmp_path: Path) -> None:
    patients = write_acdc(tmp_path / "raw")
    dataset = _convert(tmp_path / "raw", tmp_path / "out", all_frames=True)
    for patient in patients.values():
        records = [r for r in dataset.cases if r.subject == patient.name]
        n_frames = patient.cine.image.shape[0]
        assert sorted(r.frame for r in records) == list(range(n_frames))
        for record in records:
            if record.frame not in (patient.ed - 1, patient.es - 1):
                assert record.phase == "" and not record.has_label
                assert record.source_files.endswith(f"{patient.name}_4d.nii.gz")
                (image,) = dataset.read_images(record)
                np.testing.assert_array_equal(image.array, patient.cine.image[record.frame])
                assert image.geometry.matches(dataset.read_images(dataset.case(f"{patient.name}_f00"))[0].geometry)
    assert dataset.meta["numTraining"] == 4
    assert validate_dataset(tmp_path / "out") == []


def test_frame_count_differing_from_info_cfg_is_a_warning(tmp_path: Path) -> None:
    patients = write_acdc(tmp_path / "raw")
    info = patients["patient001"].folder / "Info.cfg"
    info.write_text(info.read_text().replace("NbFrame: 6", "NbFrame: 7"))
    _convert(tmp_path / "raw", tmp_path / "out", all_frames=True)
    (row,) = read_csv(tmp_path / "out" / "conversion_log.csv")
    assert (row["subject"], row["severity"]) == ("patient001", "warning")
    assert "NbFrame is 7, the 4D has 6 frames" in row["detail"]


def test_info_cfg_with_a_section_header(tmp_path: Path) -> None:
    patients = write_acdc(tmp_path / "raw")
    info = patients["patient002"].folder / "Info.cfg"
    info.write_text("[Info]\n" + info.read_text().replace("\n", "\r\n"))
    dataset = _convert(tmp_path / "raw", tmp_path / "out")
    assert dataset.case("patient002_f02").phase == "ES"


def test_bad_patients_are_logged_and_the_rest_converts(tmp_path: Path) -> None:
    patients = write_acdc(tmp_path / "raw")
    bad = add_bad_patients(tmp_path / "raw")
    summary = convert_dataset(DatasetRegistry().adapter("acdc"), tmp_path / "raw", tmp_path / "out")
    assert summary.n_failed_subjects == len(bad)
    log = {row["subject"]: row for row in read_csv(tmp_path / "out" / "conversion_log.csv")}
    assert set(log) == set(bad)
    for name, row in log.items():
        assert row["severity"] == "error"
        assert bad[name] in row["detail"], row["detail"]
    assert "label values [5]" in log["patient003"]["detail"]
    assert "1 RV, 2 MYO, 3 LV" in log["patient003"]["detail"]
    assert "voxel grid differs from patient004_frame01.nii.gz's" in log["patient004"]["detail"]
    assert "missing ES" in log["patient005"]["detail"]
    assert "ES is 9, outside the frames 1..6" in log["patient006"]["detail"]
    assert "truncated" in log["patient007"]["detail"]
    dataset = CommonDataset.open(tmp_path / "out")
    assert {r.subject for r in dataset.cases} == set(patients)
    assert validate_dataset(tmp_path / "out") == []


@pytest.mark.slow
def test_nnunet_integrity(converted: tuple[Path, dict[str, AcdcPatient]]) -> None:
    assert_nnunet_integrity(converted[0])
