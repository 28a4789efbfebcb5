"""The ``clinical:`` block of benchmark.yaml (a light module: the config reads it without numpy or pandas).

The indices themselves (EDV, ESV, EF, LV mass) are computed in :mod:`harness.metrics.clinical`;
docs/clinical.md explains every setting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MYOCARDIAL_DENSITY_G_PER_ML = 1.05

#: Which frame is ED when no phase label names it (ES is always the smallest LV volume):
#: ``largest_lv`` the largest LV volume; ``first_frame`` frame 0 (ukbb_cardiac's rule, Bai et al. 2018).
EdRule = Literal["largest_lv", "first_frame"]



class ClinicalSettings(BaseModel):
    """The ``clinical:`` block of benchmark.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    use_phase_labels: bool = True
    frame_source: Literal["own", "reference", "prediction"] = "own"
    ef_undefined: Literal["penalty", "exclude"] = "penalty"
    ef_penalty_pct: float = Field(default=100.0, ge=0.0)
    myocardial_density_g_per_ml: float = Field(default=MYOCARDIAL_DENSITY_G_PER_ML, gt=0.0)
    #: ED without a phase label: ``largest_lv`` / ``first_frame`` for every curve, or ``method``: each method's
    #: predictions use its card's ``ed_rule`` (ukbb_fcn: first_frame), the reference keeps ``largest_lv``.
    ed_rule: Literal["largest_lv", "first_frame", "method"] = "largest_lv"
    #: The method card's rule under ``ed_rule: method``; the evaluator fills it in per method (not for benchmark files).
    method_ed_rule: EdRule | None = Field(default=None, exclude=True)

    def ed_rules(self) -> tuple[EdRule, EdRule]:
        """(the reference curve's ED rule, the prediction curve's)."""
        if self.ed_rule == "method":
            return "largest_lv", self.method_ed_rule or "largest_lv"
        return self.ed_rule, self.ed_rule
