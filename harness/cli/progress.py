"""What ``segarena run`` shows: one live line per running job (job, where it runs, elapsed) and the overall bar.

On a terminal the lines are live (rich); otherwise (a log file, CI) it prints one plain line when a job
starts and one when it ends, never a bar or a carriage return.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from harness.plan import Job


class RichReporter:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True, disable=not self.live,
        )
        self._overall: TaskID | None = None
        self._tasks: dict[str, TaskID] = {}  # job key -> its live line
        self._lock = threading.Lock()  # progress() comes from the jobs' threads
        self.n_skipped = 0

    def __enter__(self) -> RichReporter:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def overall(self, settled: int, total: int) -> None:
        with self._lock:
            if self._overall is None:
                self._overall = self._bar.add_task("[bold]all jobs[/]", total=total)
            self._bar.update(self._overall, completed=settled, total=total)

    def job_started(self, job: Job, where: str) -> None:
        with self._lock:
            self._tasks[job.key] = self._bar.add_task(f"  {job.name} [dim]({where})[/]", total=None)
        if not self.live:
            self.console.print(f"   start {job.name} ({where})", highlight=False)

    def job_skipped(self, job: Job, reason: str) -> None:
        self.n_skipped += 1
        if reason != "complete in the store":
            self.console.print(f"[yellow] not run[/] {job.name}\n         {reason[:300]}", highlight=False)

    def job_finished(self, job: Job, status: str, duration_s: float, reason: str) -> None:
        with self._lock:
            task = self._tasks.pop(job.key, None)
            if task is not None:
                self._bar.remove_task(task)
        style = {"done": "green", "degraded": "yellow"}.get(status, "red")
        line = f"[{style}]{status:>8}[/] {job.name} ({duration_s:.1f} s)"
        if reason:
            line += f"\n         {reason.splitlines()[0][:300]}"
        self.console.print(line, highlight=False)

    def progress(self, job: Job, total: int | None, advance: int) -> None:
        with self._lock:
            task = self._tasks.get(job.key)
            if task is None:
                return
            if total is not None:
                self._bar.update(task, total=total)
            if advance:
                self._bar.advance(task, advance)
