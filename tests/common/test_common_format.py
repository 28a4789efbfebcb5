from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.common import (
    CaseRecord,
    CommonDataset,
    DatasetWriter,
    Geometry,
    LabelMap,
    ScalarImage,
    read_image,
    read_label,
    validate_dataset,
)

GEOMETRY = Geometry(
    spacing_mm=(1.367188, 1.367188, 10.0),
    origin_mm=(-120.5, 33.25, 7.125),
    direction=(0.0, 1.0, 0.0, -0.6, 0.0, 0.8, 0.8, 0.0, 0.6),
)


def _write(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    writer = DatasetWriter(tmp_path / "ds", "toy", ["cine"], {"background": 0, "LV": 1, "MYO": 2})
    for i in range(3):
        image = ScalarImage(rng.normal(size=(4, 16, 12)).astype(np.float32), GEOMETRY)
        label = LabelMap(rng.integers(0, 3, size=(4, 16, 12)).astype(np.uint8), GEOMETRY)
        record = CaseRecord(case=f"s{i}_f00", subject=f"s{i}", phase="ED", frame=0, n_slices=4, has_label=True,
                            spacing_x_mm=1.367188, spacing_y_mm=1.367188, spacing_z_mm=10.0)
        writer.write_case(record, [image], label)
    writer.write_case(CaseRecord(case="s0_f05", subject="s0", frame=5), [ScalarImage(np.zeros((4, 16, 12), np.float32), GEOMETRY)], None)
    writer.add_subject({"subject": "s0", "edv_ml": 120.0, "esv_ml": 50.0})
    writer.finalize()
    return tmp_path / "ds"


def test_round_trip_keeps_geometry_and_values_exactly(tmp_path: Path) -> None:
    root = _write(tmp_path)
    image = read_image(root / "imagesTr" / "s1_f00_0000.nii.gz")
    assert image.geometry.spacing_mm == pytest.approx(GEOMETRY.spacing_mm, abs=1e-6)
    assert image.geometry.origin_mm == pytest.approx(GEOMETRY.origin_mm, abs=1e-6)
    assert image.geometry.direction == pytest.approx(GEOMETRY.direction, abs=1e-6)
    assert image.array.shape == (4, 16, 12)
    expected = np.random.default_rng(0).normal(size=(4, 16, 12)).astype(np.float32)
    assert np.array_equal(read_image(root / "imagesTr" / "s0_f00_0000.nii.gz").array, expected)
    label = read_label(root / "labelsTr" / "s0_f00.nii.gz")
    assert label.geometry.matches(image.geometry)


def test_tables_and_metadata(tmp_path: Path) -> None:
    dataset = CommonDataset.open(_write(tmp_path))
    meta = json.loads((dataset.root / "dataset.json").read_text())
    assert meta["numTraining"] == 3 and meta["file_ending"] == ".nii.gz"
    assert meta["channel_names"] == {"0": "cine"}
    assert dataset.structures == {"LV": [1], "MYO": [2]}
    unlabelled = dataset.case("s0_f05")
    assert not unlabelled.has_label and dataset.image_paths(unlabelled)[0].parent.name == "imagesTs"
    assert dataset.case("s1_f00").spacing_z_mm == 10.0 and dataset.case("s1_f00").group == "s1"
    assert dataset.subjects[0]["edv_ml"] == "120.0"
    assert validate_dataset(dataset.root) == []


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    root = _write(tmp_path)
    (root / "labelsTr" / "s1_f00.nii.gz").unlink()
    bad = LabelMap(np.full((4, 16, 12), 7, np.uint8), GEOMETRY)
    from harness.common import write_image

    write_image(bad, root / "labelsTr" / "s2_f00.nii.gz")
    write_image(ScalarImage(np.zeros((2, 2, 2), np.float32), GEOMETRY), root / "imagesTr" / "ghost_0000.nii.gz")
    problems = [str(p) for p in validate_dataset(root)]
    assert any("s1_f00" in p and "label is missing" in p for p in problems)
    assert any("s2_f00.nii.gz" in p and "[7]" in p for p in problems)
    assert any("ghost_0000.nii.gz" in p and "does not list" in p for p in problems)
    assert len(problems) == 3


def test_label_geometry_mismatch_is_refused(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path / "ds", "toy", ["cine"], {"background": 0, "LV": 1})
    other = Geometry.identity((1.0, 1.0, 2.0))
    with pytest.raises(ValueError, match="geometry"):
        writer.write_case(CaseRecord(case="a", subject="a", has_label=True),
                          [ScalarImage(np.zeros((2, 3, 3), np.float32), GEOMETRY)],
                          LabelMap(np.zeros((2, 3, 3), np.uint8), other))


def test_truncated_nifti_is_an_error_not_zeros(tmp_path: Path) -> None:
    from harness.errors import InputDataError

    root = _write(tmp_path)
    path = root / "labelsTr" / "s0_f00.nii.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputDataError, match="s0_f00.nii.gz"):
        read_label(path)
