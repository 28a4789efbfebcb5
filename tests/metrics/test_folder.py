"""evaluate_folders: file formats, matching by case name, failures as rows, geometry checks, the CSV."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.errors import InputDataError
from harness.evaluation.files import split_case_name
from harness.evaluation.folder import evaluate_folders
from harness.metrics import METRIC_NAMES, MetricsSettings, evaluate_case
from tests.support.mask_io import make_labels

STRUCTURES = {"LV": [1], "MYO": [2], "RV": [3], "HEART": [1, 2]}


def test_split_case_name() -> None:
    assert split_case_name(Path("pat_01.nii.gz")) == "pat_01"
    assert split_case_name(Path("pat.01.NRRD")) == "pat.01"
    assert split_case_name(Path("x.mha")) == "x"
    assert split_case_name(Path("readme.txt")) is None
    assert split_case_name(Path(".nii.gz")) is None


def test_scores_every_reference_case_and_records_failures(mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders()
    done: list[str] = []
    out_csv = tmp_path / "out" / "metrics.csv"
    result = evaluate_folders(reference_dir, prediction_dir, STRUCTURES, MetricsSettings(), out_csv, workers=1,
                              on_case_done=done.append)  # fmt: skip
    assert sorted(done) == ["a", "b", "c", "e"]
    assert result.missing_predictions == ("c",)
    assert result.invalid_predictions == ("e",)
    assert result.unmatched_predictions == ("d",)
    table = pd.read_csv(out_csv)
    assert list(table.columns) == ["case", "label", "metric", "value", "status", "reason"]
    assert len(table) == result.n_rows == 4 * len(STRUCTURES) * len(METRIC_NAMES)
    assert set(table.loc[table.case == "c", "status"]) == {"missing_prediction"}
    assert set(table.loc[table.case == "e", "status"]) == {"invalid_prediction"}
    assert table.loc[table.case == "e", "reason"].str.match(r"unreadable: .*e\.nii\.gz").all()
    assert table.loc[table.case.isin(["a", "b", "c"]), "reason"].isna().all()  # empty for the other statuses
    dice_c = table[(table.case == "c") & (table.metric == "dice")]
    assert (dice_c.value == 0.0).all()

    # values equal evaluate_case on the arrays, with the spacing turned into array order
    expected = evaluate_case(make_labels(0), make_labels(10), (3.0, 0.8, 0.7), STRUCTURES)
    case_a = table[table.case == "a"].reset_index(drop=True)
    for row, (_, written) in zip(expected, case_a.iterrows(), strict=True):
        assert (written.label, written.metric, written.status) == (row.label, row.metric, row.status)
        assert (math.isnan(row.value) and math.isnan(written.value)) or written.value == pytest.approx(row.value)


def _reasons(out_csv: Path) -> dict[str, set[str]]:
    table = pd.read_csv(out_csv).fillna({"reason": ""})
    return {case: set(rows.reason) for case, rows in table.groupby("case")}


def test_mismatched_geometry_is_a_failed_case_naming_it(mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders(spacing_xyz=(0.7, 0.8, 2.5))
    result = evaluate_folders(reference_dir, prediction_dir, STRUCTURES, None, tmp_path / "m.csv")
    assert result.invalid_predictions == ("a", "b", "e")
    (reason,) = _reasons(tmp_path / "m.csv")["a"]
    assert re.match(r"geometry_mismatch: case 'a': prediction spacing_mm .* differs", reason)


def test_mismatched_origin_is_a_failed_case_naming_it(mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders(origin_xyz=(-10.0, 5.0, 3.5))
    evaluate_folders(reference_dir, prediction_dir, STRUCTURES, None, tmp_path / "m.csv")
    (reason,) = _reasons(tmp_path / "m.csv")["a"]
    assert reason.startswith("geometry_mismatch: case 'a': prediction origin_mm")


def test_missing_or_empty_reference_folder(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="does not exist"):
        evaluate_folders(tmp_path / "nope", tmp_path, STRUCTURES, None, tmp_path / "m.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="holds no masks"):
        evaluate_folders(tmp_path / "empty", tmp_path, STRUCTURES, None, tmp_path / "m.csv")


def test_duplicate_case_names_are_refused(mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders()
    (reference_dir / "a.nrrd").write_bytes((reference_dir / "b.nrrd").read_bytes())
    with pytest.raises(InputDataError, match="case 'a' has two files"):
        evaluate_folders(reference_dir, prediction_dir, STRUCTURES, None, tmp_path / "m.csv")


def test_process_pool_gives_the_same_csv(mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders()
    serial, parallel = tmp_path / "serial.csv", tmp_path / "parallel.csv"
    evaluate_folders(reference_dir, prediction_dir, STRUCTURES, None, serial, workers=1)
    done: list[str] = []
    evaluate_folders(reference_dir, prediction_dir, STRUCTURES, None, parallel, workers=2, on_case_done=done.append)
    assert serial.read_text() == parallel.read_text()
    assert sorted(done) == ["a", "b", "c", "e"]


def test_process_pool_reports_a_bad_case(mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders(spacing_xyz=(0.7, 0.8, 2.5))
    result = evaluate_folders(reference_dir, prediction_dir, STRUCTURES, None, tmp_path / "m.csv", workers=2)
    assert result.invalid_predictions == ("a", "b", "e")
    assert result.reasons["b"].startswith("geometry_mismatch: case 'b': prediction spacing_mm")
    assert _reasons(tmp_path / "m.csv")["b"] == {result.reasons["b"]}


def test_two_dimensional_masks(tmp_path: Path) -> None:
    from tests.support.mask_io import write_mask

    (tmp_path / "r").mkdir()
    (tmp_path / "p").mkdir()
    labels = np.zeros((8, 9), dtype=np.uint8)
    labels[2:5, 3:7] = 1
    write_mask(tmp_path / "r" / "s.nii.gz", labels, (0.5, 2.0), (0.0, 0.0))
    write_mask(tmp_path / "p" / "s.nii.gz", labels, (0.5, 2.0), (0.0, 0.0))
    evaluate_folders(tmp_path / "r", tmp_path / "p", {"A": [1]}, MetricsSettings(names=["dice", "volume_ref_ml"]),
                     tmp_path / "m.csv")  # fmt: skip
    table = pd.read_csv(tmp_path / "m.csv")
    assert table.value.tolist() == [1.0, pytest.approx(12 * 0.5 * 2.0 / 1000)]
