"""Write the report site as one unit: a staging folder beside ``report.out``, swapped in when complete.

A kill during the report leaves either the old complete site or the new one, so ``metrics.csv``
and ``index.html`` always come from the same render. ``report.out`` must be new, empty or a
site SegArena wrote (see :func:`harness.common.paths.check_output_folder`).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from pathlib import Path

from harness.common.paths import (
    FolderLock,
    UnsafePathError,
    check_output_folder,
    discard_staging,
    make_staging,
    remove_stale_staging,
    swap_in,
)

# what render_report writes; an unmarked folder holding only these, with a SegArena report.json,
# is a site written before sites were marked and may be replaced
SITE_ENTRIES = frozenset({"index.html", "metrics.csv", "subjects.csv", "ef_summary.csv", "report.json", "assets"})


def is_previous_site(folder: Path) -> bool:
    """Whether ``folder`` is a report SegArena wrote before it marked its folders."""
    names = {p.name for p in folder.iterdir()}
    if not names <= SITE_ENTRIES or "report.json" not in names:
        return False
    try:
        meta = json.loads((folder / "report.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(meta, dict) and {"benchmark", "generated", "versions"} <= set(meta)


def _abandon(staging: Path, lock: FolderLock) -> None:
    discard_staging(staging)
    lock.release()


class SiteWriter:
    """Holds the lock of ``report.out`` and a staging folder to write into; :meth:`commit` swaps it in.

    An abandoned writer (the render raised) deletes its staging folder when collected; one left
    by a killed process is deleted by the next writer of the same site.
    """

    def __init__(self, out: Path, keep: Sequence[Path] = ()) -> None:
        self.target = check_output_folder(out, "report.out", keep=keep, recognise=is_previous_site)
        self._lock = FolderLock(self.target)
        self._lock.acquire()
        remove_stale_staging(self.target)
        self.folder = make_staging(self.target, "report")
        self._finalizer = weakref.finalize(self, _abandon, self.folder, self._lock)

    def commit(self) -> Path:
        """Put the complete site in place (one atomic exchange) and return its folder."""
        try:
            swap_in(self.folder, self.target, recognise=is_previous_site)
        except UnsafePathError:  # someone else wrote there meanwhile: keep the new site where the error says
            self._finalizer.detach()
            self._lock.release()
            raise
        self._finalizer.detach()
        self._lock.release()
        return self.target
