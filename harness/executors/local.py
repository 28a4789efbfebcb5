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
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from harness.config.models import LocalExecutor as LocalSettings
from harness.executors.base import Availability, Executor, Invocation, JobResult, failure_reason
from harness.executors.isolation import PrivateView, make_private_view, private_view_root
from harness.executors.kinds import ExecutorKind
from harness.executors.processes import JOB_TOKEN_ENV, end_job_processes, new_token, register_job, unregister_job
from harness.settings import cache_dir, python_executable

log = logging.getLogger(__name__)

#: The only ``SEGARENA_*`` variables a method sees (set by the harness per job).
CONTRACT_ENV = ("SEGARENA_SEED", "SEGARENA_FOLD", "SEGARENA_THREADS", JOB_TOKEN_ENV)


def method_environment(invocation: Invocation, threads: int, token: str, cwd: Path) -> dict[str, str]:
    """The harness's environment without ``SEGARENA_*`` and without any variable naming a hidden path."""
    hidden = {str(cache_dir()), str(invocation.log_path.parent), *(str(p) for p in invocation.mounts.values())}
    if invocation.running_dir is not None:
        hidden.add(str(invocation.running_dir.parent))
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("SEGARENA_") and name not in ("PWD", "OLDPWD")
           and not any(path in value for path in hidden)}
    env.update({k: v for k, v in invocation.env.items() if k in CONTRACT_ENV})
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "CUDA_VISIBLE_DEVICES": "",
                "SEGARENA_THREADS": str(threads), JOB_TOKEN_ENV: token, "PWD": str(cwd)})
    return env


class LocalExecutor(Executor):
    """Runs ``<python> <private copy of methods/<name>>/<entry> train|predict ...`` with the harness's interpreter."""

    name = "local"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def availability(self) -> Availability:
        return Availability(True)

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
            view = make_private_view({**invocation.mounts, "code": card.folder}, root)
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
        env = method_environment(invocation, self.threads or os.cpu_count() or 1, token, cwd)
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
            try:
                exit_code = process.wait(timeout=invocation.timeout_s)
            except subprocess.TimeoutExpired:
                status, exit_code = "timeout", None
                reason = f"killed after the time limit of {invocation.timeout_s} s"
            finally:  # also on Ctrl-C (KeyboardInterrupt): nothing the job started outlives it
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
                      "input_bytes_copied": view.bytes_copied}
        if changed:
            shown = "; ".join(changed[:5]) + (f"; … ({len(changed)} in all)" if len(changed) > 5 else "")
            return JobResult("failed", exit_code, duration,
                             f"contract violation: the method changed its read-only inputs ({shown}); a method "
                             f"writes only to --out (log: {invocation.log_path})", provenance)
        if status == "timeout":
            return JobResult("timeout", None, duration, reason, provenance)
        if exit_code != 0:
            return JobResult("failed", exit_code, duration, failure_reason(exit_code, invocation.log_path), provenance)
        return JobResult("done", 0, duration, "", provenance)


def _copy_stream(stream: IO[bytes], log_file: IO[bytes]) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
        log_file.write(chunk)
        log_file.flush()
    stream.close()


def _create(settings: LocalSettings) -> LocalExecutor:
    return LocalExecutor(settings.threads)


#: Registered as "local" in harness.executors.kinds.
KIND = ExecutorKind(LocalSettings, _create)
