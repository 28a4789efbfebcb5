"""Peak memory of a job, measured by the harness (never reported by the method itself).

- ``local``: :class:`ProcessTreeSampler` sums, every ``interval_s``, the proportional set size (PSS: shared
  pages split between the processes sharing them, so forked workers are not counted twice) of every process
  carrying the job's token (every 50 ms in the first second, then every 0.5 s) (``SEGARENA_JOB_TOKEN``, which each process the method starts inherits), and keeps
  the largest sum. RSS stands in where ``/proc/<pid>/smaps_rollup`` cannot be read.
- ``docker``: :class:`ContainerSampler` follows the engine's stats stream of the container (about one reading
  a second) and keeps the largest ``max_usage`` (cgroup v1: the kernel's own high-water mark) or ``usage``
  (cgroup v2) minus the page cache the engine reports.

A peak between two readings can be missed; the figure is a lower bound of the true peak, stated as such in
the report. Both record nothing and never fail the job when the numbers cannot be read.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from harness.executors.processes import pids_with_token

_PROC = Path("/proc")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def process_memory_bytes(pid: int) -> int:
    """PSS of ``pid`` in bytes (RSS if smaps_rollup is unreadable); 0 when it is gone."""
    try:
        for line in (_PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int((_PROC / str(pid) / "statm").read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class ProcessTreeSampler:
    """Samples the summed memory of a job's processes in a daemon thread until :meth:`stop`."""

    def __init__(self, token: str, interval_s: float = 0.5) -> None:
        self.token = token
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"memory-{token[:8]}", daemon=True)

    def __enter__(self) -> ProcessTreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sample(self) -> int:
        total = sum(process_memory_bytes(pid) for pid in pids_with_token(self.token))
        self.peak_bytes = max(self.peak_bytes, total)
        self.samples += 1
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            # every 50 ms in the first second (a short job, a child that has not exec'd yet), then interval_s
            self._stop.wait(0.05 if self.samples < 20 else self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    @property
    def peak_mb(self) -> float | None:
        return round(self.peak_bytes / 2**20, 1) if self.peak_bytes else None


def _container_usage(stats: dict[str, Any]) -> int:
    memory = stats.get("memory_stats") or {}
    if memory.get("max_usage"):
        return int(memory["max_usage"])
    usage = int(memory.get("usage") or 0)
    extra = memory.get("stats") or {}
    cache = int(extra.get("inactive_file") or extra.get("total_inactive_file") or 0)
    return max(0, usage - cache)


class ContainerSampler:
    """Follows a running container's stats stream in a daemon thread; ``peak_mb`` once it stopped."""

    def __init__(self, container: Any) -> None:
        self.container = container
        self.peak_bytes = 0
        self.samples = 0
        self._thread = threading.Thread(target=self._loop, name="container-memory", daemon=True)

    def start(self) -> ContainerSampler:
        self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            for stats in self.container.stats(stream=True, decode=True):
                self.peak_bytes = max(self.peak_bytes, _container_usage(stats))
                self.samples += 1
        except Exception:  # the container is gone or the engine went away: keep what was read
            return

    def join(self, timeout_s: float = 5.0) -> None:
        self._thread.join(timeout=timeout_s)

    @property
    def peak_mb(self) -> float | None:
        return round(self.peak_bytes / 2**20, 1) if self.peak_bytes else None
