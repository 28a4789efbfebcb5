"""The report's leaderboards show exactly the numbers in metrics.csv."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from harness.config import load_benchmark
from harness.runner import run_benchmark
from tests.conftest import TINY_DEMO


class LeaderboardParser(HTMLParser):
    """Collect (dataset, label, entry, metric) → data-sort value from the leaderboard tables."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str, str, str], float] = {}  # the all-frames boards
        self.phases: dict[tuple[str, str, str, str, str], float] = {}  # (phase, dataset, label, entry, metric)
        self.board: tuple[str, str] | None = None
        self.phase = ""
        self.entry: str | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and "leaderboard" in (a.get("class") or ""):
            self.board = (a["data-dataset"] or "", a["data-label"] or "")
            self.phase = a.get("data-phase") or ""
        elif tag == "tr" and self.board and a.get("data-entry"):
            self.entry = a["data-entry"]
        elif tag == "td" and self.board and self.entry and a.get("data-metric"):
            value = float(a["data-sort"] or "nan")
            if self.phase:
                self.phases[(self.phase, *self.board, self.entry, a["data-metric"] or "")] = value
            else:
                self.values[(*self.board, self.entry, a["data-metric"] or "")] = value
        for name in ("src", "href"):
            if a.get(name, "") and str(a[name]).startswith(("http:", "https:", "//")):
                self.external.append(str(a[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.board = None
        elif tag == "tr":
            self.entry = None


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import FIXTURES

    tmp = tmp_path_factory.mktemp("report")
    path = tmp / "b.yaml"
    path.write_text(
        f"schema_version: 1\nname: r\nplugins: {{methods: [{FIXTURES / 'methods'}]}}\n"
        f"report: {{out: {tmp / 'site'}}}\nrun_dir: {tmp / 'run'}\n" + TINY_DEMO
        + "methods:\n  - name: threshold_baseline\n  - name: threshold_baseline\n    id: narrow\n"
          "    params: {myocardium_width_mm: 4.0}\n"
    )
    summary = run_benchmark(load_benchmark(path))
    assert summary.ok and summary.report is not None
    return summary.report


def test_leaderboard_rows_match_metrics_csv(report: Path) -> None:
    metrics = pd.read_csv(report.parent / "metrics.csv")
    assert {"dataset", "method", "case", "label", "metric", "value", "regime", "subset", "fold", "seed"} <= set(metrics.columns)
    parser = LeaderboardParser()
    parser.feed(report.read_text())
    expected = metrics.groupby(["dataset", "label", "method", "metric"])["value"].mean()
    assert len(parser.values) == len(expected) > 0
    for (dataset, label, method, metric), value in expected.items():
        assert parser.values[(dataset, label, method, metric)] == pytest.approx(value, rel=1e-9, abs=1e-12)
    by_phase = metrics.groupby(["phase", "dataset", "label", "method", "metric"])["value"].mean()
    assert set(metrics["phase"]) == {"ED", "ES"} and len(parser.phases) == len(by_phase) > 0  # per-phase boards
    for key, value in by_phase.items():
        assert parser.phases[key] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_report_is_self_contained_and_ranked(report: Path) -> None:
    html = report.read_text()
    parser = LeaderboardParser()
    parser.feed(html)
    assert parser.external == []  # no CDN: works from file://
    assert (report.parent / "assets" / "sort.js").is_file() and (report.parent / "assets" / "style.css").is_file()
    assert "Ejection fraction" in html and "|ΔEF|" in html
    assert "agreement with the truth" in html and "limits of agreement" in html
    ef = pd.read_csv(report.parent / "ef_summary.csv")
    assert list(ef.columns) == ["method", "mean", "sd", "median", "iqr"] and len(ef) == 2
    # rank 1 has the highest mean Dice in each leaderboard
    dice = {k: v for k, v in parser.values.items() if k[3] == "dice"}
    for board in {(d, lab) for d, lab, _, _ in dice}:
        ordered = [v for (d, lab, _, _), v in dice.items() if (d, lab) == board]
        assert ordered == sorted(ordered, reverse=True)


def test_rendering_again_gives_the_same_site(report: Path, tmp_path: Path) -> None:
    """Seeded bootstrap, deterministic figures and PNGs: only the generation time differs."""
    import re

    from harness.runner.reporting import render_from_store

    bench = load_benchmark(report.parent.parent / "b.yaml")
    again = bench.model_copy(update={"report": bench.report.model_copy(update={"out": tmp_path / "again"})})
    index, _, _ = render_from_store(again)

    def page(path: Path) -> str:
        return re.sub(r"generated [0-9: -]+[A-Z]*", "generated …", path.read_text())

    assert page(index) == page(report)
    first = {p.relative_to(report.parent): p.read_bytes() for p in (report.parent / "images").rglob("*.png")}
    second = {p.relative_to(index.parent): p.read_bytes() for p in (index.parent / "images").rglob("*.png")}
    assert first and first == second
