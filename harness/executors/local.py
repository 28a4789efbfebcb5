"""Local executor: a method entry point as a subprocess on this machine (the embedded default).

What it gives (see containers/CONTRACT.md, "Local isolation"): each job runs in a private temp
folder outside the run folder and the cache (``harness.executors.isolation``), on read-only
copies of its inputs and of its own method folder, hashed before and after (a changed input fails
the job naming the file); the working directory is the private ``out``; the environment holds
no ``SEGARENA_*`` variable but the contract's and no path of the run folder or the cache; the log
arrives through a pipe, so no open file leads back to the run folder; every process the job
starts is ended with it (``harness.executors.processes``). It is not a sandbox: the method runs
as the harness's user and can read whatever that user can read by absolute path.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from harness.config.models import LocalExecutor as LocalSettings
from harness.executors.base import (
    Assignment,
    Availability,
    Capacity,
    Executor,
    Invocation,
    JobResult,
    failure_reason,
    machine_capacity,
)
from harness.executors.devices import describe_devices, gpu_ids
from harness.executors.isolation import PrivateView, make_private_view, private_view_root
from harness.executors.kinds import ExecutorKind
from harness.executors.memory import ProcessTreeSampler
from harness.executors.processes import JOB_TOKEN_ENV, end_job_processes, new_token, register_job, unregister_job
from harness.methods.card import MethodCard
from harness.settings import cache_dir, python_executable

log = logging.getLogger(__name__)

#: The only ``SEGARENA_*`` variables a method sees (set by the harness per job).
CONTRACT_ENV = ("SEGARENA_SEED", "SEGARENA_FOLD", "SEGARENA_THREADS", JOB_TOKEN_ENV)


def method_environment(invocation: Invocation, threads: int, token: str, cwd: Path,
                       gpus: tuple[str, ...] = ()) -> dict[str, str]:
    """The harness's environment without ``SEGARENA_*`` and without any variable naming a hidden path.

    ``CUDA_VISIBLE_DEVICES`` names the job's own GPUs, and is empty for a CPU-only job (it sees none).
    """
    hidden = {str(cache_dir()), str(invocation.log_path.parent), *(str(p) for p in invocation.mounts.values())}
    if invocation.running_dir is not None:
        hidden.add(str(invocation.running_dir.parent))
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("SEGARENA_") and name not in ("PWD", "OLDPWD")
           and not any(path in value for path in hidden)}
    env.update({k: v for k, v in invocation.env.items() if k in CONTRACT_ENV})
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "CUDA_VISIBLE_DEVICES": ",".join(gpus),
                "SEGARENA_THREADS": str(threads), JOB_TOKEN_ENV: token, "PWD": str(cwd)})
    return env


class LocalExecutor(Executor):
    """Runs ``<python> <private copy of methods/<name>>/<entry> train|predict ...`` with the harness's interpreter."""

    name = "local"

    def __init__(self, threads: int | None = None, gpus: int | list[str] | tuple[str, ...] = ()) -> None:
        self.threads = threads
        self.gpus = gpu_ids(gpus)
        self._cancelled = threading.Event()

    def availability(self) -> Availability:
        return Availability(True)

    def capacity(self) -> Capacity:
        return machine_capacity(self.gpus)

    def request(self, card: MethodCard, cpus: int) -> Assignment:
        """``executor.threads`` (when set) instead of the scheduler's CPU slots."""
        return super().request(card, self.threads or cpus)

    def cancel(self) -> None:
        self._cancelled.set()

    def run(self, invocation: Invocation) -> JobResult:
        card = invocation.method
        assert card.folder is not None
        token = new_token()
        # The method's own folder is copied too, so neither its inputs nor its code lead back to the
        # checkout (runs/, the default cache) by walking up.
        root = private_view_root(token)
        # Recorded before the view exists: whenever a kill -9 lands, the next run finds and removes it.
        if invocation.running_dir is not None:
            register_job(invocation.running_dir, token, invocation.log_path.parent.name, root)
        try:
            view = make_private_view({**invocation.mounts, "code": card.code_files()}, root)
            try:
                return self._run_in(view, invocation, token)
            finally:
                view.remove()
        finally:
            if invocation.running_dir is not None:
                unregister_job(invocation.running_dir, token)

    def _run_in(self, view: PrivateView, invocation: Invocation, token: str) -> JobResult:
        card = invocation.method
        assert card.folder is not None
        paths = {role: str(path) for role, path in view.paths.items()}
        command = [python_executable(), str(view.paths["code"] / card.entry), *invocation.arguments(paths)]
        cwd = view.paths["out"]
        assignment = invocation.assignment
        threads = assignment.cpus if assignment is not None else (self.threads or os.cpu_count() or 1)
        gpus = assignment.gpus if assignment is not None else ()
        env = method_environment(invocation, threads, token, cwd, gpus)
        invocation.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        status, reason = "done", ""
        exit_code: int | None = 0
        with invocation.log_path.open("wb") as log_file:
            log_file.write(f"$ {' '.join(command)}\n".encode())
            log_file.flush()
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, cwd=str(cwd), start_new_session=True)
            assert process.stdout is not None
            follower = threading.Thread(target=_copy_stream, args=(process.stdout, log_file), daemon=True)
            follower.start()
            memory = ProcessTreeSampler(token).__enter__()
            try:
                status, exit_code, reason = self._wait(process, invocation.timeout_s, started)
            finally:  # also on Ctrl-C (KeyboardInterrupt): nothing the job started outlives it
                memory.stop()
                leftovers = end_job_processes(token, process.pid)
                process.wait()
                follower.join(timeout=10)
        if leftovers and status == "done":
            log.info("%s: ended %d process(es) the method left running", invocation.log_path, len(leftovers))
        duration = time.monotonic() - started
        changed = view.changed_inputs()
        view.return_outputs(invocation.mounts["out"])
        provenance = {"executor": "local", "python": python_executable(), "method_code_sha256": card.code_hash(),
                      "isolation": "private read-only copies, hashed before and after; not a sandbox",
                      "input_bytes_copied": view.bytes_copied, "threads": threads,
                      "host": socket.gethostname(), "devices": describe_devices(gpus),
                      "peak_memory_mb": memory.peak_mb, "memory_measured": "PSS of the job's processes, every 0.5 s"}
        if changed:
            shown = "; ".join(changed[:5]) + (f"; … ({len(changed)} in all)" if len(changed) > 5 else "")
            return JobResult("failed", exit_code, duration,
                             f"contract violation: the method changed its read-only inputs ({shown}); a method "
                             f"writes only to --out (log: {invocation.log_path})", provenance)
        if status in ("timeout", "cancelled"):
            return JobResult("timeout" if status == "timeout" else "cancelled", None, duration, reason, provenance)
        if exit_code != 0:
            return JobResult("failed", exit_code, duration, failure_reason(exit_code, invocation.log_path), provenance)
        return JobResult("done", 0, duration, "", provenance)


    def _wait(self, process: subprocess.Popen[bytes], timeout_s: int, started: float) -> tuple[str, int | None, str]:
        """Wait for the method, polling for the time limit and for cancel() (Ctrl-C reaches only the scheduler)."""
        while True:
            try:
                return "done", process.wait(timeout=0.2), ""
            except subprocess.TimeoutExpired:
                pass
            if self._cancelled.is_set():
                return "cancelled", None, "the run was interrupted"
            if time.monotonic() - started > timeout_s:
                return "timeout", None, f"killed after the time limit of {timeout_s} s"


def _copy_stream(stream: IO[bytes], log_file: IO[bytes]) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
        log_file.write(chunk)
        log_file.flush()
    stream.close()


def _create(settings: LocalSettings) -> LocalExecutor:
    return LocalExecutor(settings.threads, settings.gpus)


#: Registered as "local" in harness.executors.kinds.
KIND = ExecutorKind(LocalSettings, _create)
