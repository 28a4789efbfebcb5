"""What each job holds while it runs: CPU slots, memory, GPU devices; taken from and given back to one pool.

The scheduler asks :meth:`ResourcePool.take` for a job's request (``harness.executors.base.Assignment``
with ``gpu_count``); the pool names free GPU devices when the executor's capacity names them (local,
docker), so no device is ever held by two jobs at once, and only counts them when the executor assigns
devices itself (Ray). A request larger than the whole capacity can never run: :meth:`ResourcePool.never_fits`
says why, and the scheduler fails that job at once instead of waiting for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from harness.executors.base import Assignment, Capacity


def jobs_cap(capacity: Capacity, requested: int | None) -> int:
    """How many jobs may run at once: ``--jobs`` / ``executor.jobs``, else one per CPU slot."""
    return requested if requested is not None else max(1, capacity.cpus)


def cpus_per_job(capacity: Capacity, card_cpus: int, cap: int) -> int:
    """CPU slots (= torch threads) of one method job: its card's, or an equal share when fewer jobs run at once.

    ``--jobs 1`` on 2 cores gives each job both cores; the default (one job per core) gives each its card's
    ``resources.cpus``. It depends only on the configuration and the machine, never on what else is running,
    so a rerun uses the same threads.
    """
    return max(1, min(max(card_cpus, capacity.cpus // max(cap, 1)), max(capacity.cpus, 1)))


@dataclass
class ResourcePool:
    capacity: Capacity
    max_jobs: int
    used_cpus: int = 0
    used_memory_gb: float = 0.0
    used_gpu_count: int = 0
    running: int = 0
    held_gpus: set[str] = field(default_factory=set)

    def never_fits(self, request: Assignment) -> str | None:
        """Why ``request`` cannot run with this capacity even when nothing else runs; None if it can."""
        cap = self.capacity
        if request.gpu_count > cap.n_gpus:
            have = f"{cap.n_gpus} ({', '.join(cap.gpus)})" if cap.gpus else str(cap.n_gpus)
            return (f"asks for {request.gpu_count} GPU(s) but {cap.where} has {have}; give the executor GPUs "
                    f"(executor.gpus / a GPU node) or run it on the CPU (executor.gpus_per_job: 0)")
        if cap.largest_node is not None:
            node_cpus, node_memory, node_gpus = cap.largest_node
            if request.gpu_count > node_gpus:
                return (f"asks for {request.gpu_count} GPU(s) on one node; the largest node of {cap.where} has "
                        f"{node_gpus}")
            if request.cpus > node_cpus:
                return f"asks for {request.cpus} CPUs on one node; the largest node of {cap.where} has {node_cpus}"
        return None

    def fits(self, request: Assignment) -> bool:
        if self.running >= self.max_jobs:
            return False
        if self.running and self.used_cpus + request.cpus > self.capacity.cpus:
            return False
        if self.running and self.used_memory_gb + self._memory(request) > self.capacity.memory_gb:
            return False
        return self.used_gpu_count + request.gpu_count <= self.capacity.n_gpus

    def _memory(self, request: Assignment) -> float:
        # memory is a scheduling hint (not enforced by the local executor): a request above the whole machine
        # runs alone rather than never
        return min(request.memory_gb, self.capacity.memory_gb)

    def take(self, request: Assignment) -> Assignment:
        """Hold ``request`` (call :meth:`fits` first); the assignment names its GPU devices where they are named."""
        assert self.fits(request), "take() without fits()"
        self.running += 1
        self.used_cpus += request.cpus
        self.used_memory_gb += self._memory(request)
        self.used_gpu_count += request.gpu_count
        if self.capacity.gpus and request.gpu_count:
            free = [g for g in self.capacity.gpus if g not in self.held_gpus][: request.gpu_count]
            self.held_gpus.update(free)
            return replace(request, gpus=tuple(free), gpu_count=0)
        return request

    def give_back(self, assignment: Assignment) -> None:
        self.running -= 1
        self.used_cpus -= assignment.cpus
        self.used_memory_gb -= self._memory(assignment)
        self.used_gpu_count -= assignment.n_gpus
        self.held_gpus.difference_update(assignment.gpus)
