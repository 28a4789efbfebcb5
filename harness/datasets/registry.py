"""Find dataset cards and load their adapters."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.datasets.adapter import DatasetAdapter
from harness.datasets.card import DatasetCard
from harness.datasets.package import import_dataset_module
from harness.errors import ConfigError, UnknownNameError
from harness.settings import repo_root


def did_you_mean(name: str, available: Iterable[str], kind: str) -> UnknownNameError:
    names = sorted(available)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return UnknownNameError(f"unknown {kind} '{name}'.{hint} Available: {', '.join(names) or '(none)'}")


class DatasetRegistry:
    """Cards found under ``datasets/`` of the repository plus any extra folders."""

    def __init__(self, folders: Iterable[Path] = ()) -> None:
        self.cards: dict[str, DatasetCard] = {}
        for folder in [repo_root() / "datasets", *folders]:
            for card_path in sorted(folder.glob("*/dataset.yaml")):
                card = DatasetCard.load(card_path)
                if card.name in self.cards and self.cards[card.name].folder != card.folder:
                    raise ConfigError(f"{card_path}: dataset name '{card.name}' is already registered")
                self.cards[card.name] = card

    def names(self) -> list[str]:
        return sorted(self.cards)

    def card(self, name: str) -> DatasetCard:
        if name not in self.cards:
            raise did_you_mean(name, self.cards, "dataset")
        return self.cards[name]

    def adapter(self, name: str, options: dict[str, Any] | None = None) -> DatasetAdapter:
        return load_adapter(self.card(name), options)


def load_adapter(card: DatasetCard, options: dict[str, Any] | None = None) -> DatasetAdapter:
    """The card's adapter, imported as ``segarena_datasets.<folder>.adapter`` (see harness/datasets/package.py)."""
    assert card.folder is not None
    path = card.folder / card.adapter
    module = import_dataset_module(card.folder.parent, f"{card.folder.name}/{card.adapter}")
    adapter_cls = getattr(module, "Adapter", None)
    if not (isinstance(adapter_cls, type) and issubclass(adapter_cls, DatasetAdapter)):
        raise ConfigError(f"{path}: defines no class `Adapter(DatasetAdapter)`")
    return adapter_cls(card, options)
