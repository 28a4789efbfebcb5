"""The converted-dataset cache shared by every run on this machine (``SEGARENA_CACHE``/datasets).

An entry is converted under the entry's lock in a unique staging folder and renamed into
place with its manifest (sha256 of every file, written last). A process that finds the entry
complete uses it; one that finds it missing, half-written or changed converts it again. So two
runs that need the same entry at once do the work once: one converts, the other waits on the
lock and then uses the finished entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.common.manifest import verify_manifest
from harness.common.paths import check_output_folder, folder_lock, is_created_by_segarena

if TYPE_CHECKING:
    from harness.datasets.adapter import DatasetAdapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    n_cases: int
    n_failed_subjects: int
    reused: bool


def entry_problems(path: Path, check_hashes: bool = True) -> list[str]:
    """Why the cache entry at ``path`` cannot be used as it is (empty: complete and unchanged)."""
    if not path.is_dir():
        return [f"{path}: missing"]
    if not is_created_by_segarena(path):
        return [f"{path}: not a folder SegArena created"]
    return verify_manifest(path, check_hashes)


def is_entry_intact(path: Path) -> bool:
    """Whether the cache entry at ``path`` is complete and every file matches its manifest."""
    return not entry_problems(path)


def _is_legacy_entry(path: Path) -> bool:
    """An entry written by a SegArena without markers: a common-format folder at a cache entry's path."""
    return (path / "dataset.json").is_file() and (path / "cases.csv").is_file()


def ensure_converted(
    adapter: DatasetAdapter,
    raw: Path,
    entry: Path,
    workers: int = 1,
    on_subject_done: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> CacheEntry:
    """Return the complete cache entry at ``entry``, converting ``raw`` into it unless it already is.

    ``entry`` is a path made by :func:`harness.common.paths.resolve_within` under the cache root;
    an unmarked common-format folder there (written before entries were marked) is replaced.
    """
    # imported here: checking an entry (``entry_problems``, a resume, ``segarena plan``) needs no imaging library
    from harness.datasets.convert import convert_locked, count_cases, count_failed_subjects

    target = check_output_folder(entry, "dataset cache entry", inputs=[raw], recognise=_is_legacy_entry)
    with folder_lock(target):
        problems = entry_problems(target)
        if not problems:
            log.info("using the converted dataset %s", target)
            return CacheEntry(target, count_cases(target), count_failed_subjects(target), reused=True)
        if target.exists():
            log.warning("converting %s again: %s", target, "; ".join(problems[:3]))
        summary = convert_locked(adapter, raw, target, workers, on_subject_done, on_start,
                                 recognise=_is_legacy_entry)
        return CacheEntry(target, summary.n_cases, summary.n_failed_subjects, reused=False)
