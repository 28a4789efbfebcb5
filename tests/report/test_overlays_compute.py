"""Overlays (which cases, which planes, which aspect), the compute table and the overview, from their inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from harness.report.inputs import OverlayCase
from harness.report.overlays import _planes, draw_overlay, draw_overlays
from harness.report.viewmodel import consensus, leaderboards, overview
from tests.report.test_report import report  # noqa: F401  (module fixture: a rendered tiny report)


def write(path: Path, array: np.ndarray, spacing_xyz: tuple[float, float, float]) -> str:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing_xyz)
    sitk.WriteImage(image, str(path))
    return str(path)


def volume_case(tmp_path: Path, shape: tuple[int, int, int], spacing_xyz: tuple[float, float, float]) -> OverlayCase:
    rng = np.random.default_rng(0)
    image = rng.normal(100, 10, size=shape).astype(np.float32)
    reference = np.zeros(shape, np.uint8)
    reference[shape[0] // 3: shape[0] // 3 + 3, 10:30, 12:40] = 1  # most voxels on slices z0..z0+2
    reference[shape[0] // 3 + 1, 5:35, 8:44] = 1  # the largest slice
    prediction = np.roll(reference, 2, axis=2)
    return OverlayCase("d", "m", "c1", "best", 0.9, "dice", (write(tmp_path / "i.nii.gz", image, spacing_xyz),),
                       write(tmp_path / "r.nii.gz", reference, spacing_xyz),
                       write(tmp_path / "p.nii.gz", prediction, spacing_xyz), (("FG", (1,)),))


def test_the_slice_with_most_reference_voxels_and_the_three_planes_of_a_volume(tmp_path: Path) -> None:
    case = volume_case(tmp_path, (24, 48, 64), (0.5, 1.0, 2.5))  # x, y, z spacing: anisotropic
    views, width, height = draw_overlay(case, tmp_path / "o.png")
    assert views == "axial 9, sagittal 26, coronal 20"  # z = 24 // 3 + 1; x centre 25.5 -> 26, y centre 19.7 -> 20
    planes = _planes(np.zeros((24, 48, 64)), np.ones((24, 48, 64), bool), np.zeros((24, 48, 64), bool),
                     (2.5, 1.0, 0.5))
    aspects = {name: aspect for name, _, _, aspect in planes}
    assert aspects == {"axial": 2.0, "sagittal": 2.5, "coronal": 5.0}  # row spacing / column spacing
    png = sitk.ReadImage(str(tmp_path / "o.png"))
    assert png.GetSize()[0] == pytest.approx(1.5 * width, abs=2) and png.GetSize()[1] == pytest.approx(1.5 * height, abs=2)
    thin = volume_case(tmp_path, (6, 48, 64), (1.0, 1.0, 8.0))  # a cine stack: one plane
    assert draw_overlay(thin, tmp_path / "t.png")[0] == "axial 3"


def test_a_case_that_cannot_be_drawn_is_named_and_the_rest_are_drawn(tmp_path: Path) -> None:
    good = volume_case(tmp_path, (6, 32, 32), (1.0, 1.0, 1.0))
    bad = OverlayCase("d", "m", "c2", "worst", 0.1, "dice", (str(tmp_path / "gone.nii.gz"),), good.reference,
                      good.prediction, good.structures)
    drawn, problems = draw_overlays([good, bad], tmp_path / "site")
    assert [o.case for o in drawn] == ["c1"] and (tmp_path / "site" / drawn[0].src).is_file()
    assert len(problems) == 1 and problems[0].startswith("d · m · c2:")


def test_the_report_draws_best_median_and_worst_by_the_ranking_metric(report: Path) -> None:  # noqa: F811
    data = json.loads((report.parent / "report.json").read_text())
    metrics = pd.read_csv(report.parent / "metrics.csv")
    dice = metrics[metrics["metric"] == "dice"].groupby(["method", "case"])["value"].mean()
    by_method: dict[str, dict[str, str]] = {}
    for overlay in data["overlays"]:
        by_method.setdefault(overlay["entry"], {})[overlay["role"]] = overlay["case"]
        assert overlay["value"] == pytest.approx(dice[(overlay["entry"], overlay["case"])])
        assert (report.parent / overlay["src"]).is_file()
    assert set(by_method) == set(metrics["method"])
    for method, roles in by_method.items():
        ordered = dice[method].sort_values(ascending=False, kind="stable")
        assert roles["best"] == ordered.index[0] and roles["worst"] == ordered.index[-1]


def test_compute_rows_come_from_the_store_and_the_executor(report: Path) -> None:  # noqa: F811
    data = json.loads((report.parent / "report.json").read_text())
    rows = {row["entry"]: row for row in data["compute"]}
    assert set(rows) == {"threshold_baseline", "narrow"}
    for row in rows.values():
        assert row["train_s"] > 0 and row["predict_s"] > 0 and row["predict_s_per_case"] > 0
        assert row["train_peak_mb"] > 10 and row["predict_peak_mb"] > 10  # a Python process at least
        assert row["device"].startswith("CPU") and row["executor"] == "local"
        assert row["parameters"] is None  # threshold_baseline writes no model_info.json
    html = report.read_text()
    assert "predict peak (MB)" in html and 'class="cost"' in html


def rows_of(table: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """{dataset/label: {method: [per-subject values]}} as metric rows."""
    records = []
    for board, methods in table.items():
        dataset, label = board.split("/")
        for method, values in methods.items():
            for i, value in enumerate(values):
                records.append({"dataset": dataset, "label": label, "method": method, "regime": "scratch",
                                "subset": "all", "case": f"s{i}", "subject": f"s{i}", "metric": "dice",
                                "value": value, "status": "ok", "phase": ""})
    return pd.DataFrame(records)


def test_overview_and_consensus_by_hand() -> None:
    metrics = rows_of({"d1/LV": {"a": [0.9, 0.8], "b": [0.7, 0.6]}, "d1/RV": {"a": [0.5, 0.5], "b": [0.6, 0.7]},
                       "d2/LV": {"a": [0.2, 0.4], "b": [0.5, 0.5]}})
    boards = leaderboards(metrics, "dice")
    table = overview(boards, "dice")
    assert table["entries"] == ["a", "b"] and [r["dataset"] for r in table["rows"]] == ["d1", "d2"]
    assert table["rows"][0]["values"] == pytest.approx([(0.85 + 0.5) / 2, (0.65 + 0.65) / 2])
    assert table["rows"][0]["best"] == [True, False] and table["rows"][1]["best"] == [False, True]
    ranked = consensus(boards)  # ranks: d1/LV a1 b2, d1/RV b1 a2, d2/LV b1 a2 -> b 4/3, a 5/3
    assert [(c["entry"], round(c["mean_rank"], 3), c["rank"]) for c in ranked] == [("b", 1.333, 1), ("a", 1.667, 2)]


def test_the_seed_style_results_table() -> None:
    from harness.report.viewmodel import study_tables

    metrics = rows_of({"la/LA": {"vnet": [0.8, 0.9], "wide": [0.7, 0.9]}})
    metrics = pd.concat([metrics, metrics.assign(metric="hd_mm", value=metrics["value"] * 10)], ignore_index=True)
    compute = [{"dataset": "la", "entry": "vnet", "parameters": 1234, "train_s": 60.0,
                "params": {"loss": "hybrid", "batch_size": 2, "learning_rate": 0.001, "seed": 0}},
               {"dataset": "la", "entry": "wide", "parameters": 5678, "train_s": 90.0,
                "params": {"loss": "dice", "batch_size": 2}}]
    (table,) = study_tables(metrics, compute)
    assert table["metrics"] == ["dice", "hd_mm"] and table["params"] == ["loss", "batch_size", "learning_rate"]
    vnet, wide = table["rows"]
    assert (vnet["parameters"], vnet["train_s"], vnet["params"]) == (1234, 60.0, {"loss": "hybrid", "batch_size": 2,
                                                                                 "learning_rate": 0.001})
    assert wide["params"]["learning_rate"] == ""  # not a param of that entry
    assert vnet["cells"]["dice"].text == "0.850 ± 0.071" and vnet["cells"]["hd_mm"].text == "8.50 ± 0.71"
