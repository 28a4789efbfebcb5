"""Sunnybrook adapter: three raw layouts, the rasterisation rule, bad input, and the real CC0 sample."""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from harness.common import CommonDataset, validate_dataset
from harness.datasets import DatasetRegistry, convert_dataset
from harness.datasets.convert import ConversionSummary
from tests.support.nnunet_check import assert_nnunet_integrity
from tests.support.raw_sunnybrook import (
    BASE_POSITION_MM,
    COLUMN_DIRECTION,
    NORMAL,
    ROW_DIRECTION,
    SyntheticCase,
    edit_dicom,
    final_data_contour,
    final_data_dicom,
    oracle_fill,
    write_cap,
    write_challenge,
    write_final_data,
)

REPO = Path(__file__).resolve().parents[2]

CASE_A = SyntheticCase()
CASE_B = SyntheticCase(  # slices numbered against the normal, ED late in the cycle, another centre
    case="SC-N-2", patient_id="SCD0000201", series_number=900, descending=True, ed_phase=4, es_phase=1,
    contoured_slices=(0, 1, 2), centre_xy=(25.6, 18.2), info={"Gender": "Female", "Age": "63", "Pathology": "Normal"},
)


def shared_dir() -> Path:
    env = os.environ.get("SEGARENA_SHARED")
    return Path(env) if env else REPO.parent / "shared"


@pytest.fixture(scope="module")
def adapter():  # type: ignore[no-untyped-def]
    return DatasetRegistry().adapter("sunnybrook")


@pytest.fixture(scope="module")
def polygon(adapter):  # type: ignore[no-untyped-def]
    return sys.modules[type(adapter).__module__].polygon


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def final_data(adapter, tmp_path_factory) -> tuple[Path, ConversionSummary]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("sunnybrook_final")
    raw = write_final_data(tmp / "raw" / "final_data", [CASE_A, CASE_B])
    return raw, convert_dataset(adapter, tmp / "raw", tmp / "out")


# ---------------------------------------------------------------- rasterisation rule
def test_pixel_centres_at_integer_coordinates_half_open(polygon) -> None:  # type: ignore[no-untyped-def]
    square = np.array([[1, 1], [4, 1], [4, 4], [1, 4]], float)  # centres on the outline: left/top in, right/bottom out
    mask = polygon.fill_polygon(square, (6, 6))
    expected = np.zeros((6, 6), bool)
    expected[1:4, 1:4] = True
    assert np.array_equal(mask, expected)
    rectangle = np.array([[0.5, 0.5], [3.5, 0.5], [3.5, 2.5], [0.5, 2.5]])  # pixel edges: exactly 3 × 2 pixels
    assert np.argwhere(polygon.fill_polygon(rectangle, (5, 5))).tolist() == [[1, 1], [1, 2], [1, 3], [2, 1], [2, 2], [2, 3]]


def test_shared_edges_are_claimed_once_and_area_is_unbiased(polygon) -> None:  # type: ignore[no-untyped-def]
    left = np.array([[0.2, 0.3], [2.0, 0.3], [2.0, 5.7], [0.2, 5.7]])
    right = np.array([[2.0, 0.3], [5.1, 0.3], [5.1, 5.7], [2.0, 5.7]])
    whole = np.array([[0.2, 0.3], [5.1, 0.3], [5.1, 5.7], [0.2, 5.7]])
    a, b = polygon.fill_polygon(left, (8, 8)), polygon.fill_polygon(right, (8, 8))
    assert not (a & b).any() and np.array_equal(a | b, polygon.fill_polygon(whole, (8, 8)))
    for radius in (5.0, 10.0, 20.0):  # a circle of radius r: about π r² pixels; same pixels as the oracle
        points = np.column_stack([50.37 + radius * np.cos(np.linspace(0, 2 * np.pi, 400, endpoint=False)),
                                  49.81 + radius * np.sin(np.linspace(0, 2 * np.pi, 400, endpoint=False))])
        mask = polygon.fill_polygon(points, (100, 100))
        assert np.array_equal(mask, oracle_fill(points, (100, 100)))
        assert abs(mask.sum() - polygon.polygon_area_px(points)) <= 0.02 * np.pi * radius**2 + 2
        inner = polygon.fill_polygon(50 + (points - 50) * 0.6, (100, 100))
        assert (mask & ~inner).sum() == mask.sum() - inner.sum()  # a ring has no double-counted pixel
    clipped = polygon.fill_polygon(np.array([[-5.0, -5.0], [2.5, -5.0], [2.5, 1.5], [-5.0, 1.5]]), (4, 4))
    assert clipped.sum() == 3 * 2  # columns 0-2, rows 0-1: the rest lies off the image


