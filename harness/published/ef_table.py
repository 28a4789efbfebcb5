"""The EF error table of published cine results: |true − predicted EF| per method, in EF points.

Follows the cmr-seg-tl paper's recipe: errors are computed on EF fractions,
an undefined predicted EF (EDV = 0) follows ``ClinicalSettings.ef_undefined``
(``penalty``: an error of ``ef_penalty_pct`` / 100 as a fraction, 1.0 by
default; ``exclude``: left out and counted), and the summary (mean, sample sd,
median, IQR with linear interpolation) is rounded to 4 decimals as a fraction
and then multiplied by 100.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harness.metrics.clinical import ClinicalSettings, compute_ef_error
from harness.published.results import PublishedCineResults
from harness.stats.summary import summarise

EF_TABLE_COLUMNS = ("method", "n", "mean", "sd", "median", "iqr", "n_undefined")


def compute_abs_ef_errors(subjects: pd.DataFrame, settings: ClinicalSettings) -> pd.Series:
    """|true − predicted EF| as fractions, one per subject row, with the undefined-EF rule applied (NaN: excluded)."""
    errors = []
    for true_ef, pred_ef in zip(subjects["ef_true_fraction"], subjects["ef_pred_fraction"], strict=True):
        t = None if math.isnan(true_ef) else 100.0 * true_ef
        p = None if math.isnan(pred_ef) else 100.0 * pred_ef
        rule = compute_ef_error(t, p, settings)
        if rule.status == "ok":
            errors.append(abs(true_ef - pred_ef))  # in fractions, as the paper rounds them
        else:
            errors.append(rule.abs_error_pct / 100.0)
    return pd.Series(errors, index=subjects.index, name="abs_ef_error_fraction")


def ef_error_table(
    results: PublishedCineResults, settings: ClinicalSettings | None = None, round_like_paper: bool = True
) -> pd.DataFrame:
    """One row per method (the study's order) with :data:`EF_TABLE_COLUMNS`; statistics in EF points.

    ``n`` counts the subjects in the summary (penalised ones included, excluded
    ones not); ``n_undefined`` counts subjects whose predicted EF is undefined,
    whichever rule handled them. A method without subject rows is left out, so a
    study that publishes no per-subject volumes (an empty ``subjects`` frame,
    with or without the subject columns) gives an empty table.
    """
    settings = settings or ClinicalSettings()
    subjects = results.subjects
    if subjects.empty:
        return pd.DataFrame(columns=list(EF_TABLE_COLUMNS))
    abs_errors = compute_abs_ef_errors(subjects, settings)
    rows = []
    for method in results.methods:
        is_method = (subjects["method"] == method).to_numpy()
        if not is_method.any():
            continue
        summary = summarise(abs_errors[is_method].to_numpy())
        stats = {"mean": summary.mean, "sd": summary.sd, "median": summary.median, "iqr": summary.iqr}
        if round_like_paper:
            stats = {k: float(np.round(np.round(v, 4) * 100, 2)) for k, v in stats.items()}
        else:
            stats = {k: 100.0 * v for k, v in stats.items()}
        n_undefined = int(
            (
                subjects.loc[is_method, "ef_pred_fraction"].isna() & subjects.loc[is_method, "ef_true_fraction"].notna()
            ).sum()
        )
        rows.append({"method": method, "n": summary.n, **stats, "n_undefined": n_undefined})
    return pd.DataFrame(rows, columns=list(EF_TABLE_COLUMNS))
