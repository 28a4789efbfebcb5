"""The report in a real browser (Debian's Chromium driven by Playwright), opened from file://."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.report.test_report import report  # noqa: F401  (module fixture: a rendered tiny report)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`apt-get install chromium`; .ci/run does it)"),
]


def test_report_renders_offline_and_sorts(report: Path) -> None:  # noqa: F811
    playwright = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.as_uri())
        assert "SegArena benchmark" in page.title()
        boards = page.locator("table.leaderboard")
        assert boards.count() == 3  # LV, MYO, RV of demo_cine
        table = boards.first
        dice_header = table.locator("thead th", has_text="dice").first
        index = table.locator("thead th").all_inner_texts().index("dice")

        def dice_column() -> list[float]:
            return [float(v) for v in table.locator(f"tbody tr td:nth-child({index + 1})").evaluate_all(
                "cells => cells.map(c => c.getAttribute('data-sort'))")]

        dice_header.click()
        ascending = dice_column()
        assert ascending == sorted(ascending)
        dice_header.click()
        assert dice_column() == sorted(ascending, reverse=True)
        page.screenshot(path=str(report.parent / "screenshot.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests  # nothing from the network
    assert (report.parent / "screenshot.png").stat().st_size > 10_000
