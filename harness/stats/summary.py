"""Descriptive summary of one metric over subjects or cases: the leaderboard's cells.

Rule for missing values: NaN marks a value that a declared rule excluded (for
example an undefined EF under ``ef_undefined: exclude``); it is left out and
counted in ``n_excluded``. Infinities are kept, so a metric whose rule yields
``inf`` shows up as such instead of vanishing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    """n, mean, sample sd (n − 1), median, quartiles and IQR (linear interpolation), n_excluded.

    Statistics of an empty sample are NaN; ``sd`` of a single value is NaN.
    """

    n: int
    mean: float
    sd: float
    median: float
    q1: float
    q3: float
    iqr: float
    n_excluded: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def summarise(values: Iterable[float] | np.ndarray) -> Summary:
    """Summarise ``values``, leaving out and counting NaN (see the module docstring)."""
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    is_excluded = np.isnan(array)
    kept = array[~is_excluded]
    n_excluded = int(is_excluded.sum())
    if kept.size == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, n_excluded)
    with np.errstate(invalid="ignore"):
        q1, median, q3 = (float(q) for q in np.quantile(kept, [0.25, 0.5, 0.75]))  # numpy's default: linear
        sd = float(np.std(kept, ddof=1)) if kept.size > 1 else math.nan
        mean = float(np.mean(kept))
    return Summary(n=int(kept.size), mean=mean, sd=sd, median=median, q1=q1, q3=q3, iqr=q3 - q1, n_excluded=n_excluded)
