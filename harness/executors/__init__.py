"""Executors: where a method's entry points run (``local``, ``docker``, ``ray``).

Each kind is registered with its settings model in :mod:`harness.executors.kinds` (``EXECUTORS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.config.models import ExecutorSettings
from harness.errors import ExecutorUnavailableError
from harness.executors.base import Availability, Executor, Invocation, JobResult
from harness.executors.kinds import EXECUTORS, ExecutorKind

if TYPE_CHECKING:
    from harness.executors.local import LocalExecutor

__all__ = ["EXECUTORS", "Availability", "Executor", "ExecutorKind", "Invocation", "JobResult", "LocalExecutor",
           "default_settings", "make_executor"]


def __getattr__(name: str) -> Any:
    if name == "LocalExecutor":  # kept importable from here; loaded on first use
        from harness.executors.local import LocalExecutor

        return LocalExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_settings(kind: str) -> ExecutorSettings:
    """The settings of executor ``kind`` with every default (``--executor KIND``); unknown: did-you-mean."""
    return EXECUTORS.get(kind).settings.model_validate({"kind": kind})


def make_executor(settings: ExecutorSettings) -> Executor:
    """Build the configured executor, or fail saying what is missing."""
    kind = EXECUTORS.get(settings.kind)
    if (reason := EXECUTORS.reason(settings.kind)) is not None:
        raise ExecutorUnavailableError(reason)
    executor = kind.create(settings)
    availability = executor.availability()
    if not availability.available:
        raise ExecutorUnavailableError(availability.missing)
    return executor
