"""Which image runs a method: its name from the card, tagged with the hash of the method's folder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError
from harness.methods.card import MethodCard

log = logging.getLogger(__name__)

#: Labels put on every image and container SegArena makes, so they can be found and pruned.
LABEL_METHOD = "org.segarena.method"
LABEL_CODE = "org.segarena.code-sha256"
LABEL_JOB = "org.segarena.job"


def is_pinned(image: str) -> bool:
    """``name@sha256:…`` or ``name:tag``: the card names one image; SegArena does not tag it."""
    return "@" in image or ":" in image.rsplit("/", 1)[-1]


def image_reference(card: MethodCard) -> str:
    """The image a job of ``card`` runs.

    A card whose ``image`` is pinned (a digest or a tag) names a prebuilt image. Otherwise the
    image is built from the method folder and tagged with the first 12 hex digits of the
    folder's hash, so a change to the code, card or Dockerfile needs a rebuild and a job never
    runs stale code.
    """
    if not card.image:
        raise ConfigError(
            f"method '{card.name}' has no `image` in {card.folder}/method.yaml: "
            f"add e.g. `image: segarena/{card.name.replace('_', '-')}` to run it with the docker executor"
        )
    if is_pinned(card.image):
        return card.image
    return f"{card.image}:{card.code_hash()[:12]}"


def build_command(card: MethodCard) -> str:
    return f"segarena containers build {card.name}"


@dataclass(frozen=True)
class ImageInfo:
    reference: str
    id: str
    repo_digests: tuple[str, ...]
    size_bytes: int


def find_image(client: Any, reference: str) -> ImageInfo | None:
    import docker

    try:
        image = client.images.get(reference)
    except docker.errors.ImageNotFound:
        return None
    return ImageInfo(reference, image.id, tuple(image.attrs.get("RepoDigests") or ()), int(image.attrs.get("Size", 0)))


def image_status(client: Any, card: MethodCard) -> tuple[ImageInfo | None, list[str]]:
    """(the current image of ``card`` or None, tags of older builds of the same method still on the engine)."""
    current = image_reference(card)
    info = find_image(client, current)
    stale = []
    if not is_pinned(card.image):
        for image in client.images.list(name=card.image, filters={"label": f"{LABEL_METHOD}={card.name}"}):
            stale += [t for t in image.tags if t != current and not t.endswith(":latest")]
    return info, sorted(stale)


def prune_stale_images(client: Any, cards: list[MethodCard]) -> list[str]:
    """Remove images of these methods whose code hash is no longer current; returns the removed tags."""
    removed: list[str] = []
    for card in cards:
        if not card.image or is_pinned(card.image):
            continue
        current = image_reference(card)
        for image in client.images.list(name=card.image, filters={"label": f"{LABEL_METHOD}={card.name}"}):
            if current in image.tags:
                continue
            for tag in [t for t in image.tags if not t.endswith(":latest")]:
                try:
                    client.images.remove(tag, noprune=False)
                    removed.append(tag)
                except Exception as err:  # in use by a container, or already gone
                    log.info("kept %s: %s", tag, err)
    return removed
