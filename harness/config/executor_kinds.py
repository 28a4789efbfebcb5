"""The executor kinds: each one's settings model (the ``executor:`` section) and its class, registered together.

A kind is an :class:`ExecutorKind` object in its own module, registered here by import path, so listing
the kinds or validating a benchmark file imports only the kind that is named::

    # harness/executors/slurm.py
    class SlurmSettings(ExecutorSettings):          # harness.config.models.ExecutorSettings
        kind: Literal["slurm"] = "slurm"
        partition: str = "gpu"

    class SlurmExecutor(Executor): ...              # availability() + run(invocation)

    KIND = ExecutorKind(SlurmSettings, SlurmExecutor)   # create(settings) builds the executor

    # here, one line:
    EXECUTORS.register("slurm", "harness.executors.slurm:KIND", description="one sbatch job per job")

An outside executor registers itself the same way when its module is imported
(``EXECUTORS.add("name", KIND)``); a benchmark names that module in ``plugins.executors``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import ExecutorUnavailableError
from harness.registry import Registry

if TYPE_CHECKING:
    from harness.config.models import ExecutorSettings
    from harness.executors.base import Executor


@dataclass(frozen=True)
class ExecutorKind:
    """One executor kind: the pydantic model of its settings and how to build it from them."""

    settings: type[ExecutorSettings]
    create: Callable[[Any], Executor]


EXECUTORS: Registry[ExecutorKind] = Registry("executor", unavailable_error=ExecutorUnavailableError)

EXECUTORS.register("local", "harness.executors.local:KIND",
                   description="a subprocess on this machine, in a private read-only view (the default)")
EXECUTORS.register("docker", "harness.executors.docker:KIND",
                   description="one sandboxed container per job (Docker engine, `segarena containers build`)",
                   check=lambda: None if importlib.util.find_spec("docker") else
                   "needs the Docker SDK for Python: pip install 'docker>=7'")


def ray_missing() -> str | None:
    """Why the ``ray`` kind cannot be used here (Ray is not installed), or None; never imports Ray."""
    if importlib.util.find_spec("ray") is None:
        return "needs Ray: pip install ray==2.60.0 (on the driver and on every node)"
    return None


EXECUTORS.register("ray", "harness.executors.ray:KIND",
                   description="one Ray task per job on a Ray cluster (or a local Ray), each running the local or "
                               "docker contract on its node",
                   check=ray_missing)


def executor_kind(name: str) -> ExecutorKind:
    """The kind called ``name`` (unknown: did-you-mean and the registered kinds)."""
    return EXECUTORS.get(name)
