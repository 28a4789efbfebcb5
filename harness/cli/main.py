"""``segarena``: run, plan, validate, schema, convert, validate-dataset, evaluate, list."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from harness.errors import SegArenaError

app = typer.Typer(help="SegArena: a containerised benchmark harness for medical image segmentation.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks and debug logs")] = False) -> None:
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def run(
    benchmark: Annotated[Path, typer.Argument(help="the benchmark file (benchmark.yaml)")],
    executor: Annotated[Optional[str], typer.Option(help="override the executor: a registered kind (local, docker, "  # noqa: UP045
                                                         "...; see `segarena list`)")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="at most N jobs at once (like make -j); "  # noqa: UP045
                                                "default: executor.jobs, else what the executor's CPU slots, "
                                                "memory and GPUs allow")] = None,
) -> None:
    """Run a whole benchmark: convert, split, train, predict, evaluate, report (resumes from the store).

    Jobs whose inputs are ready run at once, each holding its CPU slots (its torch threads), memory and GPUs."""
    from harness.cli.progress import RichReporter
    from harness.errors import ConfigError
    from harness.executors.kinds import EXECUTORS
    from harness.plan.check import check_benchmark
    from harness.runner import run_benchmark

    bench, datasets, methods = check_benchmark(benchmark)  # every problem of the file, before any job
    if executor is not None and executor not in EXECUTORS:  # after the file: its plugins.executors are imported
        raise ConfigError(f"--executor: {EXECUTORS.unknown_message(executor)}")
    with RichReporter(console) as reporter:
        summary = run_benchmark(bench, executor=executor, reporter=reporter, datasets=datasets, methods=methods,
                                jobs=jobs)
    if not summary.executed and not summary.failed:
        console.print(f"Nothing to do: all {len(summary.skipped)} jobs are complete in {summary.run_dir / 'store.sqlite'}.")
    else:
        console.print(f"Executed {len(summary.executed)} jobs, skipped {len(summary.skipped)} complete ones, "
                      f"{len(summary.failed)} failed.")
    if summary.failed:
        console.print("[red]Failures:[/]")
        for name, reason in summary.failed:
            console.print(f"  - {name}: {reason.splitlines()[0][:300] if reason else ''}", highlight=False)
        if summary.not_run:
            console.print(f"  ({len(summary.not_run)} dependent jobs were not run)")
    if summary.report:
        console.print(f"Report: {summary.report}")
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def validate(benchmark: Annotated[Path, typer.Argument(help="the benchmark file")]) -> None:
    """Check a benchmark file without running it (schema, names, ids, dataset options, method parameters and
    their bounds, paths that must exist, output folders); list every problem; exit 0 if valid, 2 otherwise."""
    from harness.plan.check import check_benchmark

    bench, _, _ = check_benchmark(benchmark)
    console.print(f"{benchmark}: valid ({len(bench.datasets)} datasets, {len(bench.methods)} methods)")


@app.command()
def schema() -> None:
    """Print the JSON Schema of benchmark.yaml (for editors)."""
    from harness.config import json_schema

    sys.stdout.write(json_schema() + "\n")


@app.command("validate-dataset")
def validate_dataset_command(
    folder: Annotated[Path, typer.Argument(help="a common-format dataset folder")],
    quick: Annotated[bool, typer.Option(help="check files and tables only, not pixels")] = False,
) -> None:
    """List every problem of a converted dataset (exit 2 if any, an empty dataset included)."""
    from harness.common import validate_dataset

    problems = validate_dataset(folder, check_pixels=not quick)
    if not problems:
        from harness.common.dataset import CommonDataset

        console.print(f"{folder}: valid ({len(CommonDataset.open(folder).cases)} cases)", highlight=False)
        return
    for problem in problems:
        console.print(f"- {problem}", highlight=False)
    console.print(f"{len(problems)} problem(s)")
    raise typer.Exit(2)


@app.command()
def convert(
    name: Annotated[str, typer.Argument(help="a registered dataset")],
    raw: Annotated[Path, typer.Option(help="the raw folder")],
    out: Annotated[Path, typer.Option(help="where to write the common format: a new or empty folder, or one "
                                           "SegArena wrote before")],
    workers: Annotated[int, typer.Option(help="parallel subjects")] = 2,
    force: Annotated[bool, typer.Option("--force", help="--out holds files SegArena did not create: move them "
                                                        "aside to <out>.replaced-<time> (nothing is deleted)")] = False,
) -> None:
    """Convert one raw dataset into the common format (exit 2 if no case converted)."""
    from rich.progress import Progress

    from harness.datasets import DatasetRegistry, convert_dataset

    adapter = DatasetRegistry().adapter(name)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"convert {name}", total=None)
        summary = convert_dataset(adapter, raw, out, workers,
                                  on_start=lambda n: progress.update(task, total=n),
                                  on_subject_done=lambda _s: progress.advance(task), force=force)
    if summary.moved_aside is not None:
        console.print(f"The former contents of {summary.out} are now in {summary.moved_aside}", highlight=False)
    console.print(f"{summary.n_cases} cases from {summary.n_subjects} subjects written to {summary.out}; "
                  f"{summary.n_failed_subjects} subjects failed (see {summary.out / 'conversion_log.csv'})",
                  highlight=False)
    for event in summary.events:
        if event.severity == "error":
            console.print(f"  - {event.subject}: {event.detail}", highlight=False)


@app.command("list")
def list_components() -> None:
    """List every registered component: datasets, methods, executors, published importers, metrics,
    conventions (an unavailable one with the reason)."""
    from harness.datasets import DatasetRegistry
    from harness.executors.kinds import EXECUTORS
    from harness.methods import MethodRegistry
    from harness.metrics.catalog import METRICS
    from harness.metrics.conventions import CONVENTION_REGISTRY
    from harness.published.importers import IMPORTERS
    from harness.registry import Registry

    datasets, methods = DatasetRegistry(), MethodRegistry()
    sections: list[tuple[str, Registry[object], dict[str, str]]] = [
        ("Datasets", datasets.registry, {n: datasets.card(n).title for n in datasets.names()}),  # type: ignore[list-item]
        ("Methods", methods.registry, {n: methods.card(n).title for n in methods.names()}),  # type: ignore[list-item]
        ("Executors", EXECUTORS, {}), ("Published importers", IMPORTERS, {}),  # type: ignore[list-item]
        ("Metrics", METRICS, {}), ("Conventions", CONVENTION_REGISTRY, {}),  # type: ignore[list-item]
    ]
    for heading, registry, titles in sections:
        console.print(f"{heading}:")
        for name in registry.names():
            text = titles.get(name) or registry.description(name)
            reason = registry.reason(name)
            console.print(f"  {name:<20} {text}" + (f" [yellow](unavailable: {reason})[/]" if reason else ""),
                          highlight=False)


def _register_optional() -> None:
    from harness.cli import containers, evaluate, method, plan, report

    for module in (report, plan, evaluate, method, containers):
        module.register(app)


_register_optional()


def main() -> None:
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except SegArenaError as err:
        if _state["debug"]:
            raise
        err_console.print(f"[red]error:[/] {err}", highlight=False)
        sys.exit(err.exit_code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as err:
        if _is_usage_error(err):  # unknown command or option, missing argument: usage line + did-you-mean
            err.show()  # type: ignore[attr-defined]
            sys.exit(int(getattr(err, "exit_code", 2)) or 2)
        raise


def _is_usage_error(err: BaseException) -> bool:
    """A click usage error (typer vendors click as ``typer._click``, so match either copy's classes)."""
    import click

    return isinstance(err, (click.exceptions.ClickException, typer.TyperException)) and hasattr(err, "show")


if __name__ == "__main__":
    main()
