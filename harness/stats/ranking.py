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

Ranking schemes, as challengeR (Wiesenfarth et al., Sci Rep 2021) names them, over the subjects × entries table:

- ``aggregate_then_rank``: aggregate each entry over subjects (``mean`` or ``median``), then rank.
- ``rank_then_aggregate``: rank the entries within each subject, then aggregate the ranks (mean or median); the
  entry with the best aggregated rank ranks first.
- ``test_then_rank``: for every ordered pair (A, B) a one-sided Wilcoxon signed-rank test of "A better than B",
  Holm-corrected over all ordered pairs of the board; an entry's score is the number of entries it is
  significantly better than (at ``alpha``), ranked by that score. The same matrix is the significance map.

The bootstrap reruns the declared scheme on every resample: the rank distribution per entry (the blob plot) and
Kendall's τ between the full-data ranking and each bootstrap ranking. A consensus across boards (datasets,
structures) ranks entries by their mean rank over the boards they appear in (challengeR's ``euclidean``
consensus, whose solution is the mean rank).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

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


SCHEMES = ("aggregate_then_rank", "rank_then_aggregate", "test_then_rank")
AGGREGATES = ("mean", "median")


@dataclass(frozen=True)
class RankingStatistics:
    metric: str
    n_subjects: int
    n_boot: int
    stability: list[RankStability]
    tests: list[PairedTest]
    scheme: str = "aggregate_then_rank"
    aggregate: str = "mean"
    ranks: dict[str, float] = field(default_factory=dict)  # entry -> rank under the scheme on all subjects
    scores: dict[str, float] = field(default_factory=dict)  # what the scheme ranked by (mean, mean rank, wins)
    rank_counts: dict[str, list[int]] = field(default_factory=dict)  # entry -> bootstrap count of rank 1..k
    kendall_tau: tuple[float, float, float] = (math.nan, math.nan, math.nan)  # median, 2.5 %, 97.5 % over resamples
    entries: list[str] = field(default_factory=list)  # significance map order (by rank)
    better: list[list[bool]] = field(default_factory=list)  # better[i][j]: entries[i] significantly better than [j]
    alpha: float = 0.05


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


def _aggregate(values: np.ndarray, aggregate: str, axis: int) -> np.ndarray:
    return np.median(values, axis=axis) if aggregate == "median" else values.mean(axis=axis)


@lru_cache(maxsize=64)
def _signed_rank_tail(n: int) -> np.ndarray:
    """tail[t] = P(T+ ≥ t) under the null for n untied, non-zero differences (exact, by counting subsets)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return np.cumsum(counts[::-1])[::-1] / 2.0 ** n


@lru_cache(maxsize=16)
def _sign_patterns(n: int) -> np.ndarray:
    """All 2**n sign patterns as a (2**n, n) matrix of 0/1 (1 = positive)."""
    return ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)


def _average_ranks(absolute: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) of each row of ``absolute`` and each element's tie-group size, from one argsort."""
    rows, n = absolute.shape
    order = np.argsort(absolute, axis=1)  # ties share one average rank: the order among them does not matter
    ordered = np.take_along_axis(absolute, order, axis=1)
    positions = np.broadcast_to(np.arange(n), (rows, n))
    starts = np.ones((rows, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones((rows, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, positions, n - 1), axis=1), axis=1), axis=1)
    ranks, sizes = np.empty((rows, n)), np.empty((rows, n))
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    np.put_along_axis(sizes, order, (last - first + 1).astype(float), axis=1)
    return ranks, sizes


