"""The ``clinical:`` block of benchmark.yaml (a light module: the config reads it without numpy or pandas).

The indices themselves (EDV, ESV, EF, LV mass) are computed in :mod:`harness.metrics.clinical`;
docs/clinical.md explains every setting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MYOCARDIAL_DENSITY_G_PER_ML = 1.05


class ClinicalSettings(BaseModel):
    """The ``clinical:`` block of benchmark.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    use_phase_labels: bool = True
    frame_source: Literal["own", "reference", "prediction"] = "own"
    ef_undefined: Literal["penalty", "exclude"] = "penalty"
    ef_penalty_pct: float = Field(default=100.0, ge=0.0)
    myocardial_density_g_per_ml: float = Field(default=MYOCARDIAL_DENSITY_G_PER_ML, gt=0.0)
