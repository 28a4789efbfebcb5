"""``segarena containers build [METHOD…] [--wheelhouse DIR] [--base official|local]`` and ``containers prune``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from harness.errors import ConfigError

console = Console()
containers_app = typer.Typer(help="Build and tidy the methods' container images.", no_args_is_help=True)


@containers_app.command("build")
def build(
    methods: Annotated[Optional[list[str]], typer.Argument(help="methods to build (default: every registered one)")] = None,  # noqa: UP045
    wheelhouse: Annotated[Optional[Path], typer.Option(help="a folder of wheels: build offline (no network, pip --no-index)")] = None,  # noqa: UP045
    base: Annotated[str, typer.Option(help="official: the Dockerfile's pinned base; local: its stand-in from containers/bases.yaml, built here without a registry")] = "official",
    methods_dir: Annotated[Optional[list[Path]], typer.Option(help="an extra folder of method folders, repeatable")] = None,  # noqa: UP045
    verbose: Annotated[bool, typer.Option(help="print the build output")] = False,
) -> None:
    """Build each method's image, tagged with the hash of its folder (what the docker executor runs)."""
    from harness.containers.build import build_method_image
    from harness.containers.engine import connect
    from harness.methods import MethodRegistry
    from harness.settings import cache_dir

    if base not in ("official", "local"):
        raise ConfigError(f"--base: expected official or local, got {base!r}")
    if wheelhouse is not None and not wheelhouse.is_dir():
        raise ConfigError(f"--wheelhouse {wheelhouse}: not a folder (fill one with containers/wheelhouse.sh)")
    registry = MethodRegistry(methods_dir or [])
    names = methods or [n for n in registry.names() if registry.card(n).image]
    cards = [registry.card(n) for n in names]
    client = connect()
    for card in cards:
        log_path = cache_dir() / "build-logs" / f"{card.name}.log"
        console.print(f"Building {card.name} ({'offline' if wheelhouse else 'online'}, {base} base; log: {log_path}) …",
                      highlight=False)
        with console.status(f"{card.name}: preparing the build context", spinner="dots") as status:

            def on_line(line: str, status: Any = status, name: str = card.name) -> None:
                if verbose:
                    console.print(f"  {line}", highlight=False, markup=False)
                if line.startswith(("Step ", "# build")):
                    status.update(f"{name}: {line[:100]}")

            built = build_method_image(
                client, card, wheelhouse=wheelhouse.resolve() if wheelhouse else None, base=base,  # type: ignore[arg-type]
                log_path=log_path, on_line=on_line,
            )
        console.print(f"  {built.reference} ({built.id[7:19]}, {built.size_bytes / 1e9:.2f} GB) from {built.base_image} "
                      f"in {built.duration_s:.0f} s", highlight=False)


@containers_app.command("status")
def status(
    methods_dir: Annotated[Optional[list[Path]], typer.Option(help="an extra folder of method folders, repeatable")] = None,  # noqa: UP045
) -> None:
    """Each method's current image (tagged with its folder's hash) and whether the engine has it."""
    from harness.containers.engine import connect, engine_version
    from harness.containers.images import image_reference, image_status
    from harness.methods import MethodRegistry

    registry = MethodRegistry(methods_dir or [])
    client = connect()
    console.print(f"Docker {engine_version(client)}", highlight=False)
    missing = []
    for name in registry.names():
        card = registry.card(name)
        if not card.image:
            console.print(f"  {name:<20} no `image` in its card (local executor only)", highlight=False)
            continue
        reference = image_reference(card)
        info, stale = image_status(client, card)
        if info is None:
            missing.append(name)
            older = f"; older builds: {', '.join(stale)}" if stale else ""
            console.print(f"  {name:<20} [red]not built[/] {reference}{older}", highlight=False)
        else:
            console.print(f"  {name:<20} [green]built[/] {reference} ({info.id[7:19]}, {info.size_bytes / 1e9:.2f} GB)",
                          highlight=False)
    if missing:
        console.print(f"Build the missing ones with `segarena containers build {' '.join(missing)}` "
                      "(no registry: `--base local`; offline: `--wheelhouse DIR`)", highlight=False)


@containers_app.command("prune")
def prune(
    methods_dir: Annotated[Optional[list[Path]], typer.Option(help="an extra folder of method folders, repeatable")] = None,  # noqa: UP045
) -> None:
    """Remove images of registered methods that no longer match their method folder."""
    from harness.containers.engine import connect
    from harness.containers.images import prune_stale_images
    from harness.methods import MethodRegistry

    registry = MethodRegistry(methods_dir or [])
    removed = prune_stale_images(connect(), [registry.card(n) for n in registry.names()])
    console.print(f"Removed {len(removed)} stale image tag(s){': ' + ', '.join(removed) if removed else ''}",
                  highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(containers_app, name="containers")
