"""Agreement of a method's values with the truth: bias, limits of agreement, Pearson r, MAE, Bland–Altman points.

Sign convention (the same as :mod:`harness.metrics.clinical`): difference =
true − predicted, so a positive bias means the method underestimates.
Pairs where either value is NaN (undefined or excluded) are left out and
counted in ``n_excluded``. Limits of agreement are bias ± 1.96 × sd of the
differences (sample sd, n − 1). Pearson r is NaN when n < 2 or a side is constant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.errors import InputDataError

LOA_Z = 1.96


@dataclass(frozen=True)
class Agreement:
    """Agreement statistics plus the per-subject Bland–Altman points (mean of the pair, difference)."""

    n: int
    bias: float
    sd: float
    loa_lower: float
    loa_upper: float
    pearson_r: float
    mae: float
    n_excluded: int
    subjects: tuple[str, ...]
    means: tuple[float, ...]
    differences: tuple[float, ...]


def compute_agreement(
    predicted: Sequence[float] | np.ndarray,
    truth: Sequence[float] | np.ndarray,
    subjects: Sequence[str] | None = None,
) -> Agreement:
    """Agreement of ``predicted`` with ``truth`` (paired, same order); ``subjects`` label the points."""
    pred = np.asarray(predicted, dtype=float).ravel()
    true = np.asarray(truth, dtype=float).ravel()
    if pred.shape != true.shape:
        raise InputDataError(f"agreement needs paired values: {pred.size} predicted vs {true.size} true")
    labels = [str(s) for s in subjects] if subjects is not None else [str(i) for i in range(pred.size)]
    if len(labels) != pred.size:
        raise InputDataError(f"agreement: {len(labels)} subject labels for {pred.size} pairs")
    is_kept = ~(np.isnan(pred) | np.isnan(true))
    pred, true = pred[is_kept], true[is_kept]
    differences = true - pred
    n = int(differences.size)
    bias = float(differences.mean()) if n else math.nan
    sd = float(differences.std(ddof=1)) if n > 1 else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        is_constant = n < 2 or float(np.ptp(pred)) == 0.0 or float(np.ptp(true)) == 0.0
        pearson_r = math.nan if is_constant else float(np.corrcoef(pred, true)[0, 1])
    return Agreement(
        n=n,
        bias=bias,
        sd=sd,
        loa_lower=bias - LOA_Z * sd,
        loa_upper=bias + LOA_Z * sd,
        pearson_r=pearson_r,
        mae=float(np.abs(differences).mean()) if n else math.nan,
        n_excluded=int((~is_kept).sum()),
        subjects=tuple(label for label, kept in zip(labels, is_kept, strict=True) if kept),
        means=tuple(float(v) for v in (pred + true) / 2),
        differences=tuple(float(v) for v in differences),
    )


def compute_agreement_table(subject_rows: pd.DataFrame, quantities: Sequence[str]) -> pd.DataFrame:
    """One row per method × quantity from per-subject rows (``<q>_pred_<unit>`` / ``<q>_true_<unit>`` columns).

    ``quantities`` name the column pairs by their unit-suffixed stem, e.g.
    ``edv_ml`` reads ``edv_pred_ml`` and ``edv_true_ml``. Columns: ``method,
    quantity, n, bias, sd, loa_lower, loa_upper, pearson_r, mae, n_excluded``.
    """
    out = []
    for quantity in quantities:
        stem, unit = quantity.rsplit("_", 1)
        pred_col, true_col = f"{stem}_pred_{unit}", f"{stem}_true_{unit}"
        for column in (pred_col, true_col, "method"):
            if column not in subject_rows.columns:
                raise InputDataError(f"agreement table: per-subject rows lack column {column!r} (for {quantity})")
        for method, group in subject_rows.groupby("method", sort=True):
            result = compute_agreement(group[pred_col].to_numpy(), group[true_col].to_numpy())
            out.append(
                {
                    "method": method,
                    "quantity": quantity,
                    "n": result.n,
                    "bias": result.bias,
                    "sd": result.sd,
                    "loa_lower": result.loa_lower,
                    "loa_upper": result.loa_upper,
                    "pearson_r": result.pearson_r,
                    "mae": result.mae,
                    "n_excluded": result.n_excluded,
                }
            )
    return pd.DataFrame(
        out,
        columns=["method", "quantity", "n", "bias", "sd", "loa_lower", "loa_upper", "pearson_r", "mae", "n_excluded"],
    )
