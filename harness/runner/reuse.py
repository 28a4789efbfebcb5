"""Whether a job the store holds as complete can be reused: its outputs still there, a cached dataset unchanged."""

from __future__ import annotations

from harness.datasets.cache import entry_problems
from harness.settings import cache_dir
from harness.store.outputs import ConvertOutput, JobOutput
from harness.store.sqlite import JobRecord


def output_problems(output: JobOutput) -> list[str]:
    """Why a completed job's outputs cannot be reused (empty: they are all there and, for a cached dataset,
    unchanged): the first missing file or folder, or what no longer matches the cache entry's manifest."""
    missing = [path for path in output.paths() if not path.exists()]
    if missing:
        return [f"{missing[0]} is gone"]
    if isinstance(output, ConvertOutput):
        path = output.path.resolve()
        if path.is_relative_to(cache_dir()):  # a converted folder the user gave is theirs, never redone
            # Never trust the store alone: an entry left incomplete, or changed since, is converted again.
            return [f"the cached dataset no longer verifies: {problem}" for problem in entry_problems(path)]
    return []


def outputs_exist(output: JobOutput) -> bool:
    """Whether a completed job's outputs are still there (and, for a cached dataset, unchanged)."""
    return not output_problems(output)


def reusable_output(record: JobRecord | None) -> JobOutput | None:
    """The output of a job the store holds as complete whose files are still there; None: run it (again)."""
    if record is None or not record.is_complete or record.output is None or not outputs_exist(record.output):
        return None
    return record.output
