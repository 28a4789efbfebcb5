"""Build the report's view model from its tables (metric rows, subject rows; see report/inputs.py), no HTML here."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.metrics import METRIC_INFO
from harness.stats import summarise
from harness.stats.ranking import RankingStatistics, ranking_statistics

ENTRY_COLUMNS = ["method", "regime", "subset"]  # a leaderboard row; folds and seeds are pooled


def fmt(value: object, digits: int = 3) -> str:
    """A number with ``digits`` decimals; "–" for none, NaN or a missing field; anything else as text.

    Method-written tables (history.csv) reach the report as they are: a missing column or a
    non-numeric value must show as such, never fail the render (the template escapes the text).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        return "–"
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return "–" if math.isnan(number) else f"{number:.{digits}f}"


@dataclass
class Cell:
    text: str
    sort: float  # the value a column sorts by (mean)
    title: str = ""


@dataclass
class Leaderboard:
    dataset: str
    label: str
    metrics: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # rank, entry, cells, n_cases, n_failed
    ranking: RankingStatistics | None = None  # the scheme's ranking, its bootstrap and the tests, by subject
    rank_metric: str | None = None
    case_values: dict[str, np.ndarray] = field(default_factory=dict)  # rank metric per case, in row order
    figure: str = ""  # inline SVG of ``case_values`` (drawn by report/render.py)
    phase: str = ""  # "" = all frames; "ED" / "ES": that phase's frames only
    blob: str = ""  # inline SVG of the bootstrap rank distribution (drawn by report/render.py)

    @property
    def anchor(self) -> str:
        return "lb-" + slug(self.dataset, self.label, self.phase)

    @property
    def title(self) -> str:
        return f"{self.dataset} — {self.label}" + (f" — {self.phase} frames" if self.phase else "")


def slug(*parts: str) -> str:
    """A fragment id from any text: letters, digits and '-' only (the text itself is shown escaped elsewhere)."""
    import hashlib
    import re

    text = "-".join(p for p in parts if p)
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return f"{cleaned[:60]}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def entry_name(row: pd.Series | dict[str, Any]) -> str:
    parts = [str(row["method"])]
    for column in ("regime", "subset"):
        value = str(row.get(column, ""))
        if value and value not in ("scratch", "all"):
            parts.append(value)
    return " · ".join(parts)


