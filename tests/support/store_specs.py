"""Record each job's identity in the store as the scheduler does when a job starts (``store.start(..., job.identity())``).

The scheduler records it; a test that blanks the specs (a store an engine before specs wrote) fills them again
with :func:`record_specs`. A record that already holds a spec is left as it is.
"""

from __future__ import annotations

from pathlib import Path

from harness.config.models import Benchmark
from harness.datasets.registry import DatasetRegistry
from harness.methods.registry import MethodRegistry
from harness.plan import build_plan
from harness.store import Store


def record_specs(bench: Benchmark) -> int:
    """Fill the spec of every record of a planned job that has none (start + finish again, all else kept)."""
    assert bench.run_dir is not None
    plan = build_plan(bench, DatasetRegistry(bench.plugins.datasets), MethodRegistry(bench.plugins.methods))
    store = Store(bench.run_dir / "store.sqlite")
    filled = 0
    try:
        for job in plan.jobs.values():
            record = store.get(job.key)
            if record is None or record.spec is not None:
                continue
            store.start(job.key, job.kind, job.name, job.identity())
            store.finish(job.key, record.status, record.duration_s or 0.0, record.exit_code, record.reason,
                         Path(record.log_path) if record.log_path else None, record.output, record.attempts,
                         record.assignment)
            filled += 1
    finally:
        store.close()
    return filled
