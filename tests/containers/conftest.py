"""Fixtures of the docker tier: a live engine (or a skip that says how to get one), local bases, built images.

Images are built the way a user without a registry builds them: `--base local` (containers/bases.yaml)
and an offline wheelhouse (containers/wheelhouse.sh, cached in $SEGARENA_CACHE/wheelhouse).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.containers.bases import containers_dir
from harness.containers.build import build_method_image
from harness.containers.images import find_image, image_reference, prune_stale_images
from harness.errors import ExecutorUnavailableError
from harness.methods import MethodCard, MethodRegistry
from harness.settings import cache_dir, repo_root

HERE = Path(__file__).parent


def registry_with_test_methods() -> MethodRegistry:
    """In-repo methods plus the hostile test method and the engine probe."""
    return MethodRegistry([HERE, containers_dir()])


@pytest.fixture(scope="session")
def docker_client() -> Any:
    from harness.containers.engine import connect

    try:
        return connect()
    except ExecutorUnavailableError as err:
        pytest.skip(f"docker tier skipped: {err}")


@pytest.fixture(scope="session")
def wheelhouse(docker_client: Any) -> Path:
    """Wheels for the torch base and the in-repo methods, fetched once (pip's own config finds local wheels)."""
    folder = cache_dir() / "wheelhouse"
    requirements = [containers_dir() / "base" / "torch-cpu" / "requirements.txt",
                    containers_dir() / "base" / "torch-monai" / "requirements.txt",
                    *sorted((repo_root() / "methods").glob("*/requirements.txt"))]
    subprocess.run(["bash", str(containers_dir() / "wheelhouse.sh"), str(folder), *map(str, requirements)],
                   check=True, capture_output=True, text=True)
    return folder


@pytest.fixture(scope="session")
def registry() -> MethodRegistry:
    return registry_with_test_methods()


def ensure_image(client: Any, card: MethodCard, wheelhouse: Path | None) -> str:
    reference = image_reference(card)
    if find_image(client, reference) is None:
        build_method_image(client, card, wheelhouse=wheelhouse, base="local",
                           log_path=cache_dir() / "build-logs" / f"{card.name}.log")
    return reference


@pytest.fixture(scope="session")
def method_images(docker_client: Any, wheelhouse: Path, registry: MethodRegistry) -> Iterator[dict[str, str]]:
    """threshold_baseline and unet2d built offline from the wheelhouse; hostile and probe (stdlib only) too."""
    images = {
        "threshold_baseline": ensure_image(docker_client, registry.card("threshold_baseline"), wheelhouse),
        "unet2d": ensure_image(docker_client, registry.card("unet2d"), wheelhouse),
        "hostile": ensure_image(docker_client, registry.card("hostile"), None),
        "probe": ensure_image(docker_client, registry.card("probe"), None),
    }
    yield images
    # Keep the current images (the next run reuses them); drop the ones older code left behind.
    prune_stale_images(docker_client, [registry.card(name) for name in images])


@pytest.fixture(scope="session")
def nnunet_image(docker_client: Any, wheelhouse: Path, registry: MethodRegistry) -> str:
    """The nnunet image (nnU-Net v2 on the torch base), built offline; only its own tests need it."""
    return ensure_image(docker_client, registry.card("nnunet"), wheelhouse)
