"""Every process a job starts ends with the job: process groups, a job token, and the runs' ledger.

A method starts in its own session (its own process group) and with ``SEGARENA_JOB_TOKEN=<uuid>``
in its environment, which its children inherit. Ending a job kills the group and then every
process whose ``/proc/<pid>/environ`` carries the token, which also catches children that called
``setsid`` (they left the group but kept the environment). A job's token is recorded in
``<run>/running/<token>`` while it runs, with the harness's pid and start time: a run that finds
the file of a harness that is no longer alive (``kill -9``, a dead node) ends that job's
processes and removes its private folder before it starts anything. A record names its machine: on a
run folder shared by the nodes of a cluster (Ray), only the machine that ran a job ends what it left.
Worker pools get :func:`harness.common.workers.die_with_parent` as initializer.

The ``/proc`` scan is Linux only; elsewhere only the process group is ended.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
import uuid
from pathlib import Path

from harness.executors.isolation import SCRATCH_PREFIX, PrivateView

log = logging.getLogger(__name__)

#: The environment variable that marks every process of one job.
JOB_TOKEN_ENV = "SEGARENA_JOB_TOKEN"
#: The folder of a run (``runs/<name>/running``) holding one file per running job, named by its token.
RUNNING_DIR = "running"
_PROC = Path("/proc")


def new_token() -> str:
    return uuid.uuid4().hex


def pids_with_token(token: str) -> list[int]:
    """Processes whose environment holds ``SEGARENA_JOB_TOKEN=<token>`` (never this process)."""
    needle = f"{JOB_TOKEN_ENV}={token}".encode()
    found: list[int] = []
    if not _PROC.is_dir():
        return found
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _is_zombie(pid: int) -> bool:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def end_job_processes(token: str, pgid: int | None = None, wait_s: float = 5.0) -> list[int]:
    """SIGKILL the job's process group and every process carrying its token; returns the pids killed."""
    killed: list[int] = []
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + wait_s
    while True:
        alive = [pid for pid in pids_with_token(token) if not _is_zombie(pid)]
        if not alive:
            return killed
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
        if time.monotonic() > deadline:
            log.warning("processes %s of job token %s did not end within %.0f s", alive, token, wait_s)
            return killed
        time.sleep(0.05)


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a live process from a reused pid), None if it is gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def is_alive(pid: int, start_time: str | None) -> bool:
    if not _PROC.is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    current = _start_time(pid)
    return current is not None and (start_time is None or current == start_time) and not _is_zombie(pid)




#: The label every job container carries: the job's token (see :func:`end_orphaned_jobs`).
CONTAINER_TOKEN_LABEL = "org.segarena.token"


def register_job(running_dir: Path, token: str, job: str, scratch: Path | None = None, container: bool = False) -> Path:
    """Record a running job's token, this harness's pid and the job's private folder (see :func:`unregister_job`).

    ``container``: the job runs in a Docker container labelled ``CONTAINER_TOKEN_LABEL=<token>``.
    """
    running_dir.mkdir(parents=True, exist_ok=True)
    path = running_dir / token
    record = {"harness_pid": os.getpid(), "harness_start": _start_time(os.getpid()), "host": socket.gethostname(),
              "job": job, "started_at": time.time(), "scratch": str(scratch) if scratch else None, "container": container}
    staging = running_dir / f".{token}.tmp"  # written whole, then renamed: a reader never sees half a record
    staging.write_text(json.dumps(record))
    staging.replace(path)
    return path


def unregister_job(running_dir: Path, token: str) -> None:
    (running_dir / token).unlink(missing_ok=True)


def end_orphaned_jobs(running_dir: Path) -> list[tuple[str, list[int]]]:
    """End the processes of jobs whose harness died without ending them; returns (job, pids killed)."""
    ended: list[tuple[str, list[int]]] = []
    if not running_dir.is_dir():
        return ended
    for path in sorted(running_dir.iterdir()):
        if path.name.startswith("."):
            # A record being written, or one a kill -9 cut short before its job started anything
            # (the record comes before the view and the process): drop it once it is stale.
            try:
                if time.time() - path.stat().st_mtime > 60:
                    path.unlink(missing_ok=True)
            except OSError:
                pass
            continue
        try:
            record = json.loads(path.read_text())
            pid = int(record["harness_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("%s: unreadable running-job record, ending its token's processes", path)
            record, pid = {}, -1
        if record.get("host", socket.gethostname()) != socket.gethostname():
            continue  # a job on another machine of a cluster (shared run folder): its pid means nothing here
        if pid > 0 and is_alive(pid, record.get("harness_start")):
            continue  # another run of this benchmark is going on
        killed = end_job_processes(path.name)
        if record.get("container"):
            _remove_job_containers(path.name)
        if killed:
            log.warning("ended %d process(es) left by job %s of a harness that died (pid %s): %s",
                        len(killed), record.get("job", "?"), pid, killed)
        ended.append((str(record.get("job", path.name)), killed))
        scratch = Path(record["scratch"]) if record.get("scratch") else None
        if scratch is not None and scratch.name.startswith(SCRATCH_PREFIX) and scratch.is_dir():
            PrivateView(scratch).remove()  # the dead job's private copies
        path.unlink(missing_ok=True)
    return ended


def _remove_job_containers(token: str) -> None:
    """Remove the containers of a dead harness's job (found by their token label)."""
    try:
        import docker

        client = docker.from_env()
        for container in client.containers.list(all=True, filters={"label": f"{CONTAINER_TOKEN_LABEL}={token}"}):
            log.warning("removing container %s left by a harness that died", container.name)
            container.remove(force=True)
    except Exception as err:  # no SDK or no engine: nothing can be running there either
        log.warning("could not look for containers of job token %s: %s", token, err)
