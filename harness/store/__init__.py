"""Run state: one SQLite file per run folder recording every job's status, timings, exit code and log."""

from __future__ import annotations

from harness.store.sqlite import JobRecord, Store

__all__ = ["JobRecord", "Store"]
