"""Running a benchmark: the engine, the job steps, the views a method sees, output checks.

The exports load on first use (``harness.lazy``): ``harness.runner.explain`` (``segarena plan``) reads plan and
store without importing the engine and its steps (pandas, the evaluator, the report).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy import lazy_exports

if TYPE_CHECKING:
    from harness.runner.engine import Reporter, RunSummary, run_benchmark
    from harness.runner.reporting import render_from_store

__all__ = ["Reporter", "RunSummary", "render_from_store", "run_benchmark"]
__getattr__, __dir__ = lazy_exports(__name__, {"Reporter": "harness.runner.engine", "RunSummary": "harness.runner.engine",
                                               "run_benchmark": "harness.runner.engine",
                                               "render_from_store": "harness.runner.reporting"})
