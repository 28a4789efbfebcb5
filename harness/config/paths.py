"""Where a benchmark may write: never the filesystem root, the home folder, the checkout, the cache,
or a folder that holds the benchmark file (a report or run folder there would sit on top of the user's files)."""

from __future__ import annotations

from pathlib import Path

from harness.settings import cache_dir, repo_root


def output_path_problem(path: Path, benchmark_file: Path | None = None) -> str | None:
    """Why ``path`` (an absolute output folder) is not a safe place to write, or None when it is."""
    target = path.expanduser().resolve()
    protected: list[tuple[str, Path]] = [("the filesystem root", Path(target.anchor or "/")),
                                         ("your home folder", Path.home().resolve()),
                                         ("the SegArena checkout", repo_root()),
                                         ("the dataset cache", cache_dir())]
    for what, folder in protected:
        if target == folder:
            return f"{target} is {what}; choose a folder of its own (e.g. reports/<name> next to the benchmark file)"
        if folder.is_relative_to(target):
            return f"{target} holds {what} ({folder}); choose a folder of its own inside it"
    if benchmark_file is not None:
        bench = benchmark_file.expanduser().resolve()
        if bench.is_relative_to(target):
            return f"{target} holds the benchmark file {bench}; choose a subfolder, e.g. {bench.parent / 'report'}"
    return None
