"""Build a method's image from its folder (``segarena containers build``).

The build context is a temporary folder holding the method folder's files and a
``wheelhouse/`` folder: empty, so pip inside the build uses the index, or the wheels
of ``--wheelhouse DIR``, so the build runs offline (``network_mode="none"``, pip
``--no-index``), as air-gapped hospital servers need.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.containers.bases import BaseBuild, base_build, dockerfile_base, ensure_base, load_bases
from harness.containers.images import LABEL_CODE, LABEL_METHOD, find_image, image_reference, is_pinned
from harness.errors import ConfigError, JobFailedError
from harness.methods.card import MethodCard, stage_code

log = logging.getLogger(__name__)

BaseMode = Literal["official", "local"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class BuiltImage:
    method: str
    reference: str
    id: str
    base_image: str
    offline: bool
    duration_s: float
    size_bytes: int


def make_context(card: MethodCard, target: Path, wheelhouse: Path | None) -> Path:
    """Copy the method's code (the folder, and the kit with ``kit: true``) and the wheelhouse's wheels (hard links
    where possible) into ``target``."""
    stage_code(card, target)
    wheels = target / "wheelhouse"
    if wheels.exists():
        raise ConfigError(f"{card.folder}/wheelhouse: a method folder must not hold a `wheelhouse` (the build makes one)")
    wheels.mkdir()
    (wheels / "README").write_text("wheels for an offline build (empty: pip uses the index)\n")
    if wheelhouse is not None:
        found = sorted(wheelhouse.glob("*.whl"))
        if not found:
            raise ConfigError(f"--wheelhouse {wheelhouse}: holds no .whl files (fill it with containers/wheelhouse.sh)")
        for wheel in found:
            try:
                os.link(wheel, wheels / wheel.name)
            except OSError:
                shutil.copy2(wheel, wheels / wheel.name)
    return target


def resolve_base(card: MethodCard, mode: BaseMode, *, online: bool = False) -> tuple[str, BaseBuild | None]:
    """(the BASE_IMAGE to build from, the build_base.sh recipe that makes it here first, or None: pulled)."""
    assert card.folder is not None
    official = dockerfile_base(card.folder / card.dockerfile)
    build = base_build(official, mode, load_bases(), online=online)
    return (official, None) if build is None else (build.image, build)


def build_method_image(
    client: Any,
    card: MethodCard,
    *,
    wheelhouse: Path | None = None,
    base: BaseMode = "official",
    log_path: Path | None = None,
    on_line: Callable[[str], None] | None = None,
) -> BuiltImage:
    """Build (or rebuild) the image of ``card``, tagged ``image_reference(card)`` and ``<image>:latest``."""
    import docker

    if card.folder is None or not (card.folder / card.dockerfile).is_file():
        raise ConfigError(f"method '{card.name}': no Dockerfile at {card.folder}/{card.dockerfile}")
    if is_pinned(card.image):
        raise ConfigError(
            f"method '{card.name}' names a prebuilt image ({card.image}) in its card; SegArena builds only "
            f"images it tags itself: set `image: {card.image.split('@')[0].rsplit(':', 1)[0]}` to build from the folder"
        )
    reference = image_reference(card)
    base_image, recipe = resolve_base(card, base, online=wheelhouse is None)
    if recipe is not None:
        if on_line is not None:
            on_line(f"# build the base {base_image} if it is missing "
                    f"(containers/base/build_base.sh {' '.join(recipe.arguments)})")
        ensure_base(recipe, wheelhouse, log_path)
    started = time.monotonic()
    lines: list[str] = []

    def emit(line: str) -> None:
        line = _ANSI.sub("", line)
        lines.append(line)
        if on_line is not None:
            on_line(line)

    dangling_before = _dangling(client)
    base_present = find_image(client, base_image) is not None
    with tempfile.TemporaryDirectory(prefix=f"segarena-build-{card.name}-") as tmp:
        context = make_context(card, Path(tmp), wheelhouse)
        emit(f"# build {reference} FROM {base_image} ({'offline, wheelhouse ' + str(wheelhouse) if wheelhouse else 'online'})")
        try:
            stream = client.api.build(
                path=str(context), dockerfile=card.dockerfile, tag=reference, buildargs={"BASE_IMAGE": base_image},
                network_mode="none" if wheelhouse is not None else None, rm=True, forcerm=True, pull=False,
                decode=True, labels={LABEL_METHOD: card.name, LABEL_CODE: card.code_hash()},
            )
            error = None
            for chunk in stream:
                if "stream" in chunk:
                    for line in str(chunk["stream"]).splitlines():
                        if line.strip():
                            emit(line)
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    emit(f"ERROR: {error}")
        except docker.errors.APIError as err:
            error = str(err.explanation or err)
            emit(f"ERROR: {error}")
        finally:
            if log_path is not None:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with log_path.open("a") as handle:
                    handle.write("\n".join(lines) + "\n")
    if error is not None:
        hint = _hint("\n".join([*lines, error]), base_present, base_image, wheelhouse)
        tail = "\n".join(line for line in lines[-12:] if line.strip() and not line.startswith("ERROR: The command"))
        raise JobFailedError(f"building the image of method '{card.name}' failed: {error}{hint}\n{tail}")
    image = client.images.get(reference)
    image.tag(reference.rsplit(":", 1)[0], "latest")
    _remove_build_leftovers(client, dangling_before)
    return BuiltImage(card.name, reference, image.id, base_image, wheelhouse is not None, time.monotonic() - started,
                      int(image.attrs.get("Size", 0)))


def _hint(error: str, base_present: bool, base_image: str, wheelhouse: Path | None) -> str:
    lowered = error.lower()
    if not base_present and ("pull" in lowered or "registry" in lowered or "manifest" in lowered
                             or "dial tcp" in lowered or "not found" in lowered):
        return (f"\n(the base image {base_image} is not on this engine and could not be pulled: build with "
                "`--base local` to use its local stand-in from containers/bases.yaml)")
    if wheelhouse is None and ("no matching distribution" in lowered or "could not fetch url" in lowered):
        return ("\n(pip inside the build could not install from the package index: build offline instead, with "
                "`containers/wheelhouse.sh DIR methods/<name>/requirements.txt` on a machine that reaches an index "
                "and then `--wheelhouse DIR`)")
    if wheelhouse is not None and ("no matching distribution" in lowered or "returned a non-zero code" in lowered):
        return (f"\n(offline build: the wheelhouse {wheelhouse} may lack a wheel; fill it with "
                "`containers/wheelhouse.sh DIR methods/<name>/requirements.txt`)")
    return ""


def _dangling(client: Any) -> set[str]:
    return {image.id for image in client.images.list(filters={"dangling": True})}


def _remove_build_leftovers(client: Any, before: set[str]) -> None:
    """A multi-stage build leaves its dependency stage behind as an untagged image: remove the new ones."""
    for image_id in _dangling(client) - before:
        try:
            client.images.remove(image_id)
        except Exception as err:  # in use meanwhile: it stays, nothing breaks
            log.info("kept build leftover %s: %s", image_id, err)
