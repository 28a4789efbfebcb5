"""The executor kinds' registry, where an executor module registers itself (defined in
:mod:`harness.config.executor_kinds`, beside the ``executor:`` settings it validates, so that the
config never imports the executors)."""

from __future__ import annotations

from harness.config.executor_kinds import EXECUTORS, ExecutorKind, executor_kind

__all__ = ["EXECUTORS", "ExecutorKind", "executor_kind"]
