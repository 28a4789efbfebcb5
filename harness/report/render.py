"""Render the static report site with jinja2 (autoescape on; the view model is built in Python)."""

from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader

from harness.config.models import Benchmark
from harness.metrics import describe_policy
from harness.report.inputs import ReportInputs
from harness.report.overlays import Overlay, draw_overlays
from harness.report.publishable import scrub
from harness.report.viewmodel import (
    Leaderboard,
    RankingChoice,
    consensus,
    ef_tables,
    factor_matrices,
    fmt,
    leaderboards,
    overview,
    slug,
    status_counts,
    study_tables,
    with_entries,
)
from harness.store.outputs import ReportOutput

ASSETS = Path(__file__).parent / "assets"
METRICS_COLUMNS = ["dataset", "method", "regime", "subset", "fold", "seed", "case", "subject", "phase", "frame",
                   "label", "metric", "value", "status"]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("segarena", "numpy", "scipy", "SimpleITK", "torch", "segmentation-models-pytorch", "monai",
                    "nnunetv2", "pydicom"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out


def _published(bench: Benchmark) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    sections: list[dict[str, Any]] = []
    tables = []
    for entry in bench.published:
        from harness.published import ef_error_table, import_published

        results = import_published(entry.kind, entry.path)
        table = ef_error_table(results, bench.clinical)
        tables.append(table)
        sections.append({
            "dataset": entry.dataset, "study": results.study, "path": str(entry.path),
            "rows": table.to_dict(orient="records"),
            "tables": [{"name": t.name, "title": t.title, "note": t.note, "columns": [str(c) for c in t.frame.columns],
                        "rows": t.frame.to_dict(orient="records"), "frame": t.frame} for t in results.tables],
            "provenance": [{"name": f.name, "sha256": f.sha256, "size": f.size_bytes} for f in results.provenance],
            "conventions": results.conventions,
        })
    return sections, (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame())


def render_report(bench: Benchmark, inputs: ReportInputs) -> ReportOutput:
    """Write the site from the tables in ``inputs`` (built by ``harness.runner.reporting``) and swap it in."""
    from harness.report.site import SiteWriter

    site = SiteWriter(bench.report.out, keep=[bench.run_dir] if bench.run_dir else [])
    out = site.folder  # every file goes into the staging folder; site.commit() swaps the whole site in
    hidden = inputs.hidden_paths
    metrics, subjects = _scrub_frame(inputs.metrics, hidden), _scrub_frame(inputs.subjects, hidden)
    if not metrics.empty:
        metrics = metrics.reindex(columns=METRICS_COLUMNS)
    metrics.to_csv(out / "metrics.csv", index=False)
    if not subjects.empty:
        subjects.to_csv(out / "subjects.csv", index=False)

    published, published_table = _published(bench)
    written = {"metrics.csv", "subjects.csv", "ef_summary.csv"}
    for pub in published:
        for table in pub["tables"]:
            name = f"{slug_file(table['name'])}.csv"
            if name in written:
                name = f"{slug_file(pub['dataset'])}_{name}"
            written.add(name)
            _scrub_frame(table.pop("frame"), hidden).to_csv(out / name, index=False)
            table["csv"] = name
    ef = ef_tables(subjects)
    agreement = []
    if not subjects.empty:
        from harness.stats.agreement import compute_agreement_table

        quantities = [q for q in ("edv_ml", "esv_ml", "ef_pct", "lv_mass_g")
                      if f"{q.rsplit('_', 1)[0]}_pred_{q.rsplit('_', 1)[1]}" in subjects]
        for dataset, group in subjects.groupby("dataset", sort=True):
            table = compute_agreement_table(group, quantities)
            agreement.append({"dataset": str(dataset), "rows": table.to_dict(orient="records")})
    ef_summary = [{"method": r["entry"], "mean": r["mean"], "sd": r["sd"], "median": r["median"], "iqr": r["iqr"]}
                  for table in ef for r in table["rows"]]
    if not published_table.empty:
        ef_summary += published_table[["method", "mean", "sd", "median", "iqr"]].to_dict(orient="records")
    if ef_summary:
        pd.DataFrame(ef_summary).to_csv(out / "ef_summary.csv", index=False)

    failures = [asdict(f) for f in inputs.failures]
    choice = RankingChoice(**bench.report.ranking.model_dump())
    boards = _with_figures(leaderboards(metrics, bench.report.rank_by, choice))
    overlays, overlay_problems = draw_overlays(inputs.overlays, out) if inputs.overlays else ([], [])
    compute = [asdict(c) for c in inputs.compute]
    headline = overview(boards, bench.report.rank_by)
    view = {
        "title": bench.report.title,
        "benchmark": bench.name,
        "description": bench.description,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rank_by": bench.report.rank_by,
        "ranking": choice,
        "datasets": _dataset_sections(boards, overlays),
        "overview": headline,
        "consensus": consensus(boards),
        "overlay_problems": overlay_problems,
        "bland_altman": _bland_altman(subjects),
        "ef_tables": ef,
        "matrices": factor_matrices(metrics, bench.report.rank_by),
        "agreement": agreement,
        "published": published,
        "policy": describe_policy(bench.metrics),
        "clinical": bench.clinical.model_dump(),
        "status_counts": status_counts(metrics),
        "failures": failures,
        "violations": [asdict(v) for v in inputs.violations],
        "compute": compute,
        "studies": study_tables(metrics, compute),
        "compute_figure": _compute_figure(compute, boards, bench.report.rank_by),
        "curves": [asdict(h) for h in inputs.histories],
        "provenance": [asdict(p) for p in inputs.provenance],
        "lineage": inputs.lineage,
        "versions": _versions(),
        "seeds": bench.factors.seeds,
        "splits": [asdict(row) for row in inputs.splits],
        "fmt": fmt,
        "has_metrics": not metrics.empty,
    }
    view = scrub(view, hidden)  # no absolute path of this machine on a published page (report.json: the same view)
    env = Environment(loader=PackageLoader("harness.report", "templates"), autoescape=True,  # every template
                      trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("index.html.j2").render(**view)
    (out / "index.html").write_text(html)
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    for asset in ASSETS.iterdir():
        shutil.copy2(asset, assets / asset.name)
    (out / "report.json").write_text(json.dumps({
        "benchmark": bench.name, "generated": view["generated"], "failures": view["failures"],
        "versions": view["versions"], "seeds": view["seeds"], "splits": view["splits"],
        "ranking": {**asdict(choice), "rank_by": bench.report.rank_by},
        "leaderboards": [_board_json(b) for b in boards], "consensus": view["consensus"],
        "overview": view["overview"], "compute": view["compute"],
        "overlays": [asdict(o) for d in view["datasets"] for o in d["overlays"]],
        "provenance": view["provenance"], "lineage": view["lineage"], "published": [
            {k: v for k, v in pub.items() if k in ("dataset", "study", "path", "provenance", "conventions")}
            | {"tables": [t["csv"] for t in pub["tables"]]} for pub in view["published"]],
    }, indent=2, default=_json_default))
    out = site.commit()
    return ReportOutput(index=out / "index.html", metrics_csv=out / "metrics.csv")


def _scrub_frame(frame: pd.DataFrame, hidden: dict[str, str]) -> pd.DataFrame:
    """The text columns of a published CSV with this machine's paths hidden (e.g. a reason naming a file)."""
    if frame.empty or not hidden:
        return frame
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = [scrub(v, hidden) if isinstance(v, str) else v for v in frame[column]]
    return frame


def slug_file(name: str) -> str:
    """A file name from a table name: letters, digits, '_' and '-' only."""
    import re

    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "table"


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return str(value)


def _board_json(board: Leaderboard) -> dict[str, Any]:
    ranking = board.ranking
    return {
        "dataset": board.dataset, "label": board.label, "phase": board.phase, "rank_metric": board.rank_metric,
        "rows": [{"rank": r["rank"], "entry": r["entry"], "n_cases": r["n_cases"],
                  "mean": {m: r["cells"][m].sort for m in board.metrics},
                  "median": {m: r["cells"][m + ":median"].sort for m in board.metrics}} for r in board.rows],
        "ranking": None if ranking is None else {
            "scheme": ranking.scheme, "aggregate": ranking.aggregate, "n_subjects": ranking.n_subjects,
            "n_boot": ranking.n_boot, "ranks": ranking.ranks, "scores": ranking.scores,
            "rank_counts": ranking.rank_counts, "kendall_tau": list(ranking.kendall_tau),
            "significance": {"entries": ranking.entries, "better": ranking.better, "alpha": ranking.alpha}},
    }


def _with_figures(boards: list[Leaderboard]) -> list[Leaderboard]:
    """Each leaderboard with the per-case distribution of its ranking metric and its blob plot, as inline SVG."""
    from harness.metrics import METRIC_INFO
    from harness.report.plots import blob_svg, distribution_svg, has_values
    from harness.report.safe import trusted_svg

    for board in boards:
        if board.rank_metric is not None and has_values(board.case_values):
            board.figure = trusted_svg(distribution_svg(board.case_values, board.rank_metric,
                                                   METRIC_INFO[board.rank_metric].unit))
        if board.ranking is not None and not board.phase:
            board.blob = trusted_svg(blob_svg(board.ranking))
    return boards


def _dataset_sections(boards: list[Leaderboard], overlays: list[Overlay]) -> list[dict[str, Any]]:
    """Per dataset: its boards (all frames, then per phase) and its overlays grouped by entry (row order)."""
    sections: list[dict[str, Any]] = []
    for dataset in dict.fromkeys(b.dataset for b in boards):
        own = [b for b in boards if b.dataset == dataset]
        entries = list(dict.fromkeys(r["entry"] for b in own for r in b.rows))
        cases = []
        for entry in entries:
            drawn = [o for o in overlays if o.dataset == dataset and o.entry == entry]
            cases.append({"entry": entry, "anchor": "cases-" + slug(dataset, entry), "overlays": drawn})
        sections.append({"dataset": dataset, "anchor": "ds-" + slug(dataset),
                         "boards": [b for b in own if not b.phase], "phase_boards": [b for b in own if b.phase],
                         "cases": cases, "overlays": [o for c in cases for o in c["overlays"]],
                         "case_anchor": {c["entry"]: c["anchor"] for c in cases if c["overlays"]}})
    return sections


def _compute_figure(compute: list[dict[str, Any]], boards: list[Leaderboard], rank_by: str) -> str:
    """Cost against accuracy: training time and inference time per case against the headline metric."""
    import math as _math

    from harness.report.plots import cost_accuracy_svg
    from harness.report.safe import trusted_svg

    accuracy: dict[tuple[str, str], list[float]] = {}
    for board in boards:
        if board.phase or board.rank_metric != rank_by:
            continue
        for row in board.rows:
            value = row["cells"][rank_by].sort
            if _math.isfinite(value):
                accuracy.setdefault((board.dataset, row["entry"]), []).append(value)
    points = [{"dataset": c["dataset"], "entry": c["entry"], "train_s": c["train_s"],
               "predict_s_per_case": c["predict_s_per_case"],
               "value": sum(accuracy[(c["dataset"], c["entry"])]) / len(accuracy[(c["dataset"], c["entry"])])}
              for c in compute if (c["dataset"], c["entry"]) in accuracy]
    if not any(p["train_s"] or p["predict_s_per_case"] for p in points):
        return ""
    return trusted_svg(cost_accuracy_svg(points, rank_by))


def _bland_altman(subjects: pd.DataFrame) -> list[dict[str, Any]]:
    """Per dataset and leaderboard entry: Bland–Altman plots of EDV, ESV and EF (inline SVG)."""
    from harness.report.plots import bland_altman_svg
    from harness.report.safe import trusted_svg

    figures: list[dict[str, Any]] = []
    if subjects.empty or "edv_true_ml" not in subjects or "edv_pred_ml" not in subjects:
        return figures
    for (dataset, entry), group in with_entries(subjects).groupby(["dataset", "entry"], sort=True):
        figures.append({"dataset": str(dataset), "entry": str(entry),
                        "svg": trusted_svg(bland_altman_svg(group, f"{dataset}: {entry} (n = {len(group)} subjects)"))})
    return figures
