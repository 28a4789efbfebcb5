"""cine7t adapter: Medis .con parsing, slice-order detection, raters, bad input."""

from __future__ import annotations

import csv
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.common import CommonDataset, read_label, validate_dataset
from harness.datasets import DatasetRegistry, convert_dataset
from harness.datasets.convert import ConversionSummary
from harness.errors import ConfigError, InputDataError
from tests.support.nnunet_check import assert_nnunet_integrity
from tests.support.raw_cine7t import (
    BASE_POSITION_MM,
    COLUMN_DIRECTION,
    NORMAL,
    ROW_DIRECTION,
    Volunteer,
    con_bytes,
    rv_epi_block,
    write_dicom,
    write_volunteer,
)

BOB_GROW_PX = 0.4
V01 = Volunteer()  # phase encoding ROW, .con in acquisition order: images and rule agree
V02 = Volunteer(subject="v02", phase_encoding="COL", con_reversed=True, acquisition_descending=True)  # rule: reversed
V03 = Volunteer(subject="v03", con_reversed=True)  # .con reversed although ROW: the images overrule the rule
V04 = Volunteer(subject="v04", flat_images=True, phase_encoding="COL", con_reversed=True)  # no contrast: rule decides
UNKNOWN_TYPE_BLOCK = "[XYCONTOUR]\n0 0 6  1.0\n3\n1.0 1.0\n5.0 1.0\n5.0 5.0\n103\n0 0"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_study(raw: Path) -> Path:
    for vol in (V01, V02, V03, V04):
        raters = {"alice": 0.0, "bob": BOB_GROW_PX} if vol in (V01, V02) else {"alice": 0.0}
        write_volunteer(raw, vol, raters, (rv_epi_block(vol), UNKNOWN_TYPE_BLOCK))
    return raw


@pytest.fixture(scope="module")
def adapter():  # type: ignore[no-untyped-def]
    return DatasetRegistry().adapter("cine7t")


@pytest.fixture(scope="module")
def study(adapter, tmp_path_factory) -> ConversionSummary:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("cine7t")
    return convert_dataset(adapter, write_study(tmp / "raw"), tmp / "out")


