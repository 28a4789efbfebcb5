"""The static report site: view model (:mod:`.viewmodel`), renderer (:mod:`.render`), templates, assets."""

from __future__ import annotations

from harness.report.render import render_report

__all__ = ["render_report"]
