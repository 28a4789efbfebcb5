"""Executors: where a method's entry points run (``local``, ``docker``, ``ray``)."""

from __future__ import annotations

from harness.config.models import DockerExecutor as DockerSettings
from harness.config.models import LocalExecutor as LocalSettings
from harness.config.models import RayExecutor as RaySettings
from harness.errors import ExecutorUnavailableError
from harness.executors.base import Availability, Executor, Invocation, JobResult
from harness.executors.local import LocalExecutor

__all__ = ["Availability", "Executor", "Invocation", "JobResult", "LocalExecutor", "make_executor"]


def make_executor(settings: LocalSettings | DockerSettings | RaySettings) -> Executor:
    """Build the configured executor, or fail saying what is missing."""
    executor: Executor
    if isinstance(settings, LocalSettings):
        executor = LocalExecutor(settings.threads)
    elif isinstance(settings, DockerSettings):
        from harness.executors.docker import DockerExecutor

        executor = DockerExecutor(settings)
    else:
        from harness.executors.unavailable import PlannedExecutor

        executor = PlannedExecutor(
            settings.kind,
            f"the '{settings.kind}' executor is not available in this version of SegArena yet "
            f"(tracked in the project's issues); use `--executor local`",
        )
    availability = executor.availability()
    if not availability.available:
        raise ExecutorUnavailableError(availability.missing)
    return executor
