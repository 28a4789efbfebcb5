"""The executor plug point: ``run(invocation) -> JobResult`` plus ``availability()``."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.contract.mounts import CONTAINER_PATHS, ROLE_FLAGS, WRITABLE_ROLES
from harness.methods.card import MethodCard

__all__ = ["CONTAINER_PATHS", "WRITABLE_ROLES", "Assignment", "Availability", "Capacity", "Executor", "Invocation",
           "JobResult", "failure_reason", "last_error_line", "tail"]


@dataclass(frozen=True)
class Assignment:
    """What the scheduler gave one job for its whole duration: CPU slots, GPU devices, memory.

    ``gpus`` names the devices (ids as the executor knows them, e.g. ``("2",)``); a CPU-only job has none.
    ``gpu_count`` is used instead where the executor picks the devices itself (Ray sets them per task).
    The method runs with ``SEGARENA_THREADS = cpus``.
    """

    cpus: int = 1
    gpus: tuple[str, ...] = ()
    memory_gb: float = 4.0
    gpu_count: int = 0

    @property
    def n_gpus(self) -> int:
        return len(self.gpus) or self.gpu_count

    def describe(self) -> str:
        """Short, for progress lines: ``1 cpu``, ``2 cpu, gpu 3``."""
        text = f"{self.cpus} cpu"
        if self.gpus:
            text += f", gpu {','.join(self.gpus)}"
        elif self.gpu_count:
            text += f", {self.gpu_count} gpu"
        return text


@dataclass(frozen=True)
class Capacity:
    """What an executor can run at once: CPU slots, memory, GPUs (device ids, or a count it assigns itself)."""

    cpus: int
    memory_gb: float
    gpus: tuple[str, ...] = ()
    #: GPUs the executor assigns itself (Ray): counted by the scheduler, never named.
    gpu_count: int = 0
    #: Where jobs can run, for messages: ``this machine (2 cores, 23.5 GiB)``, ``ray cluster of 2 nodes``.
    where: str = "this machine"
    #: The largest single node (a job must fit on one node): cpus, memory_gb, gpus. None: the whole capacity.
    largest_node: tuple[int, float, int] | None = None
    #: Method jobs run on the harness's own machine (local, docker), sharing its cores with the jobs the
    #: harness runs itself (convert, evaluate, ...); False (Ray): those have this machine to themselves.
    on_this_machine: bool = True

    @property
    def n_gpus(self) -> int:
        return len(self.gpus) or self.gpu_count


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
    #: The job's CPU slots / GPUs / memory from the scheduler; None (a lone run, e.g. ``method verify``):
    #: every core of this machine, no GPU.
    assignment: Assignment | None = None

    def arguments(self, paths: dict[str, str]) -> list[str]:
        """Command-line arguments with each role's path as the method sees it."""
        args: list[str] = [self.command]
        for role, flag in ROLE_FLAGS.items():
            if role in self.mounts:
                args += [flag, paths[role]]
        return args


@dataclass(frozen=True)
class JobResult:
    status: Literal["done", "failed", "timeout", "oom", "cancelled"]
    exit_code: int | None
    duration_s: float
    reason: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    #: How many times the job was started (more than 1: retried after its node died, never after its own failure).
    attempts: int = 1

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

    def request(self, card: MethodCard, cpus: int) -> Assignment:
        """What one job of ``card`` asks the scheduler for, GPUs as a count (``gpu_count``; the scheduler names them).

        By default a GPU-capable method gets its card's GPUs when the executor has any (at most what it has)
        and runs on the CPU otherwise; an executor where a GPU job must not fall back (Ray with
        ``gpus_per_job``) asks for more than it has, and the scheduler fails that job at once, saying why.
        """
        gpus = min(card.resources.gpu, self.capacity().n_gpus)
        return Assignment(cpus=cpus, memory_gb=card.resources.memory_gb, gpu_count=gpus)

    def capacity(self) -> Capacity:
        """What can run at once; by default this machine's cores and memory, no GPU."""
        return machine_capacity()

    def prepare(self, run_dir: Path) -> None:
        """Called once before the first job of a run (e.g. Ray checks every node sees ``run_dir``)."""
        return None

    def cancel(self) -> None:
        """Stop every job this executor is running (Ctrl-C): each ``run`` returns soon with status ``cancelled``."""
        return None

    def close(self) -> None:
        """Release what the executor holds (connections, a cluster it started) at the end of a run."""
        return None


def machine_capacity(gpus: tuple[str, ...] = ()) -> Capacity:
    """This machine: its usable cores (the affinity mask) and its physical memory."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return Capacity(cpus, round(memory_gb, 1), gpus, where=f"this machine ({cpus} cores, {memory_gb:.1f} GiB)")


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
