"""The static report site: its tables (:mod:`.inputs`), view model (:mod:`.viewmodel`), renderer (:mod:`.render`)."""

from __future__ import annotations

from harness.report.inputs import ReportInputs
from harness.report.render import render_report

__all__ = ["ReportInputs", "render_report"]
