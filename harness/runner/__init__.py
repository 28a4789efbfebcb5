"""Running a benchmark: the engine, the job steps, the views a method sees, output checks."""

from __future__ import annotations

from harness.runner.engine import Reporter, RunSummary, run_benchmark
from harness.runner.reporting import render_from_store

__all__ = ["Reporter", "RunSummary", "render_from_store", "run_benchmark"]