def signed_rank_tests(differences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Wilcoxon signed-rank p of "median difference > 0" and of "< 0" for each row (…, n).

    What ``scipy.stats.wilcoxon(d, alternative="greater" / "less")`` gives (the tests compare), vectorised over
    rows: zeros dropped (Wilcoxon's method), average ranks for ties; with neither ties nor zeros and n ≤ 50 the
    exact null distribution; with ties or zeros and n ≤ 13 the exact permutation distribution (all 2**n sign
    flips); otherwise the normal approximation with the tie correction and no continuity correction. All-zero
    rows give p = 1. Bootstrap resamples always hold ties (a subject drawn twice), so the tie handling is
    vectorised too.
    """
    d = np.asarray(differences, dtype=float)
    flat = d.reshape(-1, d.shape[-1])
    length = flat.shape[1]
    absolute = np.abs(flat)
    zero = flat == 0
    zeros = zero.sum(axis=1)
    n = length - zeros
    ranks, sizes = _average_ranks(absolute)
    ranks = np.where(zero, 0.0, ranks - zeros[:, None])  # zeros rank lowest: dropped, the rest shift down
    t_plus = np.where(flat > 0, ranks, 0.0).sum(axis=1)
    t_minus = n * (n + 1) / 2 - t_plus
    tied = ((sizes > 1) & ~zero).any(axis=1)
    greater, less = np.ones(flat.shape[0]), np.ones(flat.shape[0])
    live = n > 0
    exact = live & (zeros == 0) & ~tied & (length <= 50)
    if exact.any():
        tail = _signed_rank_tail(length)
        for out, statistic in ((greater, t_plus), (less, t_minus)):
            out[exact] = tail[np.clip(np.rint(statistic[exact]).astype(int), 0, len(tail) - 1)]
    permutation = live & ~exact & (length <= 13)
    if permutation.any():
        sums = _sign_patterns(length) @ ranks[permutation].T  # (2**n, rows): T+ of every sign flip
        greater[permutation] = (sums >= t_plus[permutation] - 1e-9).mean(axis=0)
        less[permutation] = (sums >= t_minus[permutation] - 1e-9).mean(axis=0)  # T- has T+'s null distribution
    approx = live & ~exact & ~permutation
    if approx.any():
        m = n[approx].astype(float)
        mean = m * (m + 1) / 4
        # tie correction Σ(t³ − t)/48 over groups of equal non-zero |d| = Σ over elements of (t² − 1)/48
        correction = np.where(zero, 0.0, sizes ** 2 - 1).sum(axis=1)[approx] / 48
        variance = m * (m + 1) * (2 * m + 1) / 24 - correction
        with np.errstate(all="ignore"):
            sd = np.sqrt(variance)
            greater[approx] = np.where(variance > 0, stats.norm.sf((t_plus[approx] - mean) / sd), 1.0)
            less[approx] = np.where(variance > 0, stats.norm.sf((t_minus[approx] - mean) / sd), 1.0)
    return greater.reshape(d.shape[:-1]), less.reshape(d.shape[:-1])


def signed_rank_greater(differences: np.ndarray) -> np.ndarray:
    """One-sided Wilcoxon signed-rank p of "median difference > 0" per row (see :func:`signed_rank_tests`)."""
    return signed_rank_tests(differences)[0]


def one_sided_pvalues(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """p[..., i, j] of "entry i better than entry j" (one-sided Wilcoxon signed-rank) per subjects × entries table.

    ``values`` is (..., subjects, entries); the diagonal is NaN. Each unordered pair is ranked once.
    """
    k = values.shape[-1]
    sign = 1.0 if higher_is_better else -1.0
    p = np.full(values.shape[:-2] + (k, k), np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            p[..., i, j], p[..., j, i] = signed_rank_tests(sign * (values[..., :, i] - values[..., :, j]))
    return p


def holm_matrix(p: np.ndarray) -> np.ndarray:
    """Holm's adjustment over all off-diagonal cells of the last two axes (one family per board)."""
    k = p.shape[-1]
    off = ~np.eye(k, dtype=bool)
    flat = p[..., off]  # (..., k·(k-1))
    order = np.argsort(flat, axis=-1, kind="stable")
    m = flat.shape[-1]
    ranked = np.take_along_axis(flat, order, axis=-1) * (m - np.arange(m))
    ranked = np.minimum(1.0, np.maximum.accumulate(ranked, axis=-1))
    adjusted = np.empty_like(flat)
    np.put_along_axis(adjusted, order, ranked, axis=-1)
    out = np.full(p.shape, np.nan)
    out[..., off] = adjusted
    return out


def scheme_ranks(values: np.ndarray, scheme: str, aggregate: str, higher_is_better: bool,
                 alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ranks) of the entries of each (..., subjects, entries) table under ``scheme``; rank 1 = best.

    Ties share the best rank (challengeR's ``ties.method = "min"``).
    """
    if scheme == "aggregate_then_rank":
        scores = _aggregate(values, aggregate, axis=-2)
        keyed = -scores if higher_is_better else scores
    elif scheme == "rank_then_aggregate":
        within = stats.rankdata(-values if higher_is_better else values, method="min", axis=-1)
        scores = _aggregate(np.asarray(within, dtype=float), aggregate, axis=-2)
        keyed = scores
    elif scheme == "test_then_rank":
        better = holm_matrix(one_sided_pvalues(values, higher_is_better)) < alpha
        scores = better.sum(axis=-1).astype(float)
        keyed = -scores
    else:
        raise ValueError(f"unknown ranking scheme {scheme!r}; one of {', '.join(SCHEMES)}")
    return scores, np.asarray(stats.rankdata(keyed, method="min", axis=-1), dtype=float)


def _kendall_tau(reference: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Kendall's τ-b between one ranking and each row of ``ranks`` (ties allowed), vectorised over rows."""
    k = reference.shape[0]
    i, j = np.triu_indices(k, 1)
    a = np.sign(reference[i] - reference[j])
    b = np.sign(ranks[:, i] - ranks[:, j])
    numerator = (a * b).sum(axis=1)
    denominator = np.sqrt(np.count_nonzero(a) * np.count_nonzero(b, axis=1).astype(float))
    with np.errstate(all="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def consensus_ranking(board_ranks: list[dict[str, float]]) -> list[tuple[str, float, int, float]]:
    """(entry, mean rank over the boards it is on, number of boards, consensus rank), best first."""
    totals: dict[str, list[float]] = {}
    for ranks in board_ranks:
        for entry, rank in ranks.items():
            totals.setdefault(entry, []).append(float(rank))
    if not totals:
        return []
    entries = sorted(totals)
    means = np.array([np.mean(totals[e]) for e in entries])
    consensus = stats.rankdata(means, method="min")
    order = np.argsort(consensus, kind="stable")
    return [(entries[i], float(means[i]), len(totals[entries[i]]), float(consensus[i])) for i in order]


def ranking_statistics(rows: pd.DataFrame, metric: str, higher_is_better: bool, n_boot: int = 1000,
                       seed: int = 0, entry_column: str = "entry", scheme: str = "aggregate_then_rank",
                       aggregate: str = "mean", alpha: float = 0.05) -> RankingStatistics | None:
    """The scheme's ranking, its bootstrap and the tests for the rows of one leaderboard and one metric.

    None with fewer than two entries or no subject every entry has a value for.
    """
    table = subject_table(rows[rows["metric"] == metric], entry_column)
    if table.shape[1] < 2 or table.shape[0] == 0:
        return None
    values = table.to_numpy(dtype=float)
    entries = [str(c) for c in table.columns]
    k = len(entries)
    scores, ranks = scheme_ranks(values, scheme, aggregate, higher_is_better, alpha)
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, values.shape[0], size=(n_boot, values.shape[0]))
    boot = np.empty((n_boot, k))
    chunk = 100 if scheme == "test_then_rank" else n_boot  # the pairwise tests of 100 resamples at a time
    for start in range(0, n_boot, chunk):
        boot[start:start + chunk] = scheme_ranks(values[samples[start:start + chunk]], scheme, aggregate,
                                                 higher_is_better, alpha)[1]
    stability = []
    counts: dict[str, list[int]] = {}
    for column, entry in enumerate(entries):
        r = boot[:, column]
        low, high = np.quantile(r, [0.025, 0.975])
        stability.append(RankStability(entry, float(np.mean(r == 1)), float(r.mean()), float(low), float(high)))
        counts[entry] = [int(np.count_nonzero(r == rank)) for rank in range(1, k + 1)]
    tau = _kendall_tau(ranks, boot)
    tau = tau[np.isfinite(tau)]
    tau_summary = (float(np.median(tau)), float(np.quantile(tau, 0.025)), float(np.quantile(tau, 0.975))) \
        if tau.size else (math.nan, math.nan, math.nan)
    order = sorted(range(k), key=lambda c: (ranks[c], entries[c]))
    better = holm_matrix(one_sided_pvalues(values, higher_is_better)) < alpha
    return RankingStatistics(
        metric, int(table.shape[0]), n_boot, sorted(stability, key=lambda s: s.mean_rank), paired_tests(table),
        scheme=scheme, aggregate=aggregate,
        ranks={entries[c]: float(ranks[c]) for c in order}, scores={entries[c]: float(scores[c]) for c in order},
        rank_counts=counts, kendall_tau=tau_summary, entries=[entries[c] for c in order],
        better=[[bool(better[a, b]) for b in order] for a in order], alpha=alpha,
    )
