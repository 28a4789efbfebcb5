"""The connection to a Docker engine, and the clear errors when there is none."""

from __future__ import annotations

import os
from typing import Any

from harness.errors import ExecutorUnavailableError

START_HINT = (
    "start one: as root on Debian/Ubuntu without systemd, `containers/engine.sh start` (installs docker.io "
    "when needed); with systemd, `sudo systemctl start docker`; or run with `--executor local`"
)
NVIDIA_HINT = (
    "install the NVIDIA Container Toolkit (package nvidia-container-toolkit), run "
    "`sudo nvidia-ctk runtime configure --runtime=docker` and restart dockerd; or set `executor.gpus: 0`"
)


def import_docker() -> Any:
    """The docker SDK module, or an error with the pip command that installs it."""
    try:
        import docker
    except ImportError as err:
        raise ExecutorUnavailableError(
            f"the docker executor needs the Docker SDK for Python ({err}): pip install 'docker>=7'"
        ) from err
    return docker


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def connect(timeout_s: int = 60) -> Any:
    """A ``docker.DockerClient`` whose daemon answered a ping, or :class:`ExecutorUnavailableError`."""
    docker = import_docker()
    try:
        client = docker.from_env(timeout=timeout_s)
        client.ping()
    except docker.errors.DockerException as err:
        raise ExecutorUnavailableError(
            f"no Docker daemon answers at {engine_address()} ({_first_line(err)}); {START_HINT}"
        ) from err
    except Exception as err:  # requests' connection errors when DOCKER_HOST points nowhere
        raise ExecutorUnavailableError(
            f"no Docker daemon answers at {engine_address()} ({type(err).__name__}: {_first_line(err)}); {START_HINT}"
        ) from err
    return client


def engine_version(client: Any) -> str:
    try:
        return str(client.version().get("Version", "unknown"))
    except Exception:  # provenance only: never fail a job for it
        return "unknown"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
