"""``segarena evaluate``: score a folder of predicted masks against reference masks, write a long CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harness.errors import ConfigError, InputDataError
from harness.metrics.conventions import CONVENTION_NAMES  # a plain tuple: harness.metrics loads lazily

if TYPE_CHECKING:
    from harness.metrics.settings import MetricsSettings
    from harness.metrics.structures import Structures


def _structures(dataset_json: Path | None, labels: list[str] | None) -> Structures:
    from harness.metrics.structures import parse_label_items, structures_from_dataset_json

    if dataset_json is not None and labels:
        raise ConfigError("give either --dataset-json or --labels, not both")
    if dataset_json is not None:
        return structures_from_dataset_json(dataset_json)
    if labels:
        return parse_label_items(labels)
    raise ConfigError("say what to evaluate: --dataset-json FILE (its 'labels') or --labels NAME=V[,V...] (repeatable)")


def _settings(convention: str, nsd_tolerance_mm: float) -> MetricsSettings:
    from harness.metrics.settings import MetricsSettings

    if convention not in CONVENTION_NAMES:
        raise ConfigError(f"--convention {convention!r} is not one of {', '.join(CONVENTION_NAMES)}")
    if nsd_tolerance_mm < 0:
        raise ConfigError(f"--nsd-tolerance-mm {nsd_tolerance_mm} must be >= 0")
    return MetricsSettings(convention=convention, nsd_tolerance_mm=nsd_tolerance_mm)  # type: ignore[arg-type]


def _with_extra(settings: MetricsSettings, modules: list[str]) -> MetricsSettings:
    """``settings`` also scoring the metrics of the outside ``modules`` (after the selected ones)."""
    from harness.metrics.catalog import load_metric_modules

    names = load_metric_modules(modules)  # UnknownNameError (a ConfigError) with a did-you-mean for a bad module
    added = [n for n in names if n not in settings.names]
    return settings.model_copy(update={"extra": [*settings.extra, *modules], "names": [*settings.names, *added]})


def evaluate(
    reference: Annotated[Path, typer.Option("--reference", help="Folder of reference masks (.nii.gz, .nrrd, .mha).")],
    prediction: Annotated[Path, typer.Option("--prediction", help="Folder of predicted masks, same case names.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write: case, label, metric, value, status.")],
    dataset_json: Annotated[
        Path | None, typer.Option("--dataset-json", help="nnU-Net dataset.json whose 'labels' (or regions) to score.")
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option("--labels", help="A structure as NAME=V[,V...], e.g. LV=1 or WT=1,2,3; repeat.")
    ] = None,
    convention: Annotated[
        str, typer.Option("--convention", help=f"Surface-distance convention: {', '.join(CONVENTION_NAMES)}.")
    ] = "segarena",
    nsd_tolerance_mm: Annotated[float, typer.Option("--nsd-tolerance-mm", help="NSD tolerance in mm.")] = 2.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Cases scored in parallel (processes).")] = 1,
    metrics_extra: Annotated[
        list[str] | None,
        typer.Option("--metrics-extra", help="An outside metric module (dotted name) holding METRICS; repeat."),
    ] = None,
) -> None:
    """Score every reference case against its prediction (missing ones score as failures) and write a long CSV.

    A bad file fails only its case (a row with a status and a reason). Exit code 2 when a
    reference file cannot be used (its rows are ``reference_unreadable``) or the CSV cannot be written.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from harness.evaluation.csvfile import check_csv_writable
    from harness.evaluation.files import list_masks
    from harness.evaluation.folder import evaluate_folders

    structures = _structures(dataset_json, labels)
    settings = _settings(convention, nsd_tolerance_mm)
    if metrics_extra:
        settings = _with_extra(settings, metrics_extra)
    check_csv_writable(out, "--out")  # before anything is computed
    console = Console(stderr=True)
    n_cases = len(list_masks(reference, "reference"))
    progress = Progress(
        TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )  # fmt: skip
    with progress:
        task = progress.add_task("evaluate", total=n_cases)
        result = evaluate_folders(
            reference, prediction, structures, settings, out_csv=out, workers=workers,
            on_case_done=lambda _case: progress.advance(task),
        )  # fmt: skip
    console.print(f"scored {result.n_cases} case(s), {len(structures)} structure(s) → {result.out_csv} "
                  f"({result.n_rows} rows, convention {settings.convention})")  # fmt: skip
    for title, cases in (
        ("missing prediction (scored as failures)", result.missing_predictions),
        ("invalid prediction (scored as failures)", result.invalid_predictions),
        ("unreadable reference (rows reference_unreadable, in no ranking)", result.unreadable_references),
        ("prediction without reference (not scored)", result.unmatched_predictions),
    ):
        if cases:
            shown = ", ".join(cases[:10]) + (" …" if len(cases) > 10 else "")
            console.print(f"[yellow]{len(cases)} {title}:[/yellow] {shown}", highlight=False)
            for case in cases[:10]:
                if case in result.reasons:
                    console.print(f"  {case}: {result.reasons[case]}", highlight=False, markup=False)
    if result.unreadable_references:
        bad = result.unreadable_references
        raise InputDataError(
            f"{len(bad)} reference file(s) cannot be used ({', '.join(bad[:5])}{' …' if len(bad) > 5 else ''}); "
            f"their rows in {result.out_csv} have status reference_unreadable and NaN values. "
            "Replace those reference files and run again"
        )


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to the ``segarena`` app."""
    app.command("evaluate")(evaluate)
