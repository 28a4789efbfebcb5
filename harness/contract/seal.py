"""The model seal: a sha256 of every file train left in its model folder, checked before and after predict."""

from __future__ import annotations

from pathlib import Path

from harness.errors import JobFailedError
from harness.executors.isolation import compare_trees, hash_tree


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
