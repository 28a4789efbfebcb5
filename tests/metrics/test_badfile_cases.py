"""Bad input files are per-case failures naming the file: truncated, float or NaN masks, a corrupt reference.

Each test builds small mask folders with a known geometry; one file is broken on purpose and the
others must be scored exactly as :func:`evaluate_case` scores their arrays.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from harness.cli.main import main
from harness.common import CaseRecord, DatasetWriter, Geometry, LabelMap, ScalarImage, read_label
from harness.common.images import ImageFileError
from harness.evaluation.folder import evaluate_folders
from harness.evaluation.predictions import CaseTask, evaluate_one, evaluate_predictions
from harness.metrics import MetricsSettings, evaluate_case
from tests.support.mask_io import make_labels, write_mask

STRUCTURES = {"LV": [1], "MYO": [2], "RV": [3]}
SETTINGS = MetricsSettings(names=["dice", "hd95_mm", "volume_pred_ml"])
SPACING_ZYX = (3.0, 0.8, 0.7)  # mask_io.SPACING_XYZ in array order


def _truncate(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _write_float_mask(path: Path, labels: np.ndarray, nan_at: tuple[int, ...] | None = None) -> Path:
    array = labels.astype(np.float32)
    if nan_at is not None:
        array[nan_at] = np.nan
    return write_mask(path, array)


def _folders(tmp_path: Path, cases: tuple[str, ...] = ("a", "b", "c")) -> tuple[Path, Path]:
    reference_dir, prediction_dir = tmp_path / "ref", tmp_path / "pred"
    reference_dir.mkdir()
    prediction_dir.mkdir()
    for seed, case in enumerate(cases):
        write_mask(reference_dir / f"{case}.nii.gz", make_labels(seed))
        write_mask(prediction_dir / f"{case}.nii.gz", make_labels(seed + 10))
    return reference_dir, prediction_dir


def _run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["segarena", "evaluate", *args])
    with pytest.raises(SystemExit) as exited:
        main()
        sys.exit(0)  # main returns normally on success
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def _assert_scored_normally(table: pd.DataFrame, case: str, seed: int) -> None:
    expected = evaluate_case(make_labels(seed), make_labels(seed + 10), SPACING_ZYX, STRUCTURES, SETTINGS)
    rows = table[table.case == case].reset_index(drop=True)
    assert len(rows) == len(expected)
    for row, (_, written) in zip(expected, rows.iterrows(), strict=True):
        assert (written.label, written.metric, written.status) == (row.label, row.metric, row.status)
        assert written.value == pytest.approx(row.value)


def _cli_args(reference_dir: Path, prediction_dir: Path, out: Path, workers: int = 1) -> list[str]:
    return ["--reference", str(reference_dir), "--prediction", str(prediction_dir), "--labels", "LV=1",
            "--labels", "MYO=2", "--labels", "RV=3", "--out", str(out), "--workers", str(workers)]  # fmt: skip


@pytest.fixture(autouse=True)
def _three_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI scores the default metrics; keep them to SETTINGS' three so the tests stay fast and exact."""
    import harness.cli.evaluate as cli_evaluate

    real = cli_evaluate._settings
    monkeypatch.setattr(cli_evaluate, "_settings",
                        lambda convention, tol: real(convention, tol).model_copy(update={"names": SETTINGS.names}))


@pytest.mark.parametrize("ending", [".nii.gz", ".nii"])
def test_truncated_prediction_is_one_failed_case_via_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str], ending: str) -> None:
    reference_dir, prediction_dir = _folders(tmp_path)
    (prediction_dir / "b.nii.gz").unlink()
    _truncate(write_mask(prediction_dir / f"b{ending}", make_labels(11)))
    out = tmp_path / "metrics.csv"
    code, output = _run_cli(monkeypatch, capsys, *_cli_args(reference_dir, prediction_dir, out))
    assert code == 0, output
    table = pd.read_csv(out)
    bad = table[table.case == "b"]
    assert set(bad.status) == {"invalid_prediction"}
    assert bad.reason.str.startswith("truncated:").all() and bad.reason.str.contains(f"b{ending}").all()
    assert (bad[bad.metric == "dice"].value == 0.0).all()  # the policy's failure value, never a real score
    _assert_scored_normally(table, "a", 0)
    _assert_scored_normally(table, "c", 2)
    assert "invalid prediction" in output and "truncated" in output


