"""Structures to evaluate: names mapped to the label values they are made of.

Two sources: an nnU-Net v2 ``dataset.json`` (its ``labels``: ``{"LV": 1}`` or
regions ``{"whole_tumor": [1, 2, 3]}``), or command-line items ``NAME=V[,V…]``.
Background (value 0) and nnU-Net's ``ignore`` label are never structures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from harness.errors import ConfigError, InputDataError

Structures = dict[str, list[int]]


def _label_values(name: str, raw: object, source: str) -> list[int]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    values: list[int] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float) or int(item) != item or item < 0:
            raise ConfigError(f"{source}: label {name!r} has value {raw!r}; expected an integer >= 0 or a list of them")
        values.append(int(item))
    if not values:
        raise ConfigError(f"{source}: label {name!r} has no values")
    return values


def structures_from_labels(labels: Mapping[str, object], source: str = "labels") -> Structures:
    """Structures from a ``dataset.json``-style ``labels`` mapping, without background and ``ignore``."""
    structures: Structures = {}
    for name, raw in labels.items():
        values = _label_values(name, raw, source)
        if name.lower() in ("background", "ignore") or values == [0]:
            continue
        if 0 in values:
            raise ConfigError(f"{source}: region {name!r} includes the background value 0 ({raw!r})")
        structures[name] = values
    if not structures:
        raise ConfigError(f"{source}: no foreground labels to evaluate in {dict(labels)!r}")
    return structures


def structures_from_dataset_json(path: Path) -> Structures:
    """Structures from the ``labels`` of an nnU-Net v2 dataset.json."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputDataError(f"cannot read dataset.json {path}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("labels"), dict):
        raise InputDataError(f'{path} has no \'labels\' mapping, e.g. "labels": {{"background": 0, "LV": 1}}')
    return structures_from_labels(data["labels"], source=str(path))


def parse_label_items(items: Iterable[str]) -> Structures:
    """Structures from ``NAME=V[,V…]`` items, e.g. ``["LV=1", "WT=1,2,3"]``."""
    structures: Structures = {}
    for item in items:
        name, sep, values_text = item.partition("=")
        name = name.strip()
        try:
            values = [int(v) for v in values_text.split(",")] if sep else []
        except ValueError:
            values = []
        if not name or not values:
            raise ConfigError(f"--labels {item!r}: expected NAME=VALUE or NAME=V1,V2,… with integer values, e.g. LV=1")
        if name in structures:
            raise ConfigError(f"--labels: structure {name!r} is given twice")
        structures[name] = values
    return structures_from_labels(structures, source="--labels")