# ---------------------------------------------------------------- .con reader
def test_con_reader_uses_the_point_count_and_ignores_trailing_lines(adapter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reader = sys.modules[type(adapter).__module__].con_file
    path = tmp_path / "v.con"
    path.write_bytes(con_bytes(V01, extra_blocks=(UNKNOWN_TYPE_BLOCK,)))
    assert b"\r\n" in path.read_bytes() and b"M\xfcller" in path.read_bytes()  # CRLF, a latin-1 header byte
    con = reader.read_con(path)
    assert con.image_resolution == (52, 40) and (con.ed_frame, con.es_frame) == (0, 3)
    assert con.header["patient_id"] == "v01"
    assert len(con.contours) == 2 * 4 * 3 + 1
    first = con.contours[0]
    assert (first.slice, first.frame, first.type, first.points_xy.shape) == (0, 0, 0, (48, 2))
    assert np.allclose(first.points_xy, V01.polygons(0, 0)[0], atol=5e-4)
    assert con.contours[-1].type == 6 and con.contours[-1].points_xy.tolist() == [[1, 1], [5, 1], [5, 5]]

    lines = path.read_bytes().decode("latin-1").split("\r\n")
    block = lines.index("[XYCONTOUR]")
    bad = list(lines)
    bad[block + 5] = "335.478 349.592 12.0"
    path.write_bytes("\r\n".join(bad).encode("latin-1"))
    with pytest.raises(InputDataError, match=rf"v.con .* has an odd number of coordinates on line {block + 6}"):
        reader.read_con(path)
    cut = lines[: block + 10]
    path.write_bytes("\r\n".join(cut).encode("latin-1"))
    with pytest.raises(InputDataError, match=rf"block on line {block + 1} declares 48 points but only 7 follow"):
        reader.read_con(path)


# ---------------------------------------------------------------- the converted study
def test_cases_labels_and_geometry(study) -> None:  # type: ignore[no-untyped-def]
    assert (study.n_subjects, study.n_failed_subjects, study.n_cases) == (4, 0, 24)
    assert validate_dataset(study.out) == []
    dataset = CommonDataset.open(study.out)
    assert dataset.meta["labels"] == {"background": 0, "LV": 1, "MYO": 2, "RV": 3} and dataset.meta["numTraining"] == 8
    for vol in (V01, V02, V03, V04):
        records = [r for r in dataset.cases if r.subject == vol.subject]
        assert [r.frame for r in records] == list(range(vol.n_frames))
        assert {r.frame: r.phase for r in records if r.phase} == {0: "ED", 3: "ES"}
        assert {r.frame for r in records if r.has_label} == {0, 3}
        for record in records:
            assert record.group == vol.subject and record.n_slices == 4
            assert (record.spacing_x_mm, record.spacing_y_mm, record.spacing_z_mm) == pytest.approx((1.2, 1.4, 6.0))
            assert (record.vendor, record.field_strength_t) == ("SIEMENS", 7.0)
            (image,) = dataset.read_images(record)
            label = dataset.read_label(record)
            for k in range(vol.n_slices):
                g = vol.geometric_index(k)
                assert np.array_equal(image.array[g], vol.image(k, record.frame))
                if label is not None:
                    assert np.array_equal(label.array[g], vol.expected_label(k, record.frame)), (vol.subject, k)
        (image,) = dataset.read_images(records[0])
        lowest = vol.n_slices - 1 if vol.acquisition_descending else 0
        origin = np.array(BASE_POSITION_MM)  # the lowest slice sits at the base position
        assert vol.geometric_index(lowest) == 0 and np.allclose(image.geometry.origin_mm, origin, atol=1e-4)
        assert np.allclose(np.array(image.geometry.direction).reshape(3, 3),
                           np.column_stack([ROW_DIRECTION, COLUMN_DIRECTION, NORMAL]), atol=1e-6)


def test_slice_order_decisions_are_logged(study) -> None:  # type: ignore[no-untyped-def]
    log = [e for e in read_rows(study.out / "conversion_log.csv") if e["problem"] == "slice order of the .con file"]
    by_file = {e["file"]: e for e in log}
    assert set(by_file) == {"contours/alice/v01.con", "contours/bob/v01.con", "contours/alice/v02.con",
                            "contours/bob/v02.con", "contours/alice/v03.con", "contours/alice/v04.con"}
    v01, v02, v03, v04 = (by_file[f"contours/alice/{s}.con"] for s in ("v01", "v02", "v03", "v04"))
    assert v01["resolution"].startswith("as acquired") and v01["severity"] == "info"
    assert v02["resolution"].startswith("reversed") and "(detected from the images)" in v02["resolution"]
    assert "COL predicts reversed" in v02["detail"] and v02["severity"] == "info"
    assert v03["resolution"].startswith("reversed") and v03["severity"] == "warning"
    assert "the images overrule the phase-encoding rule" in v03["detail"]
    assert v04["resolution"] == "reversed: .con slice 0 = the last acquired slice (phase-encoding rule)"
    assert v04["severity"] == "warning" and "do not tell the order apart" in v04["detail"]
    ignored = [e for e in read_rows(study.out / "conversion_log.csv") if e["problem"] == "contour types without a label"]
    assert {e["detail"] for e in ignored} == {"type 2 (RV epicardium): 1, type 6 (other ROI): 1"}


def test_second_rater_is_a_parallel_reference(study) -> None:  # type: ignore[no-untyped-def]
    folder = study.out / "labelsTr_bob"
    assert sorted(p.name for p in folder.iterdir()) == ["v01_f00.nii.gz", "v01_f03.nii.gz", "v02_f00.nii.gz",
                                                       "v02_f03.nii.gz"]
    dataset = CommonDataset.open(study.out)
    for vol in (V01, V02):
        for frame in (0, 3):
            bob = read_label(folder / f"{vol.subject}_f{frame:02d}.nii.gz")
            alice = dataset.read_label(dataset.case(f"{vol.subject}_f{frame:02d}"))
            assert alice is not None and bob.geometry.matches(alice.geometry)
            for k in range(vol.n_slices):
                assert np.array_equal(bob.array[vol.geometric_index(k)], vol.expected_label(k, frame, BOB_GROW_PX))
            assert (bob.array == 1).sum() > (alice.array == 1).sum()
    rows = {r["subject"]: r for r in read_rows(study.out / "subjects.csv")}
    for vol in (V01, V02):
        row = rows[vol.subject]
        assert (row["reference_rater"], row["raters"]) == ("alice", "alice;bob")
        assert float(row["bob_edv_ml"]) == pytest.approx(vol.expected_volume_ml(0, 1, BOB_GROW_PX), abs=1e-3)
    assert rows["v03"]["raters"] == "alice" and rows["v03"]["bob_edv_ml"] == ""


def test_subject_volumes(study) -> None:  # type: ignore[no-untyped-def]
    rows = {r["subject"]: r for r in read_rows(study.out / "subjects.csv")}
    for vol in (V01, V02, V03, V04):
        row = rows[vol.subject]
        edv, esv = vol.expected_volume_ml(0, 1), vol.expected_volume_ml(3, 1)
        assert (float(row["edv_ml"]), float(row["esv_ml"])) == pytest.approx((edv, esv), abs=1e-3)
        assert float(row["ef_pct"]) == pytest.approx(100 * (edv - esv) / edv, abs=1e-2)
        assert float(row["rv_edv_ml"]) == pytest.approx(vol.expected_volume_ml(0, 3), abs=1e-3)
        assert float(row["lv_mass_g"]) == pytest.approx(vol.expected_volume_ml(0, 2) * 1.05, abs=1e-3)
        voxel_ml = 1.2 * 1.4 * 6.0 / 1000  # by hand: π r² per slice, r = 8 − 1.2 k at ED
        assert edv == pytest.approx(sum(np.pi * (8 - 1.2 * k) ** 2 for k in range(4)) * voxel_ml, rel=0.04)


# ---------------------------------------------------------------- options
def test_reference_rater_option(tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = tmp_path / "raw"
    write_volunteer(raw, V01, {"alice": 0.0, "bob": BOB_GROW_PX})
    write_dicom(raw, replace(V01, subject="v09"))  # nobody contoured v09: all its frames are images without labels
    adapter = DatasetRegistry().adapter("cine7t", {"reference_rater": "bob"})
    summary = convert_dataset(adapter, raw, tmp_path / "out")
    dataset = CommonDataset.open(summary.out)
    assert summary.n_cases == 12 and [r.has_label for r in dataset.cases if r.subject == "v09"] == [False] * 6
    assert [e.resolution for e in summary.events if e.subject == "v09"] == [
        "all frames written as images without labels (imagesTs)"]
    label = dataset.read_label(dataset.case("v01_f00"))
    assert label is not None and np.array_equal(label.array[1], V01.expected_label(1, 0, BOB_GROW_PX))
    assert sorted(p.name for p in (summary.out / "labelsTr_alice").iterdir()) == ["v01_f00.nii.gz", "v01_f03.nii.gz"]
    with pytest.raises(ConfigError, match="reference_rater='carol'.*raters: alice, bob"):
        convert_dataset(DatasetRegistry().adapter("cine7t", {"reference_rater": "carol"}), raw, tmp_path / "out2")


def test_slice_order_option_forces_the_phase_encoding_rule(tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = tmp_path / "raw"
    write_volunteer(raw, V03, {"alice": 0.0})
    adapter = DatasetRegistry().adapter("cine7t", {"slice_order": "phase_encoding"})
    summary = convert_dataset(adapter, raw, tmp_path / "out")
    dataset = CommonDataset.open(summary.out)
    label = dataset.read_label(dataset.case("v03_f00"))
    assert label is not None  # the rule (ROW: as acquired) puts .con slice 0 = acquired slice 3 on acquired slice 0
    assert np.array_equal(label.array[0], V03.expected_label(3, 0))
    (event,) = [e for e in summary.events if e.problem == "slice order of the .con file"]
    assert "option slice_order=phase_encoding" in event.detail
    with pytest.raises(ConfigError, match="slice_order='sideways'"):
        convert_dataset(DatasetRegistry().adapter("cine7t", {"slice_order": "sideways"}), raw, tmp_path / "out2")


# ---------------------------------------------------------------- bad input
def test_bad_input_is_reported_and_the_rest_converts(adapter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    small = Volunteer(n_slices=3, n_frames=4, es_frame=2)
    raw = tmp_path / "raw"
    names = ["good", "odd", "orphan", "corrupt", "resolution", "gap", "frames", "nodicom"]
    vols = {n: replace(small, subject=n, n_slices=4 if n == "gap" else 3) for n in names}
    for n, vol in vols.items():
        write_volunteer(raw, vol, {"alice": 0.0, "bob": BOB_GROW_PX} if n == "good" else {"alice": 0.0})
    lines = (raw / "contours/alice/odd.con").read_bytes().split(b"\r\n")
    lines[lines.index(b"[XYCONTOUR]") + 4] = b"20.3"
    (raw / "contours/alice/odd.con").write_bytes(b"\r\n".join(lines))
    with (raw / "contours/alice/orphan.con").open("ab") as handle:  # a block for frame 9 of a 4-frame cine
        handle.write(b"[XYCONTOUR]\r\n1 9 0  1.0\r\n3\r\n10 10\r\n14 10\r\n14 14\r\n103\r\n0 0\r\n")
    (raw / "dicom/corrupt/12_cine_gre/IM_0002.dcm").write_bytes(b"\0" * 200)
    (raw / "contours/alice/resolution.con").write_bytes(con_bytes(vols["resolution"], resolution="40x52"))
    shutil.rmtree(raw / "dicom/gap/12_cine_gre")  # the second of four slices is missing: gaps of 12 and 6 mm
    (raw / "dicom/frames/14_cine_gre/IM_0001.dcm").unlink()  # the last slice lacks its last frame
    shutil.rmtree(raw / "dicom/nodicom")
    lines = (raw / "contours/bob/good.con").read_bytes().split(b"\r\n")  # the second rater's file is broken
    lines[lines.index(b"[XYCONTOUR]") + 3] = b"1 2 3"
    (raw / "contours/bob/good.con").write_bytes(b"\r\n".join(lines))

    summary = convert_dataset(adapter, raw, tmp_path / "out")
    assert (summary.n_subjects, summary.n_failed_subjects, summary.n_cases) == (8, 7, 4)
    assert validate_dataset(summary.out) == []
    assert {r.subject for r in CommonDataset.open(summary.out).cases} == {"good"}
    errors = {e.subject: e.detail for e in summary.events if e.severity == "error"}
    expected = {
        "odd": ("odd.con", "has an odd number of coordinates on line"),
        "orphan": ("orphan.con", "is for slice 1, frame 9, but the DICOM series hold 3 slices × 4 frames: no such image"),
        "corrupt": ("IM_0002.dcm", "not a readable DICOM file"),
        "resolution": ("resolution.con", "Image_resolution=40x52 (columns x rows) but the DICOM images are 52x40"),
        "gap": ("IM_", "not equally spaced"),
        "frames": ("14_cine_gre", "has 3 cine frames, the other slices 4"),
        "nodicom": ("nodicom.con", "no folder dicom/nodicom"),
    }
    assert set(errors) == set(expected)
    for subject, (file_part, message) in expected.items():
        assert file_part in errors[subject] and message in errors[subject], errors[subject]
    (warning,) = [e for e in summary.events if e.problem == "second rater's contours unreadable"]
    assert warning.subject == "good" and "odd number of coordinates" in warning.detail
    assert not (summary.out / "labelsTr_bob").exists()


@pytest.mark.slow
def test_nnunet_integrity(study) -> None:  # type: ignore[no-untyped-def]
    assert_nnunet_integrity(study.out)
