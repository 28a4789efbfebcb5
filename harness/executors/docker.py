"""Docker executor: one container per job, sandboxed, on the Docker SDK.

Each job runs its method's image (``harness.containers.images.image_reference``) with the
contract's mounts (inputs read-only, only ``/out`` writable, test labels never mounted), no
network, a non-root user, a read-only root with a tmpfs ``/tmp``, memory / CPU / shared-memory
limits, GPUs by device requests, a time limit with kill, and out-of-memory reported as such.
The container is always removed, also when its start fails. See containers/CONTRACT.md.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from harness.config.models import DockerExecutor as DockerSettings
from harness.containers.engine import NVIDIA_HINT, connect, engine_version
from harness.containers.images import LABEL_JOB, LABEL_METHOD, build_command, find_image, image_reference
from harness.errors import ConfigError, ExecutorUnavailableError
from harness.executors.base import (
    CONTAINER_PATHS,
    WRITABLE_ROLES,
    Assignment,
    Availability,
    Capacity,
    Executor,
    Invocation,
    JobResult,
    machine_capacity,
    tail,
)
from harness.executors.devices import describe_devices, gpu_ids
from harness.executors.kinds import ExecutorKind
from harness.executors.memory import ContainerSampler
from harness.executors.processes import CONTAINER_TOKEN_LABEL, new_token, register_job, unregister_job

#: The container user when the harness itself runs as root (methods never run as root).
ROOTLESS_FALLBACK_USER = "1000:1000"
#: Host variables that must reach the method unchanged (machine-local numerics fixes).
PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_GIB = 1024**3


def container_user(configured: str | None = None) -> str:
    """``uid:gid`` for the container: the configured one, else the harness's own, else 1000:1000 under root."""
    if configured:
        if configured.split(":")[0] in ("0", "root"):
            raise ConfigError(f"executor.user: {configured!r} is root; methods run as a non-root user")
        return configured
    uid, gid = os.getuid(), os.getgid()
    return ROOTLESS_FALLBACK_USER if uid == 0 else f"{uid}:{gid}"


def device_requests(devices: tuple[str, ...]) -> list[Any]:
    """The GPU device request of one job: exactly its assigned device ids (none for a CPU-only job).

    Inside the container the devices are renumbered from 0 (the NVIDIA runtime exposes only these).
    """
    if not devices:
        return []
    import docker

    return [docker.types.DeviceRequest(device_ids=list(devices), capabilities=[["gpu"]])]


