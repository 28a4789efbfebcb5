"""la2018 adapter: NRRD geometry, 0/255 masks, test cases without masks, bad input."""

from __future__ import annotations

from pathlib import Path

import nrrd
import numpy as np
import pytest

from harness.common import CommonDataset, validate_dataset
from harness.common.dataset import read_csv
from harness.datasets import DatasetRegistry, convert_dataset
from tests.support.nnunet_check import assert_nnunet_integrity
from tests.support.raw_la2018 import LaCase, add_bad_cases, write_la2018


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, LaCase]]:
    root = tmp_path_factory.mktemp("la2018")
    expected = write_la2018(root / "raw")
    convert_dataset(DatasetRegistry().adapter("la2018"), root / "raw", root / "out")
    return root / "out", expected


def test_cases_and_folders(converted: tuple[Path, dict[str, LaCase]]) -> None:
    out, expected = converted
    dataset = CommonDataset.open(out)
    assert {r.case for r in dataset.cases} == set(expected)
    for record in dataset.cases:
        case = expected[record.case]
        assert record.has_label == (case.mask is not None)
        assert record.group == record.subject == case.case
        assert record.n_slices == case.image.shape[0]
        assert (record.spacing_x_mm, record.spacing_y_mm, record.spacing_z_mm) == pytest.approx(case.spacing_mm)
        assert record.source_files.split(";")[0] == f"{case.folder.parent.name}/{case.case}/lgemri.nrrd"
    assert dataset.meta["numTraining"] == 3
    assert dataset.label_map == {"background": 0, "LA": 1}
    assert (out / "imagesTs" / "4URSJYI2QUH1T5S5PP47_0000.nii.gz").is_file()
    assert validate_dataset(out) == []
    assert read_csv(out / "conversion_log.csv") == []


def test_pixels_and_geometry_from_the_nrrd_header(converted: tuple[Path, dict[str, LaCase]]) -> None:
    out, expected = converted
    dataset = CommonDataset.open(out)
    for record in dataset.cases:
        case = expected[record.case]
        (image,) = dataset.read_images(record)
        np.testing.assert_array_equal(image.array, case.image)
        # NIfTI stores spacing, origin and the quaternion as float32: exact to ~1e-7 relative
        assert image.geometry.spacing_mm == pytest.approx(case.spacing_mm, abs=1e-5)
        assert image.geometry.origin_mm == pytest.approx(case.origin_lps_mm, abs=1e-5)
        assert image.geometry.direction == pytest.approx(case.direction_lps, abs=1e-5)
        if case.mask is not None:
            label = dataset.read_label(record)
            assert label is not None
            np.testing.assert_array_equal(label.array, case.mask)
            assert label.geometry.matches(image.geometry)


def test_geometry_agrees_with_pynrrd(converted: tuple[Path, dict[str, LaCase]]) -> None:
    """pynrrd's raw header, turned into LPS by hand, gives the geometry the adapter wrote."""
    out, expected = converted
    dataset = CommonDataset.open(out)
    for record in dataset.cases:
        header = nrrd.read_header(str(expected[record.case].folder / "lgemri.nrrd"))
        axes = np.asarray(header["space directions"], dtype=float)  # rows: axis vectors
        origin = np.asarray(header["space origin"], dtype=float)
        flip = np.array([-1.0, -1.0, 1.0]) if header["space"] == "right-anterior-superior" else np.ones(3)
        spacing = np.linalg.norm(axes, axis=1)
        direction = (flip[:, None] * (axes / spacing[:, None]).T).ravel()
        (image,) = dataset.read_images(record)
        assert image.geometry.spacing_mm == pytest.approx(tuple(spacing), abs=1e-5)
        assert image.geometry.origin_mm == pytest.approx(tuple(flip * origin), abs=1e-5)
        assert image.geometry.direction == pytest.approx(tuple(direction), abs=1e-5)


def test_header_with_spacings_only(tmp_path: Path) -> None:
    """An NRRD without space directions: spacing from ``spacings``, origin 0, identity direction."""
    image = np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6)
    folder = tmp_path / "raw" / "CASE0000000000000001"
    folder.mkdir(parents=True)
    nrrd.write(str(folder / "lgemri.nrrd"), image.transpose(2, 1, 0).copy(), {"spacings": [0.5, 0.75, 2.0]})
    convert_dataset(DatasetRegistry().adapter("la2018"), tmp_path / "raw", tmp_path / "out")
    dataset = CommonDataset.open(tmp_path / "out")
    (converted,) = dataset.read_images(dataset.cases[0])
    np.testing.assert_array_equal(converted.array, image)
    assert converted.geometry.spacing_mm == pytest.approx((0.5, 0.75, 2.0))
    assert converted.geometry.origin_mm == (0.0, 0.0, 0.0)
    assert converted.geometry.direction == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def test_bad_cases_are_logged_and_the_rest_converts(tmp_path: Path) -> None:
    expected = write_la2018(tmp_path / "raw")
    bad = add_bad_cases(tmp_path / "raw")
    summary = convert_dataset(DatasetRegistry().adapter("la2018"), tmp_path / "raw", tmp_path / "out")
    assert summary.n_failed_subjects == len(bad)
    log = read_csv(tmp_path / "out" / "conversion_log.csv")
    assert {row["subject"] for row in log} == set(bad)
    for row in log:
        assert row["severity"] == "error"
        assert bad[row["subject"]] in row["detail"]
    details = {row["subject"]: row["detail"] for row in log}
    assert "label values [1]" in details["BADVALUES0000000000A"]
    assert "voxel grid differs from lgemri.nrrd's" in details["BADGRID0000000000000"]
    assert "cannot be read" in details["TRUNCATED00000000000"]
    dataset = CommonDataset.open(tmp_path / "out")
    assert {r.case for r in dataset.cases} == set(expected)
    assert validate_dataset(tmp_path / "out") == []


@pytest.mark.slow
def test_nnunet_integrity(converted: tuple[Path, dict[str, LaCase]]) -> None:
    assert_nnunet_integrity(converted[0])
