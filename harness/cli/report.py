"""``segarena report FILE`` (render again from the store) and ``segarena report publish RUN_OR_BENCH DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

console = Console(soft_wrap=True)


class _RenderByDefault(TyperGroup):
    """``segarena report FILE [...]`` is ``segarena report render FILE [...]``: any first word that is not a
    subcommand (a file, a folder) goes to ``render``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["render", *args]
        return super().parse_args(ctx, args)


report_app = typer.Typer(cls=_RenderByDefault, no_args_is_help=True, add_completion=False,
                         help="Render the report again from the run store, running no job (e.g. another title "
                              "or ranking metric), or publish it to a folder for a static host.")


@report_app.command("render")
def render(
    benchmark: Annotated[Path, typer.Argument(help="the benchmark file")],
    out: Annotated[Optional[Path], typer.Option(help="write the site here instead of report.out")] = None,  # noqa: UP045
    title: Annotated[Optional[str], typer.Option(help="instead of report.title")] = None,  # noqa: UP045
    rank_by: Annotated[Optional[str], typer.Option(help="the metric that orders each leaderboard, instead of report.rank_by")] = None,  # noqa: UP045
    scheme: Annotated[Optional[str], typer.Option(help="ranking scheme instead of report.ranking.scheme: aggregate_then_rank | rank_then_aggregate | test_then_rank")] = None,  # noqa: UP045
) -> None:
    """Render the report again from the run store, running no job (`segarena report FILE` for short)."""
    from pydantic import ValidationError

    from harness.config import load_benchmark
    from harness.config.models import ReportSettings
    from harness.config.paths import output_path_problem
    from harness.errors import ConfigError
    from harness.runner import render_from_store

    bench = load_benchmark(benchmark)
    if out is not None and (problem := output_path_problem(out, benchmark)) is not None:
        raise ConfigError(f"--out: {problem}")
    changes: dict[str, Any] = {k: v for k, v in {"out": out.resolve() if out else None, "title": title,
                                                 "rank_by": rank_by}.items() if v is not None}
    if scheme is not None:
        changes["ranking"] = {**bench.report.ranking.model_dump(), "scheme": scheme}
    if changes:
        try:
            settings = ReportSettings.model_validate({**bench.report.model_dump(), **changes})
        except ValidationError as err:
            first = err.errors()[0]
            raise ConfigError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from err
        bench = bench.model_copy(update={"report": settings})
    index, shown, pending = render_from_store(bench)
    console.print(f"Report: {index} ({shown} complete jobs"
                  f"{f'; {pending} not complete yet, shown as missing' if pending else ''})", highlight=False)


@report_app.command("publish")
def publish(
    source: Annotated[Path, typer.Argument(metavar="RUN_OR_BENCH", help="a benchmark file, its run folder or its report folder")],
    out: Annotated[Path, typer.Argument(metavar="DIR", help="the folder to publish into: new, empty or published before")],
    force: Annotated[bool, typer.Option("--force", help="publish into a non-empty folder; its former contents are moved aside to DIR.replaced-<time>, never deleted")] = False,
) -> None:
    """Copy the self-contained report site (page, images, CSVs, report.json) into DIR, ready for any static host."""
    from harness.report.publish import publish_site

    result = publish_site(source, out, force=force)
    console.print(f"Published {result.files} files ({result.bytes / 2**20:.1f} MB) from {result.source} to "
                  f"{result.folder}", highlight=False)
    if result.moved_aside is not None:
        console.print(f"Its former contents are in {result.moved_aside}", highlight=False)
    console.print(f"Open {result.folder / 'index.html'}, or serve the folder with any static web server "
                  f"(e.g. `python -m http.server -d {result.folder}`)", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
