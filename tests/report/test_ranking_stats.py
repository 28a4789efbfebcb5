"""Bootstrap rank stability and paired tests over subjects (harness/stats/ranking.py) and their place in the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.report.viewmodel import leaderboards
from harness.stats.ranking import holm, paired_tests, ranking_statistics, subject_table


def rows(values: dict[str, dict[str, list[float]]], metric: str = "dice") -> pd.DataFrame:
    """{entry: {subject: [case values]}} as long metric rows."""
    records = []
    for entry, subjects in values.items():
        for subject, cases in subjects.items():
            for index, value in enumerate(cases):
                records.append({"entry": entry, "subject": subject, "case": f"{subject}_f{index:02d}",
                                "metric": metric, "value": value})
    return pd.DataFrame(records)


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 → 3·0.01 = 0.03, 2·0.03 = 0.06, max(0.06, 1·0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


def test_wilcoxon_exact_p_for_six_positive_differences() -> None:
    table = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "b": [0.0] * 6})
    (test,) = paired_tests(table)
    assert test.p == pytest.approx(2 / 64)  # two-sided exact: both all-positive and all-negative sign patterns
    assert test.median_difference == pytest.approx(3.5) and test.n == 6
    same = paired_tests(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0]}))
    assert same[0].p == 1.0


def test_the_unit_is_the_subject_and_comparisons_are_paired() -> None:
    data = rows({
        "a": {"s1": [0.9] * 10, "s2": [0.8], "s3": [0.7, 0.9]},
        "b": {"s1": [0.5], "s2": [0.6], "s3": [0.4], "s4": [0.9]},  # s4: no value of a, so left out
    })
    table = subject_table(data)
    assert list(table.index) == ["s1", "s2", "s3"]
    assert table.loc["s3", "a"] == pytest.approx(0.8)  # mean of the subject's cases
    result = ranking_statistics(data, "dice", higher_is_better=True)
    assert result is not None and result.n_subjects == 3
    assert [s.entry for s in result.stability] == ["a", "b"]
    assert result.stability[0].p_first == 1.0 and (result.stability[0].rank_low, result.stability[0].rank_high) == (1, 1)


def test_close_entries_share_the_first_place_and_lower_is_better_is_respected() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(10, 2, size=12)
    data = rows({"a": {f"s{i}": [v] for i, v in enumerate(base)},
                 "b": {f"s{i}": [v + rng.normal(0, 1)] for i, v in enumerate(base)},
                 "c": {f"s{i}": [v + 8] for i, v in enumerate(base)}}, metric="hd95_mm")
    result = ranking_statistics(data, "hd95_mm", higher_is_better=False, n_boot=500, seed=1)
    assert result is not None
    by_entry = {s.entry: s for s in result.stability}
    assert by_entry["c"].p_first == 0.0 and by_entry["c"].rank_low == 3
    assert 0 < by_entry["a"].p_first < 1 and 0 < by_entry["b"].p_first < 1
    assert by_entry["a"].p_first + by_entry["b"].p_first == pytest.approx(1.0)  # continuous values: no ties
    again = ranking_statistics(data, "hd95_mm", higher_is_better=False, n_boot=500, seed=1)
    assert again == result  # seeded: the same report every time
    p_c = {(t.a, t.b): t for t in result.tests}
    assert p_c[("a", "c")].p < 0.01 and p_c[("a", "c")].p_holm >= p_c[("a", "c")].p
    assert ranking_statistics(data[data["entry"] == "a"], "hd95_mm", False) is None  # one entry: nothing to rank


def test_leaderboard_carries_the_ranking_of_its_rank_metric() -> None:
    long = rows({"unet2d": {f"s{i}": [0.9, 0.92] for i in range(5)},
                 "threshold_baseline": {f"s{i}": [0.7, 0.6] for i in range(5)}})
    metrics = long.rename(columns={"entry": "method"}).assign(dataset="d", label="LV", regime="scratch",
                                                              subset="all", status="ok")
    (board,) = leaderboards(metrics, "dice")
    assert [r["entry"] for r in board.rows] == ["unet2d", "threshold_baseline"]
    assert board.ranking is not None and board.ranking.n_subjects == 5
    assert board.ranking.stability[0].entry == "unet2d" and board.ranking.stability[0].p_first == 1.0
    assert board.ranking.tests[0].p == pytest.approx(2 / 32)


def table_rows(table: dict[str, list[float]], metric: str = "dice") -> pd.DataFrame:
    """{entry: [one value per subject s0, s1, ...]} as long metric rows."""
    return rows({e: {f"s{i}": [v] for i, v in enumerate(vs)} for e, vs in table.items()}, metric)


def test_the_three_schemes_can_disagree_as_they_should() -> None:
    # a: great on one subject, poor elsewhere; b: a little better than a on 4 of 5 subjects
    data = table_rows({"a": [1.0, 0.50, 0.50, 0.50, 0.50], "b": [0.0, 0.55, 0.55, 0.55, 0.55]})
    mean = ranking_statistics(data, "dice", True, n_boot=50, scheme="aggregate_then_rank")
    assert mean is not None and mean.ranks == {"a": 1.0, "b": 2.0} and mean.scores["a"] == pytest.approx(0.6)
    median = ranking_statistics(data, "dice", True, n_boot=50, scheme="aggregate_then_rank", aggregate="median")
    assert median is not None and median.ranks == {"b": 1.0, "a": 2.0} and median.scores["b"] == pytest.approx(0.55)
    by_rank = ranking_statistics(data, "dice", True, n_boot=50, scheme="rank_then_aggregate")
    assert by_rank is not None and by_rank.ranks == {"b": 1.0, "a": 2.0}
    assert by_rank.scores == {"b": pytest.approx((2 + 1 + 1 + 1 + 1) / 5), "a": pytest.approx((1 + 2 + 2 + 2 + 2) / 5)}


def test_test_then_rank_counts_significant_wins_after_holm() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, size=8)
    data = table_rows({"a": list(0.9 + noise), "b": list(0.6 + rng.normal(0, 0.05, 8)),
                       "c": list(0.6 + rng.normal(0, 0.05, 8))})
    result = ranking_statistics(data, "dice", True, n_boot=200, scheme="test_then_rank", seed=2)
    assert result is not None
    # a beats b and c on all 8 subjects: one-sided exact p = 1/256, Holm over 6 ordered pairs ≤ 6/256 < 0.05
    assert result.scores["a"] == 2 and result.ranks["a"] == 1
    assert result.entries[0] == "a" and result.better[0][1:] == [True, True] and not result.better[0][0]
    assert result.scores["b"] <= 1 and result.scores["c"] <= 1
    again = ranking_statistics(data, "dice", True, n_boot=200, scheme="test_then_rank", seed=2)
    assert again == result
    assert sum(result.rank_counts["a"]) == 200


def test_one_sided_p_and_the_holm_matrix_by_hand() -> None:
    from harness.stats.ranking import holm_matrix, one_sided_pvalues

    values = np.array([[1.0, 0.0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0]])
    p = one_sided_pvalues(values, higher_is_better=True)
    assert p[0, 1] == pytest.approx(1 / 64) and p[1, 0] == pytest.approx(1.0)  # exact: one sign pattern of 64
    assert one_sided_pvalues(values, higher_is_better=False)[1, 0] == pytest.approx(1 / 64)
    raw = np.array([[np.nan, 0.01, 0.04], [0.03, np.nan, 0.5], [0.2, 0.9, np.nan]])
    adjusted = holm_matrix(raw)
    flat = [raw[0, 1], raw[0, 2], raw[1, 0], raw[1, 2], raw[2, 0], raw[2, 1]]
    expect = holm(flat)
    assert [adjusted[0, 1], adjusted[0, 2], adjusted[1, 0], adjusted[1, 2], adjusted[2, 0], adjusted[2, 1]] == \
        pytest.approx(expect)
    assert np.isnan(adjusted[0, 0])


def test_kendall_tau_and_the_consensus_by_hand() -> None:
    from harness.stats.ranking import _kendall_tau, consensus_ranking

    reference = np.array([1.0, 2.0, 3.0])
    taus = _kendall_tau(reference, np.array([[1.0, 2, 3], [3, 2, 1], [2, 1, 3]]))
    assert taus == pytest.approx([1.0, -1.0, 1 / 3])  # 3 pairs: concordant 3; discordant 3; 2 - 1 = 1 of 3
    stable = table_rows({"a": [0.9, 0.8, 0.85, 0.95], "b": [0.1, 0.2, 0.15, 0.05]})
    result = ranking_statistics(stable, "dice", True, n_boot=100)
    assert result is not None and result.kendall_tau == (1.0, 1.0, 1.0)  # the order never changes
    consensus = consensus_ranking([{"a": 1, "b": 2, "c": 3}, {"a": 2, "b": 1, "c": 3}, {"b": 1, "c": 2}])
    # mean ranks: a 1.5 (2 boards), b 4/3, c 8/3
    assert [(e, round(m, 3), n, r) for e, m, n, r in consensus] == [("b", 1.333, 3, 1.0), ("a", 1.5, 2, 2.0),
                                                                    ("c", 2.667, 3, 3.0)]


@pytest.mark.parametrize("case", ["untied", "ties", "zeros", "large", "large_ties", "mid_zeros"])
def test_the_vectorised_signed_rank_test_gives_scipys_p(case: str) -> None:
    from scipy import stats

    from harness.stats.ranking import signed_rank_greater

    rng = np.random.default_rng(11)
    size = {"large": 80, "large_ties": 60, "mid_zeros": 20}.get(case, 9)
    d = rng.normal(0.3, 1.0, size=(20, size))
    if case in ("ties", "large_ties"):
        d = np.round(d, 1)
        d[:, 1] = d[:, 0]
    if case in ("zeros", "mid_zeros"):
        d[:, :2] = 0.0
    ours = signed_rank_greater(d)
    for row, p in zip(d, ours, strict=True):
        assert p == pytest.approx(float(stats.wilcoxon(row, alternative="greater").pvalue), rel=1e-9, abs=1e-12)
    assert signed_rank_greater(np.zeros((2, 5))).tolist() == [1.0, 1.0]


def test_both_directions_and_bootstrap_like_ties_give_scipys_p() -> None:
    from scipy import stats

    from harness.stats.ranking import signed_rank_tests

    rng = np.random.default_rng(5)
    base = rng.normal(0.2, 1.0, size=30)
    d = base[rng.integers(0, 30, size=(15, 30))]  # resamples: subjects drawn twice tie with themselves
    greater, less = signed_rank_tests(d)
    for row, g, ls in zip(d, greater, less, strict=True):
        assert g == pytest.approx(float(stats.wilcoxon(row, alternative="greater").pvalue), rel=1e-9)
        assert ls == pytest.approx(float(stats.wilcoxon(row, alternative="less").pvalue), rel=1e-9)