def test_truncated_reference_is_not_the_methods_fault_via_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    reference_dir, prediction_dir = _folders(tmp_path)
    (reference_dir / "b.nii.gz").unlink()
    _truncate(write_mask(reference_dir / "b.nii", make_labels(1)))
    out = tmp_path / "metrics.csv"
    code, output = _run_cli(monkeypatch, capsys, *_cli_args(reference_dir, prediction_dir, out, workers=2))
    assert code == 2, output
    assert "b.nii" in output and "reference_unreadable" in output and str(out) in output.replace("\n", "")
    table = pd.read_csv(out)  # the results are kept
    bad = table[table.case == "b"]
    assert set(bad.status) == {"reference_unreadable"} and bad.value.isna().all()  # out of every ranking
    assert bad.reason.str.startswith("truncated:").all()
    _assert_scored_normally(table, "a", 0)
    _assert_scored_normally(table, "c", 2)


def test_nan_mask_is_never_read_as_zero(tmp_path: Path) -> None:
    reference_dir, prediction_dir = _folders(tmp_path)
    labels = make_labels(11)
    _write_float_mask(prediction_dir / "b.nii.gz", labels, nan_at=(2, 12, 11))  # a voxel inside the LV
    with pytest.raises(ImageFileError, match=r"b\.nii\.gz.*NaN") as raised:
        read_label(prediction_dir / "b.nii.gz")
    assert raised.value.problem == "invalid_values"
    evaluate_folders(reference_dir, prediction_dir, STRUCTURES, SETTINGS, tmp_path / "m.csv")
    table = pd.read_csv(tmp_path / "m.csv")
    bad = table[table.case == "b"]
    assert set(bad.status) == {"invalid_prediction"} and bad.reason.str.startswith("invalid_values:").all()
    _assert_scored_normally(table, "a", 0)


@pytest.mark.parametrize("ending", [".nii.gz", ".nrrd", ".mha"])
def test_whole_number_float_mask_is_rejected(tmp_path: Path, ending: str) -> None:
    reference_dir, prediction_dir = _folders(tmp_path)
    (prediction_dir / "b.nii.gz").unlink()
    _write_float_mask(prediction_dir / f"b{ending}", make_labels(11))  # values 0.0, 1.0, 2.0, 3.0 only
    with pytest.raises(ImageFileError, match="integer") as raised:
        read_label(prediction_dir / f"b{ending}")
    assert raised.value.problem == "invalid_dtype" and raised.value.path == prediction_dir / f"b{ending}"
    evaluate_folders(reference_dir, prediction_dir, STRUCTURES, SETTINGS, tmp_path / "m.csv", workers=2)
    table = pd.read_csv(tmp_path / "m.csv")
    assert set(table[table.case == "b"].status) == {"invalid_prediction"}
    assert table[table.case == "b"].reason.str.contains("float").all()
    _assert_scored_normally(table, "a", 0)
    _assert_scored_normally(table, "c", 2)


def test_geometry_mismatch_is_one_failed_case(tmp_path: Path) -> None:
    reference_dir, prediction_dir = _folders(tmp_path)
    write_mask(prediction_dir / "b.nii.gz", make_labels(11), spacing_xyz=(0.7, 0.8, 2.5))
    result = evaluate_folders(reference_dir, prediction_dir, STRUCTURES, SETTINGS, tmp_path / "m.csv")
    table = pd.read_csv(tmp_path / "m.csv")
    assert result.invalid_predictions == ("b",)
    assert table[table.case == "b"].reason.str.match(r"geometry_mismatch: .*spacing_mm").all()
    _assert_scored_normally(table, "c", 2)


def test_unwritable_out_fails_before_scoring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    reference_dir, prediction_dir = _folders(tmp_path)
    (tmp_path / "a_file").write_text("")
    import harness.evaluation.folder as folder

    scored: list[str] = []
    real = folder.evaluate_case_files
    monkeypatch.setattr(folder, "evaluate_case_files", lambda *a: scored.append(a[0]) or real(*a))
    code, output = _run_cli(monkeypatch, capsys, *_cli_args(reference_dir, prediction_dir,
                                                            tmp_path / "a_file" / "m.csv"))
    assert code == 2 and "--out" in output and "Traceback" not in output
    assert scored == []  # nothing was computed, so nothing was lost


