"""Executors that are planned but not built yet: they say so clearly instead of failing later."""

from __future__ import annotations

from harness.config.models import RayExecutor as RaySettings
from harness.executors.base import Availability, Executor, Invocation, JobResult
from harness.executors.kinds import EXECUTORS, ExecutorKind


class PlannedExecutor(Executor):
    def __init__(self, name: str, missing: str) -> None:
        self.name = name
        self._missing = missing

    def availability(self) -> Availability:
        return Availability(False, self._missing)

    def run(self, invocation: Invocation) -> JobResult:  # pragma: no cover - guarded by availability()
        raise RuntimeError(self._missing)


def _planned(settings: RaySettings) -> PlannedExecutor:
    return PlannedExecutor(settings.kind, EXECUTORS.reason(settings.kind) or f"'{settings.kind}' is not built yet")


#: Registered as "ray" in harness.executors.kinds (with the reason it is unavailable): its settings validate.
RAY_KIND = ExecutorKind(RaySettings, _planned)
