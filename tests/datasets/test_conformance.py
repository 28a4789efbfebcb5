"""Every dataset card under datasets/: it loads and registers, its adapter loads, its label map is sound, it has a README.

Parametrised over the card files rather than over ``DatasetRegistry().names()``
so that one broken card fails its own tests instead of the whole module;
``test_every_card_is_registered`` checks that the two lists agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.datasets import CARDIAC_LABELS, DatasetAdapter, DatasetCard, DatasetRegistry
from harness.datasets.registry import load_adapter
from harness.settings import repo_root

CARD_PATHS = sorted((repo_root() / "datasets").glob("*/dataset.yaml"))
CARDS = pytest.mark.parametrize("card_path", CARD_PATHS, ids=[p.parent.name for p in CARD_PATHS])


def test_every_card_is_registered() -> None:
    assert CARD_PATHS, "no dataset cards found under datasets/"
    assert DatasetRegistry().names() == sorted(p.parent.name for p in CARD_PATHS)


@CARDS
def test_card_loads(card_path: Path) -> None:
    card = DatasetCard.load(card_path)
    assert card.name == card_path.parent.name, f"card '{card.name}' lives in datasets/{card_path.parent.name}/"
    assert card.title and card.channels, f"{card.name}: title and channels are required"
    if not card.generated:
        assert card.raw_layout.strip(), f"{card.name}: raw_layout must describe the expected raw folder"


@CARDS
def test_adapter_loads(card_path: Path) -> None:
    card = DatasetCard.load(card_path)
    adapter = load_adapter(card)
    assert isinstance(adapter, DatasetAdapter)
    assert type(adapter).__name__ == "Adapter"
    assert adapter.card.name == card.name


@CARDS
def test_labels_are_consecutive(card_path: Path) -> None:
    card = DatasetCard.load(card_path)
    assert card.labels.get("background") == 0, f"{card.name}: labels need background: 0"
    assert sorted(card.labels.values()) == list(range(len(card.labels))), f"{card.name}: {card.labels}"
    for region, members in card.regions.items():
        assert members and set(members) <= set(card.labels.values()) - {0}, f"{card.name}: region {region}"


@CARDS
def test_cardiac_cards_use_the_canonical_map(card_path: Path) -> None:
    """Cine (cardiac) cards use CARDIAC_LABELS: the canonical value for every structure they declare."""
    card = DatasetCard.load(card_path)
    if not card.cine:
        pytest.skip(f"{card.name} is not a cine (cardiac) dataset")
    assert card.labels.items() <= CARDIAC_LABELS.items(), f"{card.name}: {card.labels} departs from {CARDIAC_LABELS}"
    if card.kind == "segmentation":
        assert "LV" in card.labels, f"{card.name}: a cardiac segmentation card without LV"


@CARDS
def test_readme_exists(card_path: Path) -> None:
    readme = card_path.parent / "README.md"
    assert readme.is_file() and readme.read_text().strip(), f"{readme} is missing or empty"
