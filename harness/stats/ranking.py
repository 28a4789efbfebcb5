"""How sure is a leaderboard's order? Bootstrap rank stability and paired tests, over subjects.

The unit is the subject (patient), never the case: the frames and slices of one subject are
not independent, and splits are patient-grouped. Each entry's value for a subject is the mean
of its case values (NaN, a value a declared rule excluded, is left out); only subjects that
every entry has a value for take part, so every comparison is paired.

- Rank stability: ``n_boot`` resamples of the subjects with replacement (seeded: the same
  report every time); in each, entries are ranked by their mean (ties share the best rank).
  Reported: the share of resamples in which an entry ranks first, its mean rank and the
  2.5-97.5 % interval of its rank.
- Paired tests: for each pair of entries, Wilcoxon's signed-rank test (two-sided; exact for
  small samples, as scipy chooses) on the per-subject differences, with Holm's correction over
  the pairs of one leaderboard. With few subjects nothing can be significant (4 subjects: the
  smallest two-sided p is 0.125); the table says n so a reader can tell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class RankStability:
    entry: str
    p_first: float
    mean_rank: float
    rank_low: float
    rank_high: float


@dataclass(frozen=True)
class PairedTest:
    a: str
    b: str
    n: int
    median_difference: float  # median over subjects of (a - b)
    p: float
    p_holm: float


@dataclass(frozen=True)
class RankingStatistics:
    metric: str
    n_subjects: int
    n_boot: int
    stability: list[RankStability]
    tests: list[PairedTest]


def subject_table(rows: pd.DataFrame, entry_column: str = "entry") -> pd.DataFrame:
    """Subjects × entries of mean values, keeping only subjects every entry has a value for."""
    table = rows.groupby(["subject", entry_column], sort=True)["value"].mean().unstack(entry_column)
    return table.dropna(axis=0, how="any")


def _ranks(means: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Rank entries (columns) within each row: 1 = best; ties share the best rank."""
    keyed = -means if higher_is_better else means
    return np.asarray(stats.rankdata(keyed, method="min", axis=1), dtype=float)


def bootstrap_rank_stability(table: pd.DataFrame, higher_is_better: bool, n_boot: int = 1000,
                             seed: int = 0) -> list[RankStability]:
    values = table.to_numpy(dtype=float)
    n = values.shape[0]
    if n == 0 or values.shape[1] == 0:
        return []
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, n, size=(n_boot, n))
    means = values[samples].mean(axis=1)  # n_boot × entries
    ranks = _ranks(means, higher_is_better)
    out = []
    for column, entry in enumerate(table.columns):
        r = ranks[:, column]
        low, high = np.quantile(r, [0.025, 0.975])
        out.append(RankStability(str(entry), float(np.mean(r == 1)), float(r.mean()), float(low), float(high)))
    return out


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    m = len(p_values)
    for step, index in enumerate(order):
        value = min(1.0, (m - step) * p_values[index])
        running = max(running, value)
        adjusted[index] = running
    return adjusted


def paired_tests(table: pd.DataFrame) -> list[PairedTest]:
    entries = [str(c) for c in table.columns]
    pairs: list[tuple[str, str, float, float]] = []
    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            difference = table[a].to_numpy(dtype=float) - table[b].to_numpy(dtype=float)
            if len(difference) == 0:
                continue
            if np.all(difference == 0):
                p = 1.0
            else:
                p = float(stats.wilcoxon(difference, zero_method="wilcox", alternative="two-sided").pvalue)
            pairs.append((a, b, float(np.median(difference)), p))
    adjusted = holm([p for *_, p in pairs])
    return [PairedTest(a, b, len(table), median, p, p_adj) for (a, b, median, p), p_adj in zip(pairs, adjusted,
                                                                                               strict=True)]


def ranking_statistics(rows: pd.DataFrame, metric: str, higher_is_better: bool, n_boot: int = 1000,
                       seed: int = 0, entry_column: str = "entry") -> RankingStatistics | None:
    """Both analyses for the rows of one leaderboard and one metric; None with fewer than two entries."""
    table = subject_table(rows[rows["metric"] == metric], entry_column)
    if table.shape[1] < 2 or table.shape[0] == 0:
        return None
    stability = sorted(bootstrap_rank_stability(table, higher_is_better, n_boot, seed), key=lambda s: s.mean_rank)
    return RankingStatistics(metric, int(table.shape[0]), n_boot, stability, paired_tests(table))
