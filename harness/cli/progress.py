"""A rich reporter for ``segarena run``: one line per job, a progress bar for long steps."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from harness.plan import Job


class RichReporter:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )
        self.task: TaskID | None = None
        self.n_skipped = 0

    def __enter__(self) -> RichReporter:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def job_started(self, job: Job, index: int, total: int) -> None:
        if self.task is not None:
            self._bar.remove_task(self.task)
        self.task = self._bar.add_task(f"[{index + 1}/{total}] {job.name}", total=None)
        if not self.console.is_terminal:
            self.console.print(f"[{index + 1}/{total}] {job.name} ...")

    def job_skipped(self, job: Job, reason: str) -> None:
        self.n_skipped += 1

    def job_finished(self, job: Job, status: str, duration_s: float, reason: str) -> None:
        if self.task is not None:
            self._bar.remove_task(self.task)
            self.task = None
        style = {"done": "green", "degraded": "yellow"}.get(status, "red")
        line = f"[{style}]{status:>8}[/] {job.name} ({duration_s:.1f} s)"
        if reason:
            line += f"\n         {reason.splitlines()[0][:300]}"
        self.console.print(line, highlight=False)

    def progress(self, total: int | None, advance: int) -> None:
        if self.task is None:
            return
        if total is not None:
            self._bar.update(self.task, total=total)
        if advance:
            self._bar.advance(self.task, advance)
