"""``segarena report publish RUN_OR_BENCH DIR``: the report site, ready for any static host.

The source is a benchmark file (its ``report.out``), a run folder (the site its store's report job wrote) or a
site folder itself. The copy holds every file of the site (``index.html``, ``assets/``, ``images/``, the CSVs,
``report.json``) and nothing else; every local link of the page is checked to resolve inside the copy before
it is put in place (written in staging, swapped in: an interrupted publish leaves the old folder as it was).

``DIR`` must be new, empty or a folder published before; a folder holding anything else is refused unless
``force``, and then its former contents are moved aside to ``DIR.replaced-<time>``, never deleted.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from harness.common.paths import (
    MARKER,
    FolderLock,
    check_output_folder,
    discard_staging,
    make_staging,
    mark_created,
    remove_stale_staging,
    swap_in,
)
from harness.errors import InputDataError

_LINK = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Published:
    folder: Path
    source: Path
    files: int
    bytes: int
    moved_aside: Path | None


def find_site(target: Path) -> Path:
    """The report site folder that ``target`` (benchmark file, run folder or site folder) stands for."""
    if target.is_file():
        from harness.config import load_benchmark

        site = load_benchmark(target).report.out
        where = f"{target} (report.out = {site})"
    elif (target / "index.html").is_file():
        site, where = target, str(target)
    elif (target / "store.sqlite").is_file():
        site, where = _site_of_run(target), f"the run folder {target}"
    elif target.is_dir():
        raise InputDataError(f"{target} is neither a report site (no index.html), nor a run folder (no "
                             "store.sqlite); give a benchmark file, its run folder or its report folder")
    else:
        raise InputDataError(f"{target} does not exist; give a benchmark file, its run folder or its report folder")
    if not (site / "index.html").is_file():
        raise InputDataError(f"{where}: no report there yet ({site / 'index.html'} is missing); run the "
                             "benchmark (`segarena run`) or render it (`segarena report FILE`) first")
    return site


def _site_of_run(run: Path) -> Path:
    from harness.store import Store
    from harness.store.outputs import ReportOutput

    store = Store.open_read_only(run / "store.sqlite")
    if store is None:
        raise InputDataError(f"{run / 'store.sqlite'} cannot be read as a SegArena run store")
    try:
        reports = [r for r in store.all() if r.kind == "report" and r.status == "done"
                   and isinstance(r.output, ReportOutput)]
    finally:
        store.close()
    if not reports:
        raise InputDataError(f"the run folder {run} has no finished report job; run the benchmark first")
    latest = max(reports, key=lambda r: r.finished_at or 0)
    assert isinstance(latest.output, ReportOutput)
    return latest.output.index.parent


def local_links(index: Path) -> list[str]:
    """Every relative link (src / href) of the page, without query or fragment."""
    links = []
    for raw in _LINK.findall(index.read_text(errors="replace")):
        parts = urlsplit(raw)
        if parts.scheme or parts.netloc or raw.startswith(("#", "/", "data:", "mailto:")):
            continue
        if parts.path:
            links.append(unquote(parts.path))
    return links


def publish_site(target: Path, out: Path, force: bool = False) -> Published:
    """Copy the site ``target`` stands for into ``out``; see the module docstring for the rules."""
    site = find_site(target).resolve()
    destination = check_output_folder(out, "DIR", inputs=[site], force=force,
                                      force_hint="pass --force to move its contents aside and publish there")
    lock = FolderLock(destination)
    lock.acquire()
    staging: Path | None = None
    try:
        remove_stale_staging(destination)
        staging = make_staging(destination, "publish")
        files = total = 0
        for path in sorted(site.rglob("*")):
            relative = path.relative_to(site)
            if relative.parts[0].startswith(".") or path.is_symlink():
                continue  # SegArena's own markers and locks; a link would point outside the copy
            if path.is_dir():
                (staging / relative).mkdir(parents=True, exist_ok=True)
            elif path.is_file():
                (staging / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, staging / relative)
                files += 1
                total += path.stat().st_size
        missing = [link for link in local_links(staging / "index.html")
                   if not (staging / link).resolve().is_relative_to(staging.resolve())
                   or not (staging / link).is_file()]
        if missing:
            raise InputDataError(f"{site}: the page links to files that are not in the site ("
                                 f"{', '.join(sorted(set(missing))[:5])}); render it again (`segarena report FILE`)")
        mark_created(staging, "published")
        aside = swap_in(staging, destination, force=force)
        staging = None
        return Published(destination, site, files, total, aside)
    finally:
        if staging is not None:
            discard_staging(staging)
        lock.release()


__all__ = ["MARKER", "Published", "find_site", "local_links", "publish_site"]
