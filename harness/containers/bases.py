"""Base images: the official one each Dockerfile names, and its local stand-in (``containers/bases.yaml``).

A *derived* base (an entry with ``from: <other base>``) is a stack no registry publishes pinned, such as
torch + MONAI: SegArena builds both of its variants itself, ``official`` on the other base's official
image and ``local`` on its local stand-in, so a method on it stays thin either way.
"""

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
    parent: str | None = None  # a derived base (``from:``): the base both of its variants are built on

    @property
    def derived(self) -> bool:
        return self.parent is not None


@dataclass(frozen=True)
class BaseBuild:
    """What `containers/base/build_base.sh` is asked to build before a method's image (``arguments``)."""

    image: str
    arguments: tuple[str, ...]


def containers_dir() -> Path:
    return repo_root() / "containers"


def load_bases(path: Path | None = None) -> dict[str, Base]:
    path = path or containers_dir() / "bases.yaml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the base image list ({err})") from err
    try:
        bases = {name: Base(name, str(entry["official"]), str(entry["local"]), str(entry["build"]),
                            str(entry["from"]) if entry.get("from") is not None else None)
                 for name, entry in (data.get("bases") or {}).items()}
    except (KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"{path}: each entry of `bases` needs `official`, `local` and `build` ({err})") from err
    for base in bases.values():
        if base.parent is not None and (base.parent not in bases or bases[base.parent].derived):
            raise ConfigError(f"{path}: base `{base.name}` is built on `{base.parent}`, which is not a base of the list "
                              "with an official image (one level of derivation)")
    return bases


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


def base_build(official: str, mode: str, bases: dict[str, Base], *, online: bool = False) -> BaseBuild | None:
    """The base image a Dockerfile whose ``ARG BASE_IMAGE`` is ``official`` builds from under ``--base mode``,
    and the recipe that makes it here first (``None``: an official image the engine pulls)."""
    if mode == "official":
        known = next((b for b in bases.values() if b.derived and official in (b.official, b.local)), None)
        if known is None:
            return None
        parent = bases[str(known.parent)]
        arguments = (known.build, "--from", parent.official, "--tag", known.official, *(("--online",) if online else ()))
        return BaseBuild(known.official, arguments)
    base = local_stand_in(official, bases)
    if base.derived:
        return BaseBuild(base.local, (base.build, "--from", bases[str(base.parent)].local, "--tag", base.local))
    return BaseBuild(base.local, (base.build,))


def ensure_base(build: BaseBuild, wheelhouse: Path | None = None, log_path: Path | None = None) -> None:
    """Build, load from the cache, or reuse ``build.image`` (``containers/base/build_base.sh``)."""
    script = containers_dir() / "base" / "build_base.sh"
    if shutil.which("bash") is None:
        raise JobFailedError(f"building base images here needs bash ({script})")
    command = ["bash", str(script), *build.arguments]
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
        lowered = output.lower()
        hint = ""
        if any(word in lowered for word in ("dial tcp", "registry", "pull access denied", "manifest unknown")):
            hint = ("\n(the image it builds on could not be pulled: without a registry, build with `--base local`, "
                    "which builds every base here)")
        raise JobFailedError(f"building the base {build.image} failed (exit {completed.returncode}):\n{tail}{hint}")