# ---------------------------------------------------------------- final_data layout
def test_final_data_cases_and_phases(final_data) -> None:  # type: ignore[no-untyped-def]
    raw, summary = final_data
    assert (summary.n_subjects, summary.n_failed_subjects, summary.n_cases) == (2, 0, 10)
    dataset = CommonDataset.open(summary.out)
    assert validate_dataset(summary.out) == []
    for case in (CASE_A, CASE_B):
        records = [r for r in dataset.cases if r.subject == case.case]
        assert [r.frame for r in records] == list(range(case.n_phases))
        assert {r.frame: r.phase for r in records if r.phase} == {case.ed_phase: "ED", case.es_phase: "ES"}
        assert {r.frame for r in records if r.has_label} == {case.ed_phase, case.es_phase}
        for r in records:
            assert r.case == f"{case.case}_f{r.frame:02d}" and r.group == case.case and r.n_slices == case.n_slices
            assert (r.spacing_x_mm, r.spacing_y_mm, r.spacing_z_mm) == (1.25, 1.5, 8.0)
            assert (r.vendor, r.field_strength_t) == ("GE MEDICAL SYSTEMS", 1.5)
            assert f"final_data/dicoms/{case.patient_id}/{case.instance(0, r.frame)}.dcm" in r.source_files.split(";")
    assert len(list((summary.out / "imagesTs").glob("*.nii.gz"))) == 6
    assert dataset.meta["labels"] == {"background": 0, "LV": 1, "MYO": 2} and dataset.meta["numTraining"] == 4


def test_final_data_masks_images_and_geometry(final_data) -> None:  # type: ignore[no-untyped-def]
    _, summary = final_data
    dataset = CommonDataset.open(summary.out)
    for case in (CASE_A, CASE_B):
        for phase in range(case.n_phases):
            record = dataset.case(f"{case.case}_f{phase:02d}")
            (image,) = dataset.read_images(record)
            label = dataset.read_label(record)
            for s in range(case.n_slices):
                g = case.geometric_index(s)
                assert np.array_equal(image.array[g], case.image(s, phase))
                if label is not None:
                    assert np.array_equal(label.array[g], case.expected_label(s, phase)), (case.case, s, phase)
            lowest = 0 if not case.descending else case.n_slices - 1  # instance-order slice at the lowest position
            origin = np.array(BASE_POSITION_MM) + case.position_mm(lowest) * np.array(NORMAL)
            assert np.allclose(image.geometry.origin_mm, origin, atol=1e-4)
            direction = np.array(image.geometry.direction).reshape(3, 3)
            assert np.allclose(direction, np.column_stack([ROW_DIRECTION, COLUMN_DIRECTION, NORMAL]), atol=1e-6)


def test_final_data_subjects_and_log(final_data) -> None:  # type: ignore[no-untyped-def]
    _, summary = final_data
    rows = {r["subject"]: r for r in read_rows(summary.out / "subjects.csv")}
    assert set(rows) == {"SC-HF-I-1", "SC-N-2"}  # SC-N-99 of link.csv has no files here
    for case in (CASE_A, CASE_B):
        row = rows[case.case]
        assert row["patient_id"] == case.patient_id and int(row["n_frames"]) == case.n_phases
        assert (int(row["ed_frame"]), int(row["es_frame"])) == (case.ed_phase, case.es_phase)
        edv, esv = case.expected_lv_ml(case.ed_phase), case.expected_lv_ml(case.es_phase)
        assert float(row["edv_ml"]) == pytest.approx(edv, abs=1e-3)
        assert float(row["esv_ml"]) == pytest.approx(esv, abs=1e-3)
        # by hand: π r² per contoured slice at ED (r = 10 − 1.3 s), within the rasterisation error
        by_hand = sum(np.pi * case.endo_radius(s, case.ed_phase) ** 2 for s in case.contoured_slices) * case.voxel_volume_ml()
        assert edv == pytest.approx(by_hand, rel=0.04)
    log = read_rows(summary.out / "conversion_log.csv")
    inferred = [e for e in log if e["problem"] == "ED/ES inferred"]
    assert {e["subject"] for e in inferred} == {"SC-HF-I-1", "SC-N-2"}
    assert "ED = frame 4, ES = frame 1" in {e["resolution"] for e in inferred}
    endo_only = [e for e in log if e["problem"] == "i-contour without o-contour" and e["subject"] == "SC-HF-I-1"]
    assert [e["detail"] for e in endo_only] == ["frame 2, slices [1, 2, 3]"]
    assert not [e for e in log if e["severity"] == "error"]


