"""An outside executor kind in one module: runs jobs like ``local`` and writes one line per job to a journal.

A benchmark uses it with ``plugins: {executors: [tests.plugins.journal_executor]}`` and
``executor: {kind: journal, journal: /some/file}``; importing this module registers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from harness.config.models import ExecutorSettings
from harness.executors.base import Invocation, JobResult
from harness.executors.kinds import EXECUTORS, ExecutorKind
from harness.executors.local import LocalExecutor


class JournalSettings(ExecutorSettings):
    kind: Literal["journal"] = "journal"
    journal: Path


class JournalExecutor(LocalExecutor):
    name = "journal"

    def __init__(self, settings: JournalSettings) -> None:
        super().__init__(threads=1)
        self.journal = settings.journal

    def run(self, invocation: Invocation) -> JobResult:
        with self.journal.open("a") as handle:
            handle.write(f"{invocation.method.name} {invocation.command}\n")
        return super().run(invocation)


if "journal" not in EXECUTORS:
    EXECUTORS.add("journal", ExecutorKind(JournalSettings, JournalExecutor),
                  description="local, plus a journal line per job (a test plugin)")
