"""The one user-facing error family.

The CLI catches :class:`SegArenaError`, prints its message and exits with the
code of its class (2 for bad configuration or input, 1 for a failed run).
Everything else is a bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations


class SegArenaError(Exception):
    """Base of every error a user is expected to read and act on."""

    exit_code: int = 1


class ConfigError(SegArenaError):
    """A benchmark file or command-line option is invalid."""

    exit_code = 2


class InputDataError(SegArenaError):
    """An input file (raw dataset, common-format dataset, mask) is unreadable or inconsistent."""

    exit_code = 2


class UnknownNameError(ConfigError):
    """A dataset, method, metric or executor name is not registered."""


class ExecutorUnavailableError(SegArenaError):
    """The requested executor cannot run on this machine (missing engine, package, device)."""

    exit_code = 2


class JobFailedError(SegArenaError):
    """A job (train, predict, evaluate, ...) failed; the run records it and goes on."""

    exit_code = 1

    def __init__(self, message: str, attempts: int = 1, provenance: dict[str, object] | None = None) -> None:
        super().__init__(message)
        #: starts of the job (more than 1: its node died and it was retried elsewhere)
        self.attempts = attempts
        self.provenance = provenance or {}


class JobCancelledError(JobFailedError):
    """The run was interrupted (Ctrl-C) while this job ran; it is recorded as interrupted and runs again next time."""