# ---------------------------------------------------------------- the two other layouts
def test_cardiac_atlas_layout_picks_the_short_axis_series(adapter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    summary = convert_dataset(adapter, write_cap(tmp_path / "raw", [CASE_A, CASE_B]), tmp_path / "out")
    assert (summary.n_subjects, summary.n_failed_subjects, summary.n_cases) == (2, 0, 10)
    log = read_rows(summary.out / "conversion_log.csv")
    chosen = {e["subject"]: e["resolution"] for e in log if e["problem"] == "several series in the DICOM folder"}
    assert chosen == {"SC-HF-I-1": "short-axis cine taken as series 300 (20 images)",
                      "SC-N-2": "short-axis cine taken as series 900 (20 images)"}
    rows = {r["subject"]: r for r in read_rows(summary.out / "subjects.csv")}
    assert rows["SC-N-2"]["pathology"] == "Normal" and rows["SC-HF-I-1"]["gender"] == "Male"
    assert float(rows["SC-HF-I-1"]["edv_ml"]) == pytest.approx(CASE_A.expected_lv_ml(CASE_A.ed_phase), abs=1e-3)
    record = CommonDataset.open(summary.out).case("SC-HF-I-1_f00")
    assert "SCD_IMAGES_01/SCD0000101/CINESAX_300/IM-0003-0006.dcm" in record.source_files
    assert "SCD_ManualContours/SC-HF-I-01/contours-manual/IRCCI-expert/IM-0001-0006-icontour-manual.txt" in record.source_files


def test_challenge_layout_with_two_series_in_one_folder(adapter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    summary = convert_dataset(adapter, write_challenge(tmp_path / "raw", [CASE_A]), tmp_path / "out")
    assert (summary.n_subjects, summary.n_failed_subjects, summary.n_cases) == (1, 0, 5)
    log = read_rows(summary.out / "conversion_log.csv")
    (event,) = [e for e in log if e["problem"] == "several series in the DICOM folder"]
    assert event["resolution"] == "short-axis cine taken as series 300 (20 images)" and "299 (20 images)" in event["detail"]
    label = CommonDataset.open(summary.out).read_label(CommonDataset.open(summary.out).case("SC-HF-I-1_f00"))
    assert label is not None and np.array_equal(label.array[2], CASE_A.expected_label(2, 0))


# ---------------------------------------------------------------- incomplete series and bad input
def test_missing_slice_falls_back_to_one_case_per_image(adapter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    case = replace(CASE_A, contoured_slices=(2, 3))
    raw = write_final_data(tmp_path / "raw", [case])
    for phase in range(case.n_phases):
        final_data_dicom(raw, case, 1, phase).unlink()
    summary = convert_dataset(adapter, raw, tmp_path / "out")
    dataset = CommonDataset.open(summary.out)
    assert summary.n_cases == 3 * case.n_phases and validate_dataset(summary.out) == []
    labelled = sorted(r.case for r in dataset.cases if r.has_label)
    assert labelled == ["SC-HF-I-1_s01_f00", "SC-HF-I-1_s01_f02", "SC-HF-I-1_s02_f00", "SC-HF-I-1_s02_f02"]
    record = dataset.case("SC-HF-I-1_s02_f00")
    assert (record.n_slices, record.spacing_z_mm, record.phase) == (1, 8.0, "ED")
    label = dataset.read_label(record)
    assert label is not None and np.array_equal(label.array[0], case.expected_label(3, 0))
    (event,) = [e for e in read_rows(summary.out / "conversion_log.csv") if e["problem"].startswith("slices of a frame")]
    assert event["severity"] == "warning" and "not equally spaced" in event["detail"]


def test_bad_input_is_reported_and_the_rest_converts(adapter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    small = SyntheticCase(n_slices=2, n_phases=3, contoured_slices=(0, 1), ed_phase=0, es_phase=2, rows=24, columns=28,
                          centre_xy=(13.3, 11.6))
    names = ["SC-HF-I-1", "SC-HF-I-2", "SC-HF-I-4", "SC-HF-I-5", "SC-HF-I-6", "SC-HF-NI-3", "SC-HF-NI-4"]
    cases = [replace(small, case=n, patient_id=f"SCD00{k:03d}01") for k, n in enumerate(names, start=1)]
    raw = write_final_data(tmp_path / "raw", cases)
    good, corrupt, truncated, no_position, spacing, odd, orphan = cases
    final_data_dicom(raw, corrupt, 1, 1).write_bytes(b"this is not a DICOM file")
    victim = final_data_dicom(raw, truncated, 1, 2)
    victim.write_bytes(victim.read_bytes()[:-300])
    edit_dicom(final_data_dicom(raw, no_position, 0, 1), ImagePositionPatient=None)
    edit_dicom(final_data_dicom(raw, spacing, 1, 0), PixelSpacing=[1.6, 1.25])
    contour = final_data_contour(raw, odd, 0, 0, "i")
    lines = contour.read_text().splitlines()
    lines[4] = "12.5"
    contour.write_text("\n".join(lines) + "\n")
    (final_data_contour(raw, orphan, 0, 0, "i").parent / "IM-0001-0999-icontour-manual.txt").write_text("1 1\n5 1\n5 5\n")

    summary = convert_dataset(adapter, raw, tmp_path / "out")
    assert (summary.n_subjects, summary.n_failed_subjects, summary.n_cases) == (7, 6, 3)
    assert validate_dataset(summary.out) == []
    assert {r.subject for r in CommonDataset.open(summary.out).cases} == {good.case}
    errors = {e.subject: e.detail for e in summary.events if e.severity == "error"}
    expected = {
        corrupt.case: ("5.dcm", "not a readable DICOM file"),
        truncated.case: ("6.dcm", "pixel data cannot be read"),
        no_position.case: ("2.dcm", "DICOM tag ImagePositionPatient is missing"),
        spacing.case: ("4.dcm", "inconsistent spacing"),
        odd.case: ("IM-0001-0001-icontour-manual.txt", "has an odd number of coordinates on line 5"),
        orphan.case: ("IM-0001-0999-icontour-manual.txt", "refers to image 999"),
    }
    assert set(errors) == set(expected)
    for subject, (file_name, message) in expected.items():
        assert file_name in errors[subject] and message in errors[subject], errors[subject]
    assert list((summary.out / "imagesTr").glob("SC-HF-I-4*")) == []  # nothing half-written for a failed subject


# ---------------------------------------------------------------- real CC0 sample
def test_real_sample_final_data_layout(adapter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sample = shared_dir() / "refdata" / "sunnybrook"
    if not (sample / "link.csv").is_file():
        pytest.skip(f"real Sunnybrook sample not found at {sample} (set SEGARENA_SHARED)")
    summary = convert_dataset(adapter, sample, tmp_path / "out")
    assert (summary.n_subjects, summary.n_failed_subjects, summary.n_cases) == (1, 0, 2)
    dataset = CommonDataset.open(summary.out)
    es, ed = dataset.case("SC-HF-I-1_f07"), dataset.case("SC-HF-I-1_f18")  # InstanceNumber 48 and 59: frame (N−1) % 20
    assert (es.phase, ed.phase) == ("ES", "ED")  # image 59 has the larger endocardial area
    for record, lv_px, shoelace in ((es, 539, 539.0), (ed, 1043, 1046.25)):
        (image,) = dataset.read_images(record)
        label = dataset.read_label(record)
        assert label is not None and label.array.shape == (1, 256, 256)
        lv = label.array == 1
        assert lv.sum() == lv_px and abs(lv.sum() - shoelace) <= 0.01 * shoelace  # area of the polygon, in pixels
        direct = sitk.ReadImage(str(sample / "dicoms" / "SCD0000101" / f"{48 if record is es else 59}.dcm"))
        assert np.array_equal(image.array, sitk.GetArrayFromImage(direct))
        assert np.allclose(image.geometry.origin_mm, direct.GetOrigin(), atol=1e-4)
        assert np.allclose(image.geometry.direction, direct.GetDirection(), atol=1e-5)
        assert np.allclose(image.geometry.spacing_mm, (1.367188, 1.367188, 10.0), atol=1e-6)
        background = image.array[label.array == 0].mean()
        assert image.array[lv].mean() > 3 * background  # the mask sits on the bright blood pool
    label = dataset.read_label(ed)
    (image,) = dataset.read_images(ed)
    assert label is not None
    myo = label.array == 2
    assert 600 <= myo.sum() <= 700  # o-contour area 1702.9 − i-contour area 1046.3 ≈ 657 px
    assert image.array[label.array == 1].mean() > 2 * image.array[myo].mean()
    row = read_rows(summary.out / "subjects.csv")[0]
    assert row["patient_id"] == "SCD0000101" and float(row["edv_ml"]) == pytest.approx(1043 * 1.367188**2 * 10 / 1000, rel=1e-5)
    assert {e.problem for e in summary.events} >= {"ED/ES inferred", "i-contour without o-contour"}


@pytest.mark.slow
def test_nnunet_integrity(final_data) -> None:  # type: ignore[no-untyped-def]
    _, summary = final_data
    assert_nnunet_integrity(summary.out)
