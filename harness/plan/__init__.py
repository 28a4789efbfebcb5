"""The job graph: a benchmark expanded into convert → split → train → predict → evaluate → report jobs."""

from __future__ import annotations

from harness.plan.jobs import Job, content_key
from harness.plan.planner import Plan, build_plan

__all__ = ["Job", "Plan", "build_plan", "content_key"]
