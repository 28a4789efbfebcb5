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
