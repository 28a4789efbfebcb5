"""The executor plug point: ``run(invocation) -> JobResult`` plus ``availability()``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.contract.mounts import CONTAINER_PATHS, ROLE_FLAGS, WRITABLE_ROLES
from harness.methods.card import MethodCard

__all__ = ["CONTAINER_PATHS", "WRITABLE_ROLES", "Availability", "Executor", "Invocation", "JobResult",
           "failure_reason", "last_error_line", "tail"]


@dataclass(frozen=True)
class Invocation:
    """One run of a method entry point under the contract."""

    method: MethodCard
    command: Literal["train", "predict"]
    mounts: dict[str, Path]  # role → host path
    env: dict[str, str]
    timeout_s: int
    log_path: Path
    #: Where the tokens of running jobs are recorded (``<run>/running``), so a rerun ends what a killed run left.
    running_dir: Path | None = None

    def arguments(self, paths: dict[str, str]) -> list[str]:
        """Command-line arguments with each role's path as the method sees it."""
        args: list[str] = [self.command]
        for role, flag in ROLE_FLAGS.items():
            if role in self.mounts:
                args += [flag, paths[role]]
        return args


@dataclass(frozen=True)
class JobResult:
    status: Literal["done", "failed", "timeout", "oom"]
    exit_code: int | None
    duration_s: float
    reason: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class Availability:
    available: bool
    missing: str = ""  # what is missing and how to get it


class Executor(ABC):
    name: str

    @abstractmethod
    def availability(self) -> Availability: ...

    @abstractmethod
    def run(self, invocation: Invocation) -> JobResult: ...

    def missing_for(self, methods: list[Any]) -> list[str]:
        """What this executor lacks to run these methods (checked once before a run starts); none by default."""
        return []


def last_error_line(path: Path) -> str:
    """The last non-empty line of a log: for a Python crash, the exception and its message."""
    for line in reversed(tail(path, 40).splitlines()):
        if line.strip():
            return line.strip()
    return "(empty log)"


def failure_reason(exit_code: int | None, log_path: Path) -> str:
    return f"exit code {exit_code}: {last_error_line(log_path)} (log: {log_path})"


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, for failure reasons."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