def test_failed_write_keeps_the_results_in_a_fallback_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    reference_dir, prediction_dir = _folders(tmp_path)
    import harness.evaluation.csvfile as csvfile

    out = tmp_path / "out" / "m.csv"
    real = csvfile._write_csv

    def disk_full(path: Path, results: object) -> int:
        if path == out:
            raise OSError(28, "No space left on device")
        return real(path, results)  # type: ignore[arg-type]

    monkeypatch.setattr(csvfile, "_write_csv", disk_full)
    code, output = _run_cli(monkeypatch, capsys, *_cli_args(reference_dir, prediction_dir, out))
    fallback = prediction_dir.parent / "pred.segarena-metrics.csv"
    assert code == 2 and "No space left" in output and "Traceback" not in output
    assert fallback.name in output.replace("\n", "")
    table = pd.read_csv(fallback)
    _assert_scored_normally(table, "a", 0)
    assert not out.exists()


# ---- the benchmark runner's evaluate step -----------------------------------------------------------------

GEOMETRY = Geometry.identity((1.0, 1.0, 2.0))


def _dataset(tmp_path: Path, n: int = 3):  # -> CommonDataset
    from harness.common import CommonDataset

    writer = DatasetWriter(tmp_path / "ds", "badfile", ["cine"], {"background": 0, "LV": 1, "MYO": 2})
    for i in range(n):
        label = np.zeros((2, 8, 8), np.uint8)
        label[:, 2:6, 2:6] = 2
        label[:, 3:5, 3 + i % 2:5] = 1
        record = CaseRecord(case=f"c{i}", subject=f"s{i}", frame=0, has_label=True)
        writer.write_case(record, [ScalarImage(label.astype(np.float32), GEOMETRY)], LabelMap(label, GEOMETRY))
    writer.finalize()
    return CommonDataset.open(tmp_path / "ds")


def test_runner_scores_the_good_cases_when_one_reference_is_corrupt(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    for record in dataset.cases:
        label = dataset.read_label(record)
        assert label is not None
        (predictions / f"{record.case}.nii.gz").write_bytes(dataset.label_path(record).read_bytes())  # type: ignore[union-attr]
    _truncate(dataset.root / "labelsTr" / "c1.nii.gz")
    metrics, _ = evaluate_predictions(dataset, list(dataset.cases), predictions, set(), SETTINGS, None, "m",
                                      workers=2)
    by_case = {case: rows for case, rows in metrics.groupby("case")}
    assert set(by_case["c1"].status) == {"reference_unreadable"} and by_case["c1"].value.isna().all()
    assert by_case["c1"].reason.str.contains("c1.nii.gz").all()
    for case in ("c0", "c2"):
        dice = by_case[case][by_case[case].metric == "dice"]
        assert set(dice.status) == {"ok"} and (dice.value == 1.0).all()


def test_runner_rejects_a_float_prediction_and_keeps_contract_reasons(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, n=1)
    record = dataset.cases[0]
    prediction = tmp_path / "pred.nii.gz"
    label = dataset.read_label(record)
    assert label is not None
    image = sitk.GetImageFromArray(label.array.astype(np.float64))
    GEOMETRY.apply_to(image)
    sitk.WriteImage(image, str(prediction))
    task = CaseTask(record, dataset.label_path(record), prediction, True, dataset.structures, SETTINGS)
    rows, volumes = evaluate_one(task)
    assert {r["status"] for r in rows} == {"invalid_prediction"}
    assert all(str(r["reason"]).startswith("invalid_dtype:") for r in rows)
    assert all(math.isnan(v["volume_pred_ml"]) for v in volumes)  # a rejected file gives no volume either
    invalid = CaseTask(record, dataset.label_path(record), prediction, False, dataset.structures, SETTINGS,
                       invalid_reason="label values [7] are not in the label map [0, 1, 2]")
    rows, _ = evaluate_one(invalid)
    assert {r["reason"] for r in rows} == {"contract: label values [7] are not in the label map [0, 1, 2]"}
