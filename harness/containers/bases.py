"""Base images: the official one each Dockerfile names, and its local stand-in (``containers/bases.yaml``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.errors import ConfigError, JobFailedError
from harness.settings import repo_root

_ARG_BASE = re.compile(r"^\s*ARG\s+BASE_IMAGE\s*=\s*(\S+)\s*$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Base:
    name: str
    official: str
    local: str
    build: str  # argument of containers/base/build_base.sh


def containers_dir() -> Path:
    return repo_root() / "containers"


def load_bases(path: Path | None = None) -> dict[str, Base]:
    path = path or containers_dir() / "bases.yaml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the base image list ({err})") from err
    try:
        return {name: Base(name, str(entry["official"]), str(entry["local"]), str(entry["build"]))
                for name, entry in (data.get("bases") or {}).items()}
    except (KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"{path}: each entry of `bases` needs `official`, `local` and `build` ({err})") from err


def dockerfile_base(dockerfile: Path) -> str:
    """The default of ``ARG BASE_IMAGE=…`` in a method's Dockerfile."""
    try:
        text = dockerfile.read_text()
    except OSError as err:
        raise ConfigError(f"{dockerfile}: cannot read the method's Dockerfile ({err})") from err
    match = _ARG_BASE.search(text)
    if match is None:
        raise ConfigError(
            f"{dockerfile}: declares no `ARG BASE_IMAGE=<image pinned by digest>` before its FROM; "
            "SegArena substitutes local bases through that argument (see containers/README.md)"
        )
    return match.group(1)


def local_stand_in(official: str, bases: dict[str, Base]) -> Base:
    for base in bases.values():
        if base.official == official or base.local == official:
            return base
    known = ", ".join(f"{b.name} ({b.official})" for b in bases.values())
    raise ConfigError(
        f"no local stand-in for the base image {official}: containers/bases.yaml lists {known}; "
        "use one of those in the Dockerfile's ARG BASE_IMAGE, or add an entry and a recipe"
    )


def ensure_local_base(base: Base, wheelhouse: Path | None = None, log_path: Path | None = None) -> None:
    """Build, load from the cache, or reuse ``base.local`` (``containers/base/build_base.sh``)."""
    script = containers_dir() / "base" / "build_base.sh"
    if shutil.which("bash") is None:
        raise JobFailedError(f"building local base images needs bash ({script})")
    command = ["bash", str(script), base.build]
    if wheelhouse is not None:
        command += ["--wheelhouse", str(wheelhouse)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    output = completed.stdout + completed.stderr
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a") as handle:
            handle.write(f"$ {' '.join(command)}\n{output}")
    if completed.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise JobFailedError(f"building the local base {base.local} failed (exit {completed.returncode}):\n{tail}")
