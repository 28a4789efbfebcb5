"""The report in a real browser (Debian's Chromium driven by Playwright), opened from file:// as a reader would."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.report.test_report import report  # noqa: F401  (module fixture: a rendered tiny report)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`apt-get install chromium`; .ci/run does it)"),
]

#: Elements whose right edge passes the viewport's, outside a box that scrolls on its own (.scroll).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  document.querySelectorAll('body *').forEach(e => {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1 && !e.closest('.scroll')) out.push(e.tagName + '.' + e.className);
  });
  return {width: width, scrollWidth: document.documentElement.scrollWidth, wide: out.slice(0, 10)};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


def open_page(browser: Any, index: Path, width: int = 1280) -> tuple[Any, dict[str, list[str]]]:
    seen: dict[str, list[str]] = {"requests": [], "failed": [], "errors": [], "console": []}
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("requestfailed", lambda r: seen["failed"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    page.goto(index.as_uri())
    page.wait_for_load_state("load")
    return page, seen


def test_loads_offline_with_no_error_and_every_overlay_image_loads(browser: Any, report: Path) -> None:  # noqa: F811
    page, seen = open_page(browser, report)
    assert "SegArena benchmark" in page.title()
    images = page.locator("figure.overlay img")
    assert images.count() >= 3  # best, median and worst of each method
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()  # loading="lazy": fetched once near the viewport
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    broken = page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    page.screenshot(path=str(report.parent / "screenshot.png"), full_page=True)
    page.close()
    assert broken == []
    assert seen["errors"] == [] and seen["console"] == [] and seen["failed"] == []
    assert seen["requests"] and all(url.startswith("file://") for url in seen["requests"])  # nothing from the network
    assert (report.parent / "screenshot.png").stat().st_size > 10_000


@pytest.mark.parametrize("width", [1280, 390])
def test_no_element_is_wider_than_the_viewport(browser: Any, report: Path, width: int) -> None:  # noqa: F811
    page, _ = open_page(browser, report, width)
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")  # the widest state
    measured = page.evaluate(OVERFLOW)
    boxes = page.evaluate("""() => [...document.querySelectorAll('.scroll')].filter(b => b.scrollWidth > b.clientWidth).length""")
    page.close()
    assert measured["wide"] == [] and measured["scrollWidth"] <= measured["width"], measured
    if width == 390:
        assert boxes > 0  # the leaderboards do not fit a phone: they scroll inside their own box


def test_sorting_columns_and_links_to_the_cases(browser: Any, report: Path) -> None:  # noqa: F811
    page, seen = open_page(browser, report)
    table = page.locator("table.leaderboard").first
    index = table.locator("thead th").all_inner_texts().index("dice")

    def dice_column() -> list[float]:
        return [float(v) for v in table.locator(f"tbody tr td:nth-child({index + 1})").evaluate_all(
            "cells => cells.map(c => c.getAttribute('data-sort'))")]

    header = table.locator("thead th").nth(index)
    header.click()
    ascending = dice_column()
    assert ascending == sorted(ascending)
    header.click()
    assert dice_column() == sorted(ascending, reverse=True)

    board = page.locator(".board").first
    board.locator("details.columns summary").click()
    board.locator("details.columns input[data-column='iou']").uncheck()
    assert board.locator("table.leaderboard th[data-column='iou']").is_hidden()
    assert board.locator("table.leaderboard th[data-column='dice']").is_visible()

    link = table.locator("tbody tr td.entry a").first
    target = link.get_attribute("href")
    assert target and target.startswith("#cases-")
    link.click()
    assert page.evaluate("() => location.hash") == target
    cases = page.locator(target)
    assert cases.locator("img").count() >= 1 and cases.locator("img").first.is_visible()
    page.close()
    assert seen["errors"] == []


def test_print_shows_folded_parts_and_hides_the_controls(browser: Any, report: Path) -> None:  # noqa: F811
    page, _ = open_page(browser, report)
    page.emulate_media(media="print")
    assert page.locator("nav").is_hidden()
    assert page.locator("details.columns").first.is_hidden()
    overflow = page.evaluate("() => getComputedStyle(document.querySelector('.scroll')).overflowX")
    closed = page.evaluate("() => [...document.querySelectorAll('details')].filter(d => !d.open).length")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    still_closed = page.evaluate("() => [...document.querySelectorAll('details')].filter(d => !d.open).length")
    pdf = page.pdf(format="A4")
    page.close()
    assert overflow == "visible" and pdf[:4] == b"%PDF" and len(pdf) > 20_000
    assert closed > 0 and still_closed == 0  # printing opens the folded parts
