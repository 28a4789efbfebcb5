"""Executors that are planned but not built yet: they say so clearly instead of failing later."""

from __future__ import annotations

from harness.executors.base import Availability, Executor, Invocation, JobResult


class PlannedExecutor(Executor):
    def __init__(self, name: str, missing: str) -> None:
        self.name = name
        self._missing = missing

    def availability(self) -> Availability:
        return Availability(False, self._missing)

    def run(self, invocation: Invocation) -> JobResult:  # pragma: no cover - guarded by availability()
        raise RuntimeError(self._missing)
