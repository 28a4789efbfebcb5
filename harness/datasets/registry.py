"""Find dataset cards and load their adapters (built on :class:`harness.registry.Registry`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.datasets.adapter import DatasetAdapter
from harness.datasets.card import DatasetCard
from harness.datasets.package import import_dataset_module
from harness.errors import ConfigError
from harness.registry import Registry, did_you_mean, discover_cards
from harness.settings import repo_root

__all__ = ["DatasetRegistry", "did_you_mean", "load_adapter"]


class DatasetRegistry:
    """Cards found under ``datasets/`` of the repository plus any extra folders (``plugins.datasets``)."""

    def __init__(self, folders: Iterable[Path] = ()) -> None:
        self.registry: Registry[DatasetCard] = discover_cards(
            [repo_root() / "datasets", *folders], "dataset.yaml", DatasetCard.load, "dataset")
        self.cards: dict[str, DatasetCard] = {name: self.registry.get(name) for name in self.registry.names()}

    def names(self) -> list[str]:
        return self.registry.names()

    def card(self, name: str) -> DatasetCard:
        return self.registry.get(name)

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