class DockerExecutor(Executor):
    name = "docker"

    def __init__(self, settings: DockerSettings | None = None, client: Any | None = None) -> None:
        self.settings = settings or DockerSettings()
        self._client = client
        self.user = container_user(self.settings.user)
        self.gpus = gpu_ids(self.settings.gpus)
        self._cancelled = threading.Event()
        self._containers: dict[str, Any] = {}  # token -> running container (cancel() kills them)
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect()
        return self._client

    def availability(self) -> Availability:
        try:
            self.client  # noqa: B018 - connects and pings
        except ExecutorUnavailableError as err:
            return Availability(False, str(err))
        return Availability(True)

    def missing_for(self, methods: list[Any]) -> list[str]:
        """The methods whose current image is not on the engine, then the command that builds them."""
        problems, unbuilt = [], []
        for card in methods:
            try:
                reference = image_reference(card)
            except ConfigError as err:
                problems.append(str(err))
                continue
            if find_image(self.client, reference) is None:
                problems.append(f"method '{card.name}': image {reference} is not built")
                unbuilt.append(card.name)
        if unbuilt:
            problems.append(f"build with `segarena containers build {' '.join(sorted(unbuilt))}` (no registry: add "
                            "`--base local`; offline: `--wheelhouse DIR`)")
        return problems

    # -- what the scheduler may give ---------------------------------------------------------
    def capacity(self) -> Capacity:
        return machine_capacity(self.gpus)

    def request(self, card: Any, cpus: int) -> Assignment:
        """A job holds ``ceil(executor.cpus)`` slots when the container's CPU limit is set, else the scheduler's."""
        if self.settings.cpus is not None:
            cpus = max(1, math.ceil(self.settings.cpus))
        asked = super().request(card, cpus)
        return replace(asked, memory_gb=self.settings.memory_gb or asked.memory_gb)

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            containers = list(self._containers.values())
        for container in containers:
            try:
                container.kill()
            except Exception:  # noqa: BLE001 - already gone
                pass

    # -- what a container gets -------------------------------------------------------------
    def threads(self, assignment: Assignment | None = None) -> int:
        if self.settings.cpus is not None:
            return max(1, math.floor(self.settings.cpus))
        if assignment is not None:
            return assignment.cpus
        return os.cpu_count() or 1

    def memory_gb(self, invocation: Invocation) -> float:
        """The configured limit (``executor.memory_gb``), else what the method card asks for."""
        return self.settings.memory_gb or invocation.method.resources.memory_gb

    def environment(self, invocation: Invocation, gpu_requested: bool) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        env.update(invocation.env)
        env.update({"SEGARENA_THREADS": str(self.threads(invocation.assignment)), "PYTHONUNBUFFERED": "1", "HOME": "/tmp",
                    "HF_HUB_OFFLINE": "1"})
        if not gpu_requested:
            env["CUDA_VISIBLE_DEVICES"] = ""
        return env

    def container_options(self, invocation: Invocation, token: str = "") -> dict[str, Any]:
        """Keyword arguments of ``client.containers.create`` for this job (no engine needed).

        ``token`` labels the container, so a run after a kill -9 of this one can find and remove it.
        """
        volumes = {}
        for role, host in invocation.mounts.items():
            if role not in CONTAINER_PATHS:
                raise ConfigError(f"unknown mount role {role!r}; expected one of {', '.join(CONTAINER_PATHS)}")
            volumes[str(Path(host).resolve())] = {
                "bind": CONTAINER_PATHS[role], "mode": "rw" if role in WRITABLE_ROLES else "ro"
            }
        requests = device_requests(self.devices(invocation))
        memory = int(self.memory_gb(invocation) * _GIB)
        options: dict[str, Any] = {
            "command": invocation.arguments(CONTAINER_PATHS),
            "volumes": volumes,
            "environment": self.environment(invocation, bool(requests)),
            "user": self.user,
            "network_mode": "none",
            "read_only": True,
            "tmpfs": {"/tmp": "rw,exec,nosuid,nodev,mode=1777"},
            "working_dir": CONTAINER_PATHS["out"],
            "mem_limit": memory,
            "memswap_limit": memory,  # no swap beyond the limit: over it is out of memory
            "shm_size": int(self.settings.shm_gb * _GIB),
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "pids_limit": 4096,
            "init": True,
            "labels": {LABEL_METHOD: invocation.method.name, LABEL_JOB: invocation.log_path.parent.name,
                       CONTAINER_TOKEN_LABEL: token},
            "detach": True,
        }
        if self.settings.cpus is not None:
            options["nano_cpus"] = int(self.settings.cpus * 1e9)
        elif invocation.assignment is not None:  # the job's CPU slots are its limit
            options["nano_cpus"] = int(invocation.assignment.cpus * 1e9)
        if requests:
            options["device_requests"] = requests
        return options

    def devices(self, invocation: Invocation) -> tuple[str, ...]:
        """The job's GPU devices: its assignment's; a lone run (no scheduler) of a GPU method gets the first."""
        if invocation.assignment is not None:
            return invocation.assignment.gpus
        wanted = invocation.method.resources.gpu
        return self.gpus[:wanted] if wanted > 0 else ()

    # -- running -------------------------------------------------------------------------------
    def run(self, invocation: Invocation) -> JobResult:
        import docker

        card = invocation.method
        try:
            reference = image_reference(card)
        except ConfigError as err:
            return JobResult("failed", None, 0.0, str(err))
        image = find_image(self.client, reference)
        if image is None:
            return JobResult("failed", None, 0.0,
                             f"the image {reference} of method '{card.name}' is not built (or is older than the "
                             f"method's folder): run `{build_command(card)}` (offline: add `--wheelhouse DIR`; "
                             f"without a registry: add `--base local`)")
        token = new_token()
        options = self.container_options(invocation, token)
        provenance = {
            "executor": "docker", "image": reference, "image_id": image.id, "repo_digests": list(image.repo_digests),
            "engine": engine_version(self.client), "method_code_sha256": card.code_hash(), "user": self.user,
            "network": "none", "memory_gb": self.memory_gb(invocation),
            "cpus": options.get("nano_cpus", 0) / 1e9 or None, "threads": self.threads(invocation.assignment),
            "gpus": list(self.devices(invocation)), "devices": describe_devices(self.devices(invocation)),
            "host": socket.gethostname(),
        }
        out = invocation.mounts["out"]
        invocation.log_path.parent.mkdir(parents=True, exist_ok=True)
        _hand_over(out, self.user)
        started = time.monotonic()
        container = None
        if invocation.running_dir is not None:
            register_job(invocation.running_dir, token, invocation.log_path.parent.name, container=True)
        with invocation.log_path.open("w") as log:
            log.write(f"$ docker run --rm {_flags(options)} {reference} {' '.join(options['command'])}\n")
            log.flush()
            try:
                container = self.client.containers.create(reference, **options)
                with self._lock:
                    self._containers[token] = container
                if self._cancelled.is_set():
                    return JobResult("cancelled", None, 0.0, "the run was interrupted", provenance)
                try:
                    container.start()
                except docker.errors.APIError as err:
                    explanation = str(err.explanation or err)
                    if "could not select device driver" in explanation or "nvidia" in explanation.lower():
                        raise ExecutorUnavailableError(
                            f"GPUs were requested (devices {', '.join(self.devices(invocation))}) but the Docker engine cannot "
                            f"give any ({explanation}): {NVIDIA_HINT}"
                        ) from err
                    return JobResult("failed", None, time.monotonic() - started,
                                     f"the container did not start: {explanation}", provenance)
                follower = _LogFollower(container, log)
                memory = ContainerSampler(container).start()
                status, exit_code, reason = self._wait(container, invocation, started)
                follower.join()
                memory.join()
                provenance["peak_memory_mb"] = memory.peak_mb
                provenance["memory_measured"] = "the container's memory (engine stats, about once a second)"
            except docker.errors.APIError as err:
                return JobResult("failed", None, time.monotonic() - started,
                                 f"Docker engine error: {err.explanation or err}", provenance)
            finally:
                with self._lock:
                    self._containers.pop(token, None)
                if container is not None:
                    _remove(container)
                _take_back(out)
                if invocation.running_dir is not None:
                    unregister_job(invocation.running_dir, token)
        duration = time.monotonic() - started
        if self._cancelled.is_set() and status != "done":
            return JobResult("cancelled", None, duration, "the run was interrupted", provenance)
        if status == "failed":
            reason = f"{reason}: {tail(invocation.log_path, 8)}"
        return JobResult(status, exit_code, duration, reason, provenance)

    def _wait(self, container: Any, invocation: Invocation, started: float) -> tuple[Any, int | None, str]:
        import requests

        try:
            exit_code = int(container.wait(timeout=invocation.timeout_s)["StatusCode"])
        except requests.exceptions.RequestException:
            if time.monotonic() - started < invocation.timeout_s * 0.99:
                raise
            container.kill()
            container.wait(timeout=60)
            return "timeout", None, f"killed after the time limit of {invocation.timeout_s} s"
        container.reload()
        if container.attrs.get("State", {}).get("OOMKilled"):
            limit = self.memory_gb(invocation)
            return ("oom", exit_code,
                    f"out of memory: killed at the memory limit of {limit:g} GB (raise the card's resources.memory_gb "
                    f"or executor.memory_gb)")
        if exit_code != 0:
            return "failed", exit_code, f"exit code {exit_code}"
        return "done", 0, ""


