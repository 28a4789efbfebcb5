"""``segarena plan FILE``: which jobs a run would skip and which it would run, and why (nothing runs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from harness.runner.explain import Explanation, JobState

#: Colours of the states in the table (a terminal only).
_STYLES = {"complete": "green", "new": "cyan", "failed before": "red", "outputs missing": "yellow",
           "params changed": "magenta", "upstream changed": "magenta", "changed": "magenta", "waits for": "blue"}


def plan(
    benchmark: Annotated[Path, typer.Argument(help="the benchmark file (benchmark.yaml)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the jobs and the summary as JSON data")] = False,
    show_all: Annotated[bool, typer.Option("--all/--pending", help="show every job, or only those a run would "
                                                                   "run (--pending)")] = True,
) -> None:
    """Show what `segarena run` would do, running nothing: every job with its state (complete, or would run)
    and why (new, params changed, upstream changed, changed, failed before, outputs missing, waits for)."""
    from harness.plan import build_plan
    from harness.plan.check import check_benchmark
    from harness.runner.explain import explain_benchmark

    bench, datasets, methods = check_benchmark(benchmark)  # every problem of the file, as `segarena run` does
    assert bench.run_dir is not None
    explanation = explain_benchmark(build_plan(bench, datasets, methods), bench.run_dir)
    shown = [job for job in explanation.jobs if show_all or job.would_run]
    if as_json:
        data = explanation.as_data()
        data["benchmark"] = bench.name
        data["run_dir"] = str(bench.run_dir)
        data["jobs"] = [job.as_data() for job in shown]
        sys.stdout.write(json.dumps(data, indent=1, default=str) + "\n")
        return
    from rich.console import Console

    _print(Console(soft_wrap=True), explanation, shown)


def _reason(job: JobState) -> str:
    if job.after and job.state not in ("waits for", "upstream changed"):
        return f"{job.reason}; runs after {', '.join(job.after[:2])}{' …' if len(job.after) > 2 else ''}"
    return job.reason


def _print(console: Console, explanation: Explanation, shown: list[JobState]) -> None:
    hidden = len(explanation.jobs) - len(shown)
    if console.is_terminal:
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False, expand=False)
        for column in ("kind", "job", "state", "reason"):
            table.add_column(column, overflow="fold")
        for job in shown:
            style = _STYLES.get(job.state, "")
            table.add_row(job.kind, job.name, f"[{style}]{job.state}[/]" if style else job.state, _reason(job))
        if shown:
            console.print(table, highlight=False)
    else:  # one line per job: kind, name, state, reason, tab-separated (for grep, cut, awk)
        lines = ("\t".join((job.kind, job.name, job.state, " ".join(_reason(job).split()))) for job in shown)
        console.file.write("".join(f"{line}\n" for line in lines))  # as is: rich would expand the tabs
    if hidden:
        console.print(f"({hidden} complete jobs not shown; --all shows them)", highlight=False)
    where = f" (store: {explanation.store})" if explanation.store else " (no store yet)"
    console.print(explanation.summary() + where, highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command to the ``segarena`` app."""
    app.command("plan")(plan)
