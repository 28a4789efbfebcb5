"""Local executor: a method entry point as a subprocess on this machine (the embedded default)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from harness.executors.base import Availability, Executor, Invocation, JobResult, failure_reason
from harness.settings import python_executable


class LocalExecutor(Executor):
    """Runs ``<python> methods/<name>/<entry> train|predict ...`` with the harness's own interpreter.

    No isolation beyond a fresh process: the predict step still only receives a
    folder of test images (hard links, so no path leads back to the labels).
    """

    name = "local"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def availability(self) -> Availability:
        return Availability(True)

    def run(self, invocation: Invocation) -> JobResult:
        card = invocation.method
        assert card.folder is not None
        script = card.folder / card.entry
        paths = {role: str(path) for role, path in invocation.mounts.items()}
        command = [python_executable(), str(script), *invocation.arguments(paths)]
        env = {**os.environ, **invocation.env, "PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": ""}
        env["SEGARENA_THREADS"] = str(self.threads or os.cpu_count() or 1)
        invocation.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with invocation.log_path.open("w") as log:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(invocation.mounts["out"]),
                start_new_session=True,
            )
            try:
                exit_code = process.wait(timeout=invocation.timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return JobResult("timeout", None, time.monotonic() - started,
                                 f"killed after the time limit of {invocation.timeout_s} s")
        duration = time.monotonic() - started
        provenance = {"executor": "local", "python": python_executable(), "method_code_sha256": card.code_hash()}
        if exit_code != 0:
            return JobResult("failed", exit_code, duration, failure_reason(exit_code, invocation.log_path), provenance)
        return JobResult("done", 0, duration, "", provenance)
