"""Find method cards under ``methods/`` (and extra folders)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.datasets.registry import did_you_mean
from harness.errors import ConfigError
from harness.methods.card import MethodCard
from harness.settings import repo_root


class MethodRegistry:
    def __init__(self, folders: Iterable[Path] = ()) -> None:
        self.cards: dict[str, MethodCard] = {}
        for folder in [repo_root() / "methods", *folders]:
            for card_path in sorted(folder.glob("*/method.yaml")):
                card = MethodCard.load(card_path)
                if card.name in self.cards and self.cards[card.name].folder != card.folder:
                    raise ConfigError(f"{card_path}: method name '{card.name}' is already registered")
                self.cards[card.name] = card

    def names(self) -> list[str]:
        return sorted(self.cards)

    def card(self, name: str) -> MethodCard:
        if name not in self.cards:
            raise did_you_mean(name, self.cards, "method")
        return self.cards[name]
