"""kaggle_dsb: synthetic DSB DICOM trees with every curation quirk → the common format, value by value."""

from __future__ import annotations

import csv
import lzma
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.common import CommonDataset, read_image, validate_dataset
from harness.common.dataset import read_csv
from harness.datasets import DatasetRegistry, convert_dataset
from harness.datasets.convert import ConversionSummary
from harness.errors import ConfigError, InputDataError
from segarena_datasets.kaggle_dsb import grid as grid_mod
from segarena_datasets.kaggle_dsb import stacks as stacks_mod
from segarena_datasets.kaggle_dsb import truth as truth_mod
from tests.support.raw_kaggle_dsb import BROKEN, ExpectedSubject, write_dataset

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    return Path(os.environ.get("SEGARENA_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, ExpectedSubject], Path, ConversionSummary]:
    root = tmp_path_factory.mktemp("dsb")
    expected = write_dataset(root / "raw")
    # with the optional rotated copies, so that their geometry is checked too (default: none, test_kaggle_rot90.py)
    summary = convert_dataset(DatasetRegistry().adapter("kaggle_dsb", {"rot90_copy": True}), root / "raw",
                              root / "out", workers=1)
    return expected, root / "out", summary


def _cases(out: Path) -> dict[str, dict[str, str]]:
    return {row["case"]: row for row in read_csv(out / "cases.csv")}


def _log(out: Path) -> list[dict[str, str]]:
    return read_csv(out / "conversion_log.csv")


def test_every_frame_holds_the_expected_volume_and_geometry(converted) -> None:
    expected, out, _ = converted
    for name, subject in expected.items():
        for t in range(subject.volume.shape[0]):
            image = read_image(out / "imagesTs" / f"{name}_f{t:02d}_0000.nii.gz")
            np.testing.assert_array_equal(image.array, subject.volume[t], err_msg=f"{name} frame {t}")
            assert image.geometry.matches(subject.geometry, tol=1e-3), (name, image.geometry, subject.geometry)


def test_one_case_per_subject_and_frame_without_labels(converted) -> None:
    expected, out, summary = converted
    cases = _cases(out)
    wanted = {f"{name}_f{t:02d}" for name, s in expected.items() for t in range(s.volume.shape[0])}
    assert set(cases) == wanted
    assert summary.n_cases == len(wanted)
    assert not any((out / "imagesTr").iterdir()) and not any((out / "labelsTr").iterdir())
    dataset = CommonDataset.open(out)
    assert dataset.meta["numTraining"] == 0
    assert dataset.label_map == {"background": 0, "LV": 1, "MYO": 2, "RV": 3}
    for name, subject in expected.items():
        for t in range(subject.volume.shape[0]):
            record = dataset.case(f"{name}_f{t:02d}")
            assert (record.subject, record.frame, record.phase, record.has_label) == (name, t, "", False)
            assert record.n_slices == subject.volume.shape[1]
            assert (record.spacing_x_mm, record.spacing_y_mm, record.spacing_z_mm) == pytest.approx(
                subject.geometry.spacing_mm)
            assert record.vendor == "SIEMENS"


def test_cases_list_their_source_dicoms_in_slice_order(converted) -> None:
    _, out, _ = converted
    cases = _cases(out)
    files = cases["1_f00"]["source_files"].split(";")
    # SliceLocation runs against the normal in subject 1: slice 0 of the volume is the last folder
    assert files[0] == "train/1/study/sax_5/IM-0100-0001.dcm" and files[-1] == "train/1/study/sax_9/IM-0104-0001.dcm"
    # frame 0 of the slice whose files are numbered 3, 1, 4, 2 in TriggerTime order
    assert files[2] == "train/1/study/sax_7/IM-0102-0003.dcm"
    repeat = cases["501_f01"]["source_files"].split(";")
    assert repeat[1].endswith("sax_6/IM-0101-0002-0002.dcm") and repeat[2].endswith("sax_20/IM-0300-0002.dcm")
    assert cases["3_b_f02"]["source_files"].split(";")[3].endswith("sax_9/IM-0200-0003-0004.dcm")
    filled = cases["701_f02"]["source_files"].split(";")
    assert filled[3] == filled[4] == "test/701/study/sax_8/IM-0103-0002.dcm"  # missing frame and slice: copies


def test_cases_of_one_patient_share_a_group(converted) -> None:
    expected, out, _ = converted
    groups: dict[str, set[str]] = {}
    for row in _cases(out).values():
        groups.setdefault(row["group"], set()).add(row["subject"])
    assert groups["2"] == {"2", "2_rot90"}
    assert groups["3"] == {"3_a", "3_b"}
    assert set(groups) == {s.patient_id for s in expected.values()}


def test_subjects_csv_holds_truth_set_and_dicom_metadata(converted) -> None:
    expected, out, _ = converted
    rows = {row["subject"]: row for row in read_csv(out / "subjects.csv")}
    assert set(rows) == set(expected)
    for name, subject in expected.items():
        row = rows[name]
        assert (row["patient_id"], row["set"]) == (subject.patient_id, subject.set)
        if subject.edv_ml is None:
            assert row["edv_ml"] == row["esv_ml"] == row["ef_pct"] == ""
        else:
            assert float(row["edv_ml"]) == subject.edv_ml and float(row["esv_ml"]) == subject.esv_ml
            assert float(row["ef_pct"]) == pytest.approx(100 * (subject.edv_ml - subject.esv_ml) / subject.edv_ml, abs=1e-4)
        assert int(row["n_frames"]) == subject.volume.shape[0] and int(row["n_slices"]) == subject.volume.shape[1]
        assert (int(row["rows"]), int(row["columns"])) == subject.volume.shape[2:]
    assert rows["1"]["edv_ml"] == "150.25" and rows["1"]["esv_ml"] == "60.5"  # Diastole = EDV, Systole = ESV
    assert (rows["701"]["usage"], rows["702"]["usage"]) == ("Public", "Private")
    assert (rows["2_rot90"]["rot90"], rows["2"]["rot90"]) == ("True", "False")
    assert {name for name, row in rows.items() if row["primary"] == "False"} == {"2_rot90"}  # a copy is never scored
    assert (rows["3_a"]["repeat"], rows["3_b"]["repeat"], rows["1"]["repeat"]) == ("a", "b", "")
    assert float(rows["502"]["scale_factor"]) == 0.8 and float(rows["502"]["spacing_x_mm"]) == 0.875
    assert (rows["1"]["age_years"], rows["1"]["sex"], rows["1"]["field_strength_t"]) == ("58.0", "M", "1.5")
    assert (rows["702"]["age_years"], rows["702"]["field_strength_t"], rows["702"]["model"]) == ("0.833", "3.0", "Skyra")
    assert rows["1"]["vendor"] == "SIEMENS" and rows["1"]["model"] == "Aera"
    assert _cases(out)["702_f00"]["field_strength_t"] == "3.0"


def test_conversion_log_records_every_curation_step(converted) -> None:
    expected, out, _ = converted
    log = _log(out)
    for name, subject in expected.items():
        problems = {e["problem"] for e in log if e["subject"] == name or e["subject"] == subject.patient_id}
        for problem in subject.problems:
            assert problem in problems, (name, problem, problems)
    assert {e["subject"] for e in log if e["severity"] == "info"} >= {"2", "3", "501", "502", "701"}
    assert not [e for e in log if e["subject"] == "1"]  # nothing to change in subject 1
    downscale = next(e for e in log if e["problem"] == "image larger than 256 px")
    assert "0.8" in downscale["resolution"] and "320 x 300 px" in downscale["detail"]
    duplicates = [e for e in log if e["subject"] == "501" and e["problem"] == "duplicate slice location"]
    assert [e["file"].rsplit("/", 2)[-2:] for e in duplicates] == [["sax_6", "IM-0101-0001-0001.dcm"],
                                                                  ["sax_7", "IM-0102-0001.dcm"]]


def test_broken_subjects_are_logged_and_the_rest_converts(converted) -> None:
    expected, out, summary = converted
    errors = {e["subject"]: e for e in _log(out) if e["severity"] == "error"}
    assert set(errors) == set(BROKEN)
    for subject, words in BROKEN.items():
        for word in words:
            assert word in errors[subject]["detail"], (subject, word, errors[subject]["detail"])
    assert summary.n_failed_subjects == len(BROKEN)
    assert not {row["subject"] for row in _cases(out).values()} & set(BROKEN)
    orphans = [e for e in _log(out) if e["problem"] == "truth without images"]
    assert len(orphans) == 1 and orphans[0]["detail"].endswith(": 4")  # failed subjects are not orphans


def test_converted_dataset_passes_harness_validation(converted) -> None:
    _, out, _ = converted
    assert validate_dataset(out) == []


def test_parallel_conversion_writes_the_same_dataset(converted, tmp_path: Path) -> None:
    _, out, _ = converted
    raw = out.parent / "raw"
    convert_dataset(DatasetRegistry().adapter("kaggle_dsb", {"rot90_copy": True}), raw, tmp_path / "out", workers=2)
    for table in ("cases.csv", "subjects.csv", "conversion_log.csv"):
        assert (tmp_path / "out" / table).read_text() == (out / table).read_text(), table
    for name in ("701_f02_0000.nii.gz", "2_rot90_f01_0000.nii.gz", "502_f00_0000.nii.gz"):
        np.testing.assert_array_equal(read_image(tmp_path / "out" / "imagesTs" / name).array,
                                      read_image(out / "imagesTs" / name).array)


def test_rot90_copy_and_size_limit_are_options(converted, tmp_path: Path) -> None:
    _, out, _ = converted
    adapter = DatasetRegistry().adapter("kaggle_dsb", {"rot90_copy": False, "max_size_px": 400})
    convert_dataset(adapter, out.parent / "raw", tmp_path / "out")
    subjects = {row["subject"]: row for row in read_csv(tmp_path / "out" / "subjects.csv")}
    assert "2_rot90" not in subjects and (subjects["502"]["rows"], subjects["502"]["columns"]) == ("320", "300")
    with pytest.raises(ConfigError, match="unknown option"):
        DatasetRegistry().adapter("kaggle_dsb", {"max_size": 128})


def test_bad_truth_tables_name_file_and_line(tmp_path: Path) -> None:
    adapter = DatasetRegistry().adapter("kaggle_dsb")
    (tmp_path / "train.csv").write_text("Id,Systole,Diastole\n1,50,120\n2,abc,130\n")
    with pytest.raises(InputDataError, match=r"train.csv line 3: Systole 'abc' is not a number"):
        adapter.discover(tmp_path)
    (tmp_path / "train.csv").write_text("Id,ESV,EDV\n1,50,120\n")
    with pytest.raises(InputDataError, match=r"train.csv: column\(s\) Systole, Diastole missing"):
        adapter.discover(tmp_path)
    (tmp_path / "train.csv").unlink()
    (tmp_path / "solution.csv").write_text("Id,Volume,Usage\n701_Diastole,120,Public\n701_ES,45,Public\n")
    with pytest.raises(InputDataError, match=r"solution.csv line 3: Id '701_ES' is not <Id>_Diastole"):
        adapter.discover(tmp_path)


def test_a_patient_in_both_layouts_is_refused(tmp_path: Path) -> None:
    for base in ("train/7", "train/train/7"):
        (tmp_path / base / "study" / "sax_5").mkdir(parents=True)
    with pytest.raises(InputDataError, match="patient 7 appears twice"):
        DatasetRegistry().adapter("kaggle_dsb").discover(tmp_path)


def test_empty_raw_folder_says_what_layout_is_expected(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="(?s)no subjects of dataset 'kaggle_dsb'.*sax_"):
        convert_dataset(DatasetRegistry().adapter("kaggle_dsb"), tmp_path, tmp_path / "out")


def _image(series: int, location: float, trigger: float, instance: int = 1, folder: str = "") -> SimpleNamespace:
    return SimpleNamespace(folder=folder or f"sax_{series}", series_number=series, sub_index=0, instance_number=instance,
                           acquisition_key=(series, 0, instance), slice_location_mm=location, trigger_time_ms=trigger,
                           rel=f"sax_{series}/IM-{series:04d}-{instance:04d}.dcm", pixel_spacing_mm=(1.0, 1.0), rows=8,
                           columns=8, slice_location_from_position=False, spacing_between_slices_mm=None)


def test_interleaved_acquisition_of_one_stack_is_not_split() -> None:
    images = [_image(100 + i, loc, 20.0) for i, loc in enumerate([0, 20, 40, 60, 10, 30, 50])]
    stacks, _ = stacks_mod.build_stacks(images, "9")
    groups, events = stacks_mod.split_repeated_series(stacks, "9")
    assert [name for name, _ in groups] == ["9"] and events == []


def test_a_repeat_with_another_spacing_is_split() -> None:
    # cmr-seg-tl's patient 437: series 5-11 and 12-22 over the same range
    first = [_image(5 + i, 10.0 * i, 20.0) for i in range(7)]
    second = [_image(12 + i, 6.0 * i, 20.0) for i in range(11)]
    stacks, _ = stacks_mod.build_stacks(first + second, "437")
    groups, events = stacks_mod.split_repeated_series(stacks, "437")
    assert [(name, len(g)) for name, g in groups] == [("437_a", 7), ("437_b", 11)]
    assert events[0].resolution == "split into subjects 437_a, 437_b"


def test_repeated_and_extra_frames_are_resolved_and_logged() -> None:
    images = [_image(1, 0.0, t, instance=i + 1) for i, t in enumerate([20.0, 50.0, 80.0])]
    images.append(_image(1, 0.0, 50.0, instance=9))  # same TriggerTime, acquired later: replaces instance 2
    images += [_image(2, 10.0, t, instance=i + 1) for i, t in enumerate([20.0, 50.0, 80.0, 110.0])]
    images += [_image(3, 20.0, t, instance=i + 1) for i, t in enumerate([20.0, 50.0, 80.0])]
    stacks, events = stacks_mod.build_stacks(images, "8")
    assert [e.problem for e in events] == ["repeated frame"] and "IM-0001-0002.dcm" in events[0].file
    assert [im.instance_number for im in stacks[0].images] == [1, 9, 3]
    slices, _ = stacks_mod.regularise_slices(stacks, 10.0, "8")
    n_frames, events = stacks_mod.assign_frames(slices, "8")
    assert n_frames == 3 and [e.problem for e in events] == ["extra frames"]
    assert [s.frames for s in slices] == [[0, 1, 2]] * 3


def _grid_stack(pixels: np.ndarray, x: np.ndarray, y: np.ndarray, spacing: float) -> SimpleNamespace:
    image = SimpleNamespace(rows=pixels.shape[1], columns=pixels.shape[2], pixel_spacing_mm=(spacing, spacing),
                            orientation=(*x, *y), rel="x.dcm")
    return SimpleNamespace(first=image, label="x")


def test_flipped_slices_map_exactly_and_oblique_ones_by_interpolation() -> None:
    x, y = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    content = np.arange(2 * 6 * 4, dtype=np.int16).reshape(2, 6, 4)
    reference = _grid_stack(content, x, y, 1.5)
    grid, _ = grid_mod.plan_grid([reference], reference.first.orientation, 256, "s")
    assert grid_mod.map_stack(content, reference, grid) is content  # nothing to do: no copy
    flipped = _grid_stack(content[:, ::-1], x, -y, 1.5)  # the plane seen from the other side
    np.testing.assert_array_equal(grid_mod.map_stack(content[:, ::-1], flipped, grid), content)
    angle = np.radians(30)
    flat = np.full((1, 40, 40), 700, dtype=np.int16)
    oblique = _grid_stack(flat, np.cos(angle) * x + np.sin(angle) * y, -np.sin(angle) * x + np.cos(angle) * y, 0.5)
    big, events = grid_mod.plan_grid([reference, reference, oblique], reference.first.orientation, 256, "s")
    assert {e.problem for e in events} == {"rotated slice plane", "pixel spacing mismatch"}
    mapped = grid_mod.map_stack(flat, oblique, big)
    assert mapped.shape == (1, 6, 4) and mapped.dtype == np.int16 and (mapped == 700).all()


# ---- real reference data (cmr-seg-tl, MIT; Kaggle truth tables) -------------------------------------------


def _refdata() -> Path:
    kaggle = shared_dir() / "refdata" / "cmr-seg-tl" / "kaggle"
    if not (kaggle / "truth" / "train.csv").is_file():
        pytest.skip(f"cmr-seg-tl reference data not found at {kaggle} (set SEGARENA_SHARED)")
    return kaggle


def test_real_truth_tables_are_read_completely() -> None:
    kaggle = _refdata()
    truth = truth_mod.read_truth(kaggle / "truth")
    by_set: dict[str, list[str]] = {}
    for item in truth.values():
        by_set.setdefault(item.set, []).append(item.patient_id)
    assert {k: len(v) for k, v in by_set.items()} == {"train": 500, "validate": 200, "test": 440}
    assert sorted(map(int, by_set["test"])) == list(range(701, 1141))
    assert (truth["1"].esv_ml, truth["1"].edv_ml) == (108.3, 246.7)
    assert (truth["1000"].edv_ml, truth["1000"].esv_ml, truth["1000"].usage) == (113.1, 38.1, "Private")
    assert sum(t.usage == "Public" for t in truth.values()) == 3  # 6 rows = 3 patients


def _tsv(path: Path) -> list[dict[str, str]]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_grid_rule_reproduces_cmr_seg_tl_patient_dimensions() -> None:
    """Downscaling, spacing and the _rot90 choice of all 1149 real DSB series, from their DICOM sizes."""
    kaggle = _refdata()
    dimensions = {row["pid"]: row for row in _tsv(kaggle / "patient_dimensions.tsv")}
    rot90 = {row["Id"].removesuffix("_rot90") for row in _tsv(kaggle / "confidence_by_patient.tsv.xz")
             if row["Id"].endswith("_rot90")}
    checked = 0
    for meta in _tsv(kaggle / "patient_metadata.tsv.xz"):
        if meta["inconsistentMetadata"] != "FALSE":
            continue  # the per-image header summary is ambiguous for these
        spacing = tuple(float(v) for v in meta["PixelSpacing"].strip("[]").split(","))
        image = SimpleNamespace(rows=int(meta["Rows"]), columns=int(meta["Columns"]), pixel_spacing_mm=spacing,
                                orientation=(1, 0, 0, 0, 1, 0), rel="x.dcm")
        stack = SimpleNamespace(first=image, label="x")
        grid, _ = grid_mod.plan_grid([stack], image.orientation, 256, meta["pid"])
        want = dimensions[meta["pid"]]
        assert (grid.columns, grid.rows) == (int(want["X"]), int(want["Y"])), meta["pid"]
        assert grid.spacing_mm[1] == pytest.approx(float(want["pixelSpacingX"]), rel=1e-6)
        assert grid.spacing_mm[0] == pytest.approx(float(want["pixelSpacingY"]), rel=1e-6)
        assert grid.scale_factor == pytest.approx(float(want["scaleFactor"]), rel=1e-9)
        assert (grid.rows < grid.columns) == (meta["pid"] in rot90), meta["pid"]
        checked += 1
    assert checked > 1100


@pytest.mark.slow
def test_nnunet_reads_every_image(converted) -> None:
    """nnU-Net's verify_dataset_integrity only checks training cases (it stops with StopIteration when there
    are none, as in this volume-truth dataset), so use the readers its prediction runs on imagesTs."""
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO
    from nnunetv2.utilities.utils import create_lists_from_splitted_dataset_folder

    expected, out, _ = converted
    lists = create_lists_from_splitted_dataset_folder(str(out / "imagesTs"), ".nii.gz")
    assert len(lists) == sum(s.volume.shape[0] for s in expected.values())
    io = SimpleITKIO()
    for files in lists:
        assert len(files) == 1
        name = Path(files[0]).name.removesuffix("_0000.nii.gz")
        subject = expected[name.rsplit("_f", 1)[0]]
        array, properties = io.read_images(files)
        assert array.shape == (1, *subject.volume.shape[1:])
        assert tuple(properties["spacing"]) == pytest.approx(tuple(reversed(subject.geometry.spacing_mm)))
