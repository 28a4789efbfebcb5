"""A metric from an outside module (tests/evaluation/dummy_metric.py, one file) in every place a metric shows up.

`segarena evaluate --metrics-extra`, the evaluate job's rows with `metrics.extra` in benchmark.yaml,
the report's leaderboards (ranked by it, lower is better), and the errors for a wrong module or name.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli.main import main
from harness.common import Geometry, LabelMap, write_image
from harness.config import load_benchmark
from harness.errors import ConfigError
from harness.metrics import BUILTIN_METRIC_NAMES, MetricsSettings, evaluate_case
from harness.runner import run_benchmark
from tests.conftest import TINY_DEMO

MODULE = "tests.evaluation.dummy_metric"
GEOMETRY = Geometry.identity((1.0, 2.0, 2.0))  # (x, y, z) mm: a voxel is 4 µl


def _write_case(folder: Path, case: str, labels: np.ndarray) -> None:
    folder.mkdir(exist_ok=True)
    write_image(LabelMap(labels.astype(np.uint8), GEOMETRY), folder / f"{case}.nii.gz")


def test_formula_and_empty_rules_come_from_the_outside_object() -> None:
    reference = np.zeros((4, 6, 6), np.uint8)
    reference[1:3, 1:4, 1:4] = 1
    prediction = reference.copy()
    prediction[1:3, 4, 1:4] = 1  # 6 false-positive voxels of 4 µl
    settings = MetricsSettings(extra=[MODULE], names=["dice", "fp_ml"])
    rows = {(r.label, r.metric): r for r in evaluate_case(reference, prediction, (2.0, 2.0, 1.0), {"A": [1], "B": [2]},
                                                          settings)}
    assert rows["A", "fp_ml"].value == pytest.approx(6 * 4 / 1000) and rows["A", "fp_ml"].status == "ok"
    assert rows["B", "fp_ml"].value == 0.0 and rows["B", "fp_ml"].status == "both_empty"  # its rule: compute
    missing = evaluate_case(reference, None, (2.0, 2.0, 1.0), {"A": [1]}, settings)
    assert [(r.metric, r.status) for r in missing] == [("dice", "missing_prediction"), ("fp_ml", "missing_prediction")]
    assert math.isnan(missing[1].value)  # its missing_prediction rule: exclude


def test_extra_module_is_selected_by_default_and_keeps_job_keys_of_others() -> None:
    settings = MetricsSettings(extra=[MODULE])
    assert settings.names == [*BUILTIN_METRIC_NAMES, "fp_ml"]
    assert MetricsSettings().names == list(BUILTIN_METRIC_NAMES)  # registering it changed no other default
    assert "extra" not in MetricsSettings().model_dump() and settings.model_dump()["extra"] == [MODULE]


def test_segarena_evaluate_scores_the_outside_metric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    reference = np.zeros((4, 6, 6), np.uint8)
    reference[1:3, 1:4, 1:4] = 1
    prediction = reference.copy()
    prediction[1:3, 4, 1:4] = 1
    for case in ("a", "b"):
        _write_case(tmp_path / "ref", case, reference)
    _write_case(tmp_path / "pred", "a", prediction)  # b is missing
    for workers in ("1", "2"):  # 2: spawned workers import the module themselves
        out = tmp_path / f"m{workers}.csv"
        monkeypatch.setattr(sys, "argv", ["segarena", "evaluate", "--reference", str(tmp_path / "ref"),
                                          "--prediction", str(tmp_path / "pred"), "--labels", "A=1", "--out", str(out),
                                          "--metrics-extra", MODULE, "--workers", workers])  # fmt: skip
        with pytest.raises(SystemExit) as exited:
            main()
            sys.exit(0)
        assert exited.value.code in (0, None), capsys.readouterr()
        table = pd.read_csv(out).set_index(["case", "metric"])
        assert list(table.reset_index().metric.unique()) == [*BUILTIN_METRIC_NAMES, "fp_ml"]
        assert table.loc[("a", "fp_ml"), "value"] == pytest.approx(0.024) and table.loc[("a", "fp_ml"), "status"] == "ok"
        assert table.loc[("b", "fp_ml"), "status"] == "missing_prediction" and math.isnan(table.loc[("b", "fp_ml"), "value"])


def test_evaluate_job_and_report_show_the_outside_metric(write_benchmark: Callable[..., Path]) -> None:
    path = write_benchmark(TINY_DEMO + f"metrics: {{extra: [{MODULE}], names: [dice, fp_ml]}}\n"
                           "methods:\n  - name: threshold_baseline\n  - name: threshold_baseline\n    id: wide\n"
                           "    params: {myocardium_width_mm: 12.0}\n")  # fmt: skip
    text = path.read_text().replace("report:\n", "report:\n  rank_by: fp_ml\n")
    path.write_text(text)
    summary = run_benchmark(load_benchmark(path))
    assert summary.ok and summary.report is not None
    jobs = sorted((path.parent / "run").rglob("jobs/evaluate/*/metrics.csv"))
    assert len(jobs) == 2
    for job in jobs:
        rows = pd.read_csv(job)
        assert set(rows.metric) == {"dice", "fp_ml"} and rows.loc[rows.metric == "fp_ml", "value"].notna().all()
    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    expected = metrics[metrics.metric == "fp_ml"].groupby(["dataset", "label", "method"])["value"].mean()
    boards = _leaderboard_cells(summary.report.read_text(), "fp_ml")
    assert {(d, lab, m) for (d, lab), cells in boards.items() for m, _ in cells} == set(expected.index)
    for (dataset, label), cells in boards.items():
        assert len(cells) == 2
        for method, value in cells:
            assert value == pytest.approx(expected[dataset, label, method], rel=1e-9, abs=1e-12)
        assert [v for _, v in cells] == sorted(v for _, v in cells)  # ranked by fp_ml, lower is better


def _leaderboard_cells(html: str, metric: str) -> dict[tuple[str, str], list[tuple[str, float]]]:
    """(dataset, label) -> [(entry, data-sort of the metric's cell)] in the all-frames leaderboard's row order."""
    boards: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for table in re.finditer(r'<table[^>]*class="[^"]*leaderboard[^"]*"[^>]*>(.*?)</table>', html, re.S):
        head = table.group(0)[: table.group(0).index(">")]
        if re.search(r'data-phase="[^"]+"', head):
            continue  # a per-phase (ED / ES) board
        key = (re.search(r'data-dataset="([^"]*)"', head)[1], re.search(r'data-label="([^"]*)"', head)[1])  # type: ignore[index]
        rows = re.findall(rf'<tr data-entry="([^"]*)">.*?<td data-sort="([^"]*)" data-metric="{metric}"', table[1])
        boards[key] = [(entry, float(value)) for entry, value in rows]
    return boards


@pytest.mark.parametrize(("extra", "names", "expected"), [
    (["tests.evaluation.dummy_metrc"], None, "Did you mean 'tests.evaluation.dummy_metric'?"),
    (["tests.evaluation"], None, "holds no METRICS"),
    ([MODULE], ["fp_m"], "Did you mean 'fp_ml'?"),
    ([], ["fp_ml_x"], "metrics.extra"),
])  # fmt: skip
def test_a_wrong_module_or_name_says_what_is_available(extra: list[str], names: list[str] | None,
                                                       expected: str) -> None:
    data: dict[str, object] = {"extra": extra} | ({"names": names} if names else {})
    with pytest.raises(ValueError, match="metric") as err:
        MetricsSettings.model_validate(data)
    assert expected in str(err.value)


def test_a_wrong_module_on_the_command_line_is_a_config_error() -> None:
    from harness.cli.evaluate import _with_extra

    with pytest.raises(ConfigError, match="Did you mean 'tests.evaluation.dummy_metric'"):
        _with_extra(MetricsSettings(), ["tests.evaluation.dummy_metrix"])
