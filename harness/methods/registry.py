"""Find method cards under ``methods/`` (and extra folders), built on :class:`harness.registry.Registry`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.methods.card import MethodCard
from harness.registry import Registry, discover_cards
from harness.settings import repo_root


class MethodRegistry:
    """Cards found under ``methods/`` of the repository plus any extra folders (``plugins.methods``)."""

    def __init__(self, folders: Iterable[Path] = ()) -> None:
        self.registry: Registry[MethodCard] = discover_cards(
            [repo_root() / "methods", *folders], "method.yaml", MethodCard.load, "method")
        self.cards: dict[str, MethodCard] = {name: self.registry.get(name) for name in self.registry.names()}

    def names(self) -> list[str]:
        return self.registry.names()

    def card(self, name: str) -> MethodCard:
        return self.registry.get(name)