class _LogFollower:
    """Copies the container's output into the job's log while it runs."""

    def __init__(self, container: Any, log: IO[str]) -> None:
        self._container, self._log = container, log
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            for chunk in self._container.logs(stream=True, follow=True, stdout=True, stderr=True):
                self._log.write(chunk.decode(errors="replace") if isinstance(chunk, bytes) else str(chunk))
                self._log.flush()
        except Exception as err:  # the engine closed the stream (kill, removal): the log just ends
            self._log.write(f"\n[segarena: log stream ended: {type(err).__name__}]\n")

    def join(self) -> None:
        self._thread.join(timeout=30)


def _remove(container: Any) -> None:
    import docker

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError:  # removal already in progress
        pass


def _hand_over(out: Path, user: str) -> None:
    """Under root, give the writable folder to the container's user (it writes as that uid)."""
    if os.getuid() != 0:
        return
    uid, _, gid = user.partition(":")
    for path in [out, *out.rglob("*")]:
        os.chown(path, int(uid), int(gid or uid), follow_symlinks=False)


def _take_back(out: Path) -> None:
    """Under root, give the outputs back to the harness's user."""
    if os.getuid() != 0 or not out.exists():
        return
    for path in [out, *out.rglob("*")]:
        os.chown(path, 0, 0, follow_symlinks=False)


def _flags(options: dict[str, Any]) -> str:
    """The options as docker-run flags, for the log header (a reader can rerun the job by hand)."""
    parts = [f"--user {options['user']}", "--network none", "--read-only", "--tmpfs /tmp",
             f"--memory {options['mem_limit'] // (1024 * 1024)}m", f"--shm-size {options['shm_size'] // (1024 * 1024)}m",
             "--cap-drop ALL", "--security-opt no-new-privileges", "--init"]
    if "nano_cpus" in options:
        parts.append(f"--cpus {options['nano_cpus'] / 1e9:g}")
    if "device_requests" in options:
        ids = ",".join(",".join(r.get("DeviceIDs") or []) for r in options["device_requests"])
        parts.append(f"--gpus '\"device={ids}\"'")
    parts += [f"-v {host}:{spec['bind']}:{spec['mode']}" for host, spec in options["volumes"].items()]
    parts += [f"-e {name}={value}" for name, value in sorted(options["environment"].items()) if name.startswith("SEGARENA_")]
    return " ".join(parts)


#: Registered as "docker" in harness.executors.kinds.
KIND = ExecutorKind(DockerSettings, DockerExecutor)
