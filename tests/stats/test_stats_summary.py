"""summarise and compute_agreement on tiny hand-computed arrays.

(They live here because tests/stats belongs to another part of the suite.)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.errors import InputDataError
from harness.stats import compute_agreement, compute_agreement_table, summarise


def test_summary_sd_is_sample_sd_and_iqr_is_linear() -> None:
    summary = summarise([4.0, 1.0, 3.0, 2.0])
    assert summary.n == 4 and summary.n_excluded == 0
    assert summary.mean == 2.5
    assert summary.sd == pytest.approx(math.sqrt(5 / 3))  # n − 1
    assert (summary.q1, summary.median, summary.q3, summary.iqr) == (1.75, 2.5, 3.25, 1.5)


def test_summary_excludes_and_counts_nan() -> None:
    summary = summarise(np.array([1.0, np.nan, 2.0, 10.0]))
    assert (summary.n, summary.n_excluded) == (3, 1)
    assert summary.median == 2.0 and summary.q1 == 1.5 and summary.q3 == 6.0


def test_summary_edge_cases() -> None:
    empty = summarise([math.nan])
    assert empty.n == 0 and empty.n_excluded == 1 and math.isnan(empty.mean) and math.isnan(empty.iqr)
    single = summarise(pd.Series([7.0]))
    assert single.mean == 7.0 and math.isnan(single.sd) and single.iqr == 0.0
    assert summarise([1.0, math.inf]).mean == math.inf  # infinities are kept, not excluded


def test_agreement_bias_loa_r_mae_and_points() -> None:
    result = compute_agreement([1.0, 2.0, 3.0, math.nan], [2.0, 4.0, 6.0, 1.0], subjects=["a", "b", "c", "d"])
    assert (result.n, result.n_excluded) == (3, 1)
    assert result.bias == 2.0 and result.sd == 1.0  # differences true − predicted: 1, 2, 3
    assert (result.loa_lower, result.loa_upper) == pytest.approx((2 - 1.96, 2 + 1.96))
    assert result.pearson_r == pytest.approx(1.0) and result.mae == 2.0
    assert result.subjects == ("a", "b", "c")
    assert result.means == (1.5, 3.0, 4.5) and result.differences == (1.0, 2.0, 3.0)


def test_agreement_edge_cases() -> None:
    constant = compute_agreement([1.0, 1.0], [1.0, 2.0])
    assert math.isnan(constant.pearson_r) and constant.bias == 0.5
    with pytest.raises(InputDataError, match="paired"):
        compute_agreement([1.0], [1.0, 2.0])


def test_agreement_table_per_method() -> None:
    rows = pd.DataFrame(
        {"method": ["a", "a", "b", "b"], "edv_pred_ml": [1.0, 2.0, 1.0, 1.0], "edv_true_ml": [2.0, 4.0, 1.0, 1.0]}
    )
    table = compute_agreement_table(rows, ["edv_ml"])
    assert table["method"].tolist() == ["a", "b"] and table["bias"].tolist() == [1.5, 0.0]
    with pytest.raises(InputDataError, match="esv_pred_ml"):
        compute_agreement_table(rows, ["esv_ml"])
