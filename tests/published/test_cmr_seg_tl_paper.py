"""The cmr-seg-tl Kaggle EF table recomputed from the real reference data (about 3-4 s to load, once)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.metrics.clinical import ClinicalSettings
from harness.published import PublishedCineResults, compare_with_paper_volumes, ef_error_table
from harness.published.cmr_seg_tl import MODELS


def test_first_row_matches_the_paper_exactly(kaggle_results: PublishedCineResults) -> None:
    first = ef_error_table(kaggle_results).iloc[0]
    assert first["method"] == "r34_p05_s256"
    assert (first["mean"], first["sd"], first["median"], first["iqr"]) == (3.64, 3.38, 2.87, 3.72)


def test_every_method_row_is_present_and_finite(kaggle_results: PublishedCineResults) -> None:
    table = ef_error_table(kaggle_results)
    assert table["method"].tolist() == [*MODELS, "UKBB"]
    assert (table["n"] == 1149).all()
    for column in ("mean", "sd", "median", "iqr"):
        assert all(math.isfinite(v) and 0 < v < 10 for v in table[column])


def test_ukbb_row(kaggle_results: PublishedCineResults) -> None:
    ukbb = ef_error_table(kaggle_results).set_index("method").loc["UKBB"]
    assert (ukbb["mean"], ukbb["sd"], ukbb["median"], ukbb["iqr"]) == (5.42, 8.83, 3.72, 4.34)
    assert ukbb["n_undefined"] == 6  # six series with LVEDV = 0, each counted as an error of 100 points


def test_exclude_rule_drops_the_undefined(kaggle_results: PublishedCineResults) -> None:
    table = ef_error_table(kaggle_results, ClinicalSettings(ef_undefined="exclude")).set_index("method")
    assert table.loc["UKBB", "n"] == 1143 and table.loc["r34_p05_s256", "n"] == 1149


def test_volumes_agree_with_the_papers_per_patient_tables(
    kaggle_results: PublishedCineResults, refdata_dir: Path
) -> None:
    check = compare_with_paper_volumes(kaggle_results, refdata_dir)
    assert len(check) == 22
    assert (check["n_matched"] == 1149).all() and (check["n_agree"] == check["n_paper"]).all()
    assert check["max_abs_diff_ml"].max() < 1e-9


def test_provenance_has_hashes(kaggle_results: PublishedCineResults) -> None:
    names = {f.name for f in kaggle_results.provenance}
    assert "kaggle/predictions/lv_pixels_per_image_10models.tsv.xz" in names
    assert all(len(f.sha256) == 64 and f.size_bytes > 0 for f in kaggle_results.provenance)


@pytest.mark.parametrize("column", ["edv_pred_ml", "esv_pred_ml", "edv_true_ml", "esv_true_ml"])
def test_volumes_are_finite_and_non_negative(kaggle_results: PublishedCineResults, column: str) -> None:
    values = kaggle_results.subjects[column]
    assert values.notna().all() and (values >= 0).all()