def with_entries(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with an ``entry`` column: the leaderboard row each of its rows belongs to."""
    records = frame.reindex(columns=ENTRY_COLUMNS).fillna("").to_dict("records")
    return frame.assign(entry=[entry_name(r) for r in records])


@dataclass(frozen=True)
class RankingChoice:
    """What orders a leaderboard (``report.ranking`` of benchmark.yaml)."""

    scheme: str = "aggregate_then_rank"
    aggregate: str = "mean"
    alpha: float = 0.05
    n_boot: int = 1000
    seed: int = 0

    @property
    def description(self) -> str:
        if self.scheme == "aggregate_then_rank":
            return f"aggregate-then-rank: {self.aggregate} over cases, then ranked"
        if self.scheme == "rank_then_aggregate":
            return f"rank-then-aggregate: entries ranked within each subject, then the {self.aggregate} rank"
        return (f"test-then-rank: number of entries significantly beaten (one-sided Wilcoxon signed-rank over "
                f"subjects, Holm, α = {self.alpha:g})")


def leaderboards(metrics: pd.DataFrame, rank_by: str, ranking: RankingChoice | None = None) -> list[Leaderboard]:
    """One leaderboard per (dataset, label), and per phase where ED / ES frames exist (cine datasets).

    Cells: mean ± sd and median [IQR] per metric over cases; rows ordered by ``ranking``'s scheme on ``rank_by``.
    """
    ranking = ranking or RankingChoice()
    boards: list[Leaderboard] = []
    if metrics.empty:
        return boards
    for (dataset, label), group in metrics.groupby(["dataset", "label"], sort=True):
        boards.append(_board(str(dataset), str(label), "", group, rank_by, ranking))
        if "phase" in group:
            phases = [p for p in ("ED", "ES") if (group["phase"] == p).any()]
            for phase in phases:
                boards.append(_board(str(dataset), str(label), phase, group[group["phase"] == phase], rank_by,
                                     ranking))
    return boards


def _board(dataset: str, label: str, phase: str, group: pd.DataFrame, rank_by: str,
           ranking: RankingChoice) -> Leaderboard:
    names = [m for m in METRIC_INFO if m in set(group["metric"])]
    board = Leaderboard(dataset, label, names, phase=phase)
    for entry, rows in group.groupby(ENTRY_COLUMNS, sort=False):
        cells: dict[str, Cell] = {}
        for metric in names:
            values = rows.loc[rows["metric"] == metric, "value"].to_numpy(dtype=float)
            s = summarise(values)
            unit_digits = 3 if METRIC_INFO[metric].unit in ("", "ratio", "fraction") else 2
            text = f"{fmt(s.mean, unit_digits)} ± {fmt(s.sd, unit_digits)}"
            title = f"median {fmt(s.median, unit_digits)} [IQR {fmt(s.iqr, unit_digits)}], n={s.n}"
            if s.n_excluded:
                title += f", {s.n_excluded} excluded"
            cells[metric] = Cell(text, s.mean if not math.isnan(s.mean) else -math.inf, title)
            cells[metric + ":median"] = Cell(f"{fmt(s.median, unit_digits)} [{fmt(s.iqr, unit_digits)}]",
                                             s.median if not math.isnan(s.median) else -math.inf)
        failed = rows.loc[rows["status"].isin(["missing_prediction", "invalid_prediction"]), "case"].nunique()
        board.rows.append({
            "entry": entry_name(dict(zip(ENTRY_COLUMNS, entry, strict=True))),
            "method": entry[0], "regime": entry[1], "subset": entry[2],
            "cells": cells, "n_cases": int(rows["case"].nunique()), "n_failed_cases": int(failed),
            "n_excluded": int(rows["value"].isna().sum()),
        })
    higher = bool(METRIC_INFO[rank_by].higher_is_better) if rank_by in METRIC_INFO else True
    key = rank_by if rank_by in names else (names[0] if names else None)
    board.rank_metric = key
    if key is None:
        for rank, row in enumerate(board.rows, start=1):
            row["rank"] = rank
        return board
    named = with_entries(group[group["metric"] == key])
    if "subject" in group and len(board.rows) > 1:
        board.ranking = ranking_statistics(named, key, higher, n_boot=ranking.n_boot, seed=ranking.seed,
                                           scheme=ranking.scheme, aggregate=ranking.aggregate, alpha=ranking.alpha)
    column = key if ranking.aggregate == "mean" else key + ":median"
    worst = -math.inf if higher else math.inf

    def shown(row: dict[str, Any]) -> float:
        value = row["cells"][column].sort
        return worst if value == -math.inf else value

    if ranking.scheme == "aggregate_then_rank" or board.ranking is None:
        board.rows.sort(key=shown, reverse=higher)
        values = [shown(r) for r in board.rows]
        for index, row in enumerate(board.rows):  # ties share the best rank
            row["rank"] = 1 + next(i for i, v in enumerate(values) if v == values[index])
    else:  # the subject-level scheme decides; entries it could not rank (no common subject) come last
        ranks = board.ranking.ranks
        board.rows.sort(key=lambda r: (ranks.get(r["entry"], math.inf), -shown(r) if higher else shown(r)))
        for index, row in enumerate(board.rows, start=1):
            row["rank"] = int(ranks[row["entry"]]) if row["entry"] in ranks else index
    board.case_values = {r["entry"]: named.loc[named["entry"] == r["entry"], "value"].to_numpy(dtype=float)
                         for r in board.rows}
    return board


def consensus(boards: list[Leaderboard]) -> list[dict[str, Any]]:
    """Across the all-frames boards (datasets × structures): each entry's mean rank, its consensus rank."""
    from harness.stats.ranking import consensus_ranking

    tasks = [b for b in boards if not b.phase and b.rank_metric is not None]
    if len(tasks) < 2:
        return []
    per_board = [{r["entry"]: float(r["rank"]) for r in b.rows} for b in tasks]
    out = []
    for entry, mean_rank, n_boards, rank in consensus_ranking(per_board):
        out.append({"entry": entry, "mean_rank": mean_rank, "n_boards": n_boards, "rank": int(rank),
                    "ranks": [board.get(entry) for board in per_board]})
    return out


def overview(boards: list[Leaderboard], rank_by: str) -> dict[str, Any]:
    """Datasets × entries: the mean ``rank_by`` over the dataset's structures (all frames), linking to each section."""
    tasks = [b for b in boards if not b.phase and b.rank_metric == rank_by]
    datasets = list(dict.fromkeys(b.dataset for b in tasks))
    entries = list(dict.fromkeys(r["entry"] for b in tasks for r in b.rows))
    cells: dict[tuple[str, str], list[float]] = {}
    for board in tasks:
        for row in board.rows:
            value = row["cells"][rank_by].sort
            if value != -math.inf:
                cells.setdefault((board.dataset, row["entry"]), []).append(value)
    rows = []
    for dataset in datasets:
        values = [float(np.mean(cells[(dataset, e)])) if (dataset, e) in cells else math.nan for e in entries]
        finite = [v for v in values if not math.isnan(v)]
        higher = bool(METRIC_INFO[rank_by].higher_is_better) if rank_by in METRIC_INFO else True
        best = (max(finite) if higher else min(finite)) if finite else math.nan
        rows.append({"dataset": dataset, "anchor": "ds-" + slug(dataset), "values": values,
                     "best": [v == best for v in values],
                     "structures": sorted({b.label for b in tasks if b.dataset == dataset})})
    return {"metric": rank_by, "entries": entries, "rows": rows}


def factor_matrices(metrics: pd.DataFrame, metric: str) -> list[dict[str, Any]]:
    """Regimes × subsets side by side: per dataset and structure, mean ``metric`` of each method·regime per subset."""
    out: list[dict[str, Any]] = []
    if metrics.empty:
        return out
    rows = metrics[(metrics["metric"] == metric) & (metrics["regime"] != "-")]
    for (dataset, label), group in rows.groupby(["dataset", "label"], sort=True):
        if group["regime"].nunique() < 2 and group["subset"].nunique() < 2:
            continue
        table = group.groupby(["method", "regime", "subset"], sort=False)["value"].mean().unstack("subset")
        subsets = list(dict.fromkeys(group["subset"]))
        out.append({
            "dataset": str(dataset), "label": str(label), "metric": metric, "subsets": subsets,
            "rows": [{"method": m, "regime": r, "cells": [table.loc[(m, r)].get(sub, math.nan) for sub in subsets]}
                     for m, r in table.index],
        })
    return out


def leaderboard_frame(board: Leaderboard) -> pd.DataFrame:
    """The numbers behind a leaderboard (used by tests to compare the page with metrics.csv)."""
    records = []
    for row in board.rows:
        for metric in board.metrics:
            records.append({"entry": row["entry"], "metric": metric, "mean": row["cells"][metric].sort})
    return pd.DataFrame(records)


def ef_tables(subjects: pd.DataFrame) -> list[dict[str, Any]]:
    """Per dataset: |ΔEF| summary (mean, sd, median, IQR in EF points) per leaderboard entry."""
    out: list[dict[str, Any]] = []
    if subjects.empty or "ef_abs_error_pct" not in subjects:
        return out
    for dataset, group in subjects.groupby("dataset", sort=True):
        rows = []
        for entry, rs in group.groupby(ENTRY_COLUMNS, sort=False):
            s = summarise(rs["ef_abs_error_pct"].to_numpy(dtype=float))
            statuses = rs["ef_status"].value_counts().to_dict() if "ef_status" in rs else {}
            undefined = sum(v for k, v in statuses.items() if k != "ok")
            edv = summarise(np.abs(rs["edv_error_ml"].to_numpy(dtype=float))) if "edv_error_ml" in rs else None
            esv = summarise(np.abs(rs["esv_error_ml"].to_numpy(dtype=float))) if "esv_error_ml" in rs else None
            rows.append({
                "entry": entry_name(dict(zip(ENTRY_COLUMNS, entry, strict=True))), "n": s.n,
                "mean": s.mean, "sd": s.sd, "median": s.median, "iqr": s.iqr, "n_undefined": int(undefined),
                "edv_mae": edv.mean if edv else math.nan, "esv_mae": esv.mean if esv else math.nan,
            })
        rows.sort(key=lambda r: float(r["mean"]) if not math.isnan(float(r["mean"])) else math.inf)  # type: ignore[arg-type]
        out.append({"dataset": str(dataset), "rows": rows})
    return out


def status_counts(metrics: pd.DataFrame) -> list[dict[str, Any]]:
    """How many metric values each non-ok status produced, per method (nothing is silently dropped)."""
    if metrics.empty:
        return []
    bad = metrics[metrics["status"] != "ok"]
    grouped = bad.groupby(["dataset", "method", "label", "status"]).size().reset_index(name="n")
    return grouped.to_dict(orient="records")


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


STUDY_METRICS = ("dice", "iou", "precision", "recall", "hd_mm", "hd95_mm")
STUDY_PARAMS = ("loss", "batch_size", "learning_rate", "epochs")


def study_tables(metrics: pd.DataFrame, compute: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dataset, the seeds' results table: parameters, training time, loss, batch size, learning rate, and
    mean ± sd of Dice, IoU, precision, recall and HD over cases (all frames; structures pooled)."""
    out: list[dict[str, Any]] = []
    if metrics.empty:
        return out
    cost = {(c["dataset"], c["entry"]): c for c in compute}
    named = with_entries(metrics[metrics["metric"].isin(STUDY_METRICS)])
    for dataset, group in named.groupby("dataset", sort=True):
        shown = [m for m in STUDY_METRICS if m in set(group["metric"])]
        params = [p for p in STUDY_PARAMS if any(p in (cost.get((str(dataset), e)) or {}).get("params", {})
                                                  for e in group["entry"].unique())]
        rows = []
        for entry, rs in group.groupby("entry", sort=False):
            c = cost.get((str(dataset), str(entry)), {})
            cells = {}
            for metric in shown:
                s = summarise(rs.loc[rs["metric"] == metric, "value"].to_numpy(dtype=float))
                digits = 3 if METRIC_INFO[metric].unit in ("", "ratio", "fraction") else 2
                cells[metric] = Cell(f"{fmt(s.mean, digits)} ± {fmt(s.sd, digits)}",
                                     s.mean if not math.isnan(s.mean) else -math.inf)
            rows.append({"entry": str(entry), "parameters": c.get("parameters"), "train_s": c.get("train_s"),
                         "params": {p: (c.get("params") or {}).get(p, "") for p in params}, "cells": cells,
                         "structures": sorted(rs["label"].unique())})
        out.append({"dataset": str(dataset), "metrics": shown, "params": params, "rows": rows})
    return out
