"""Tree hashes: the model seal (every file train left, checked around predict) and the inputs' check around a job."""

from __future__ import annotations

import os
from pathlib import Path

from harness.common.manifest import file_sha256
from harness.errors import JobFailedError


def hash_tree(root: Path) -> dict[str, str]:
    """``relative path → sha256`` of every file under ``root`` (a single file: its own name)."""
    if root.is_file():
        return {root.name: file_sha256(root)}
    hashes: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            hashes[path.relative_to(root).as_posix()] = file_sha256(path)
    return hashes


def compare_trees(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """What differs, one line per file: ``changed x``, ``added y``, ``removed z``."""
    problems = [f"changed {name}" for name in sorted(expected) if name in actual and actual[name] != expected[name]]
    problems += [f"removed {name}" for name in sorted(set(expected) - set(actual))]
    problems += [f"added {name}" for name in sorted(set(actual) - set(expected))]
    return problems


def seal_model(folder: Path) -> dict[str, str]:
    """The model's seal: ``relative path → sha256`` of every file train left in it (recorded in the train job)."""
    return hash_tree(folder)


def check_model_seal(folder: Path, seal: dict[str, str] | None, when: str) -> None:
    """Fail when the model folder differs from what its train job sealed; a job recorded without a seal passes."""
    if seal is None:
        return
    problems = compare_trees(seal, hash_tree(folder) if folder.is_dir() else {})
    if problems:
        shown = ", ".join(problems[:5]) + (f", … ({len(problems)} in all)" if len(problems) > 5 else "")
        raise JobFailedError(
            f"the model folder {folder} changed after training ({when}): {shown}; the sha256 seal its train job "
            f"recorded no longer matches. Delete {folder} so that the next run trains it again"
        )
