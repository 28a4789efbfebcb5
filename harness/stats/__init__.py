"""Statistics over metric rows: per-metric summaries, method-vs-truth agreement, ranking stability (ranking.py)."""

from __future__ import annotations

from harness.stats.agreement import Agreement, compute_agreement, compute_agreement_table
from harness.stats.summary import Summary, summarise

__all__ = ["Agreement", "Summary", "compute_agreement", "compute_agreement_table", "summarise"]
