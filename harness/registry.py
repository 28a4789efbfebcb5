"""One registry for every plug point: datasets, methods, executors, published importers, metrics, conventions.

A :class:`Registry` maps names to things that are loaded on first use::

    from harness.registry import Registry

    IMPORTERS: Registry[Importer] = Registry("published importer")
    IMPORTERS.register("cmr_seg_tl_kaggle", "harness.published.cmr_seg_tl:IMPORTER",  # "module:attribute", lazy
                       description="cmr-seg-tl's Kaggle predictions")
    IMPORTERS.register("mine", lambda: Importer(...))       # or a zero-argument callable, called once
    IMPORTERS.register("ray", RAY, unavailable="not built yet: use `--executor local`")  # listed, with its reason

    IMPORTERS.get("cmr_seg_tl_kagle")   # UnknownNameError: unknown published importer 'cmr_seg_tl_kagle'.
                                        #   Did you mean 'cmr_seg_tl_kaggle'? Available: cmr_seg_tl_kaggle, mine
    IMPORTERS.names()                   # every registered name, sorted
    IMPORTERS.available()               # the names that can be used here
    IMPORTERS.unavailable()             # {name: reason} for the others (a static reason, a failed ``check``,
                                        #   or a loader that failed to import: the reason names what is missing)

``get`` returns the registered object whatever its availability (an unavailable executor kind still
validates its settings); ``require`` also raises the registry's ``unavailable_error`` with the reason.
Registering a taken name fails (``replace=True`` to override on purpose). Outside plugins register
themselves when imported: :func:`import_plugins` imports the modules a benchmark names (``plugins.executors``).
Listings and did-you-mean messages are built by :func:`did_you_mean` so every plug point reads alike.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from harness.errors import ConfigError, SegArenaError, UnknownNameError

T = TypeVar("T")

#: What a loader may be: an import path ``"package.module:attribute"`` or a zero-argument callable.
Loader = str | Callable[[], Any]


def did_you_mean(name: str, available: Iterable[str], kind: str, listing: str = "Available") -> UnknownNameError:
    """The error for an unknown ``name`` of ``kind``: the closest registered name, then all of them."""
    return UnknownNameError(unknown_name_message(name, available, kind, listing))


def unknown_name_message(name: str, available: Iterable[str], kind: str, listing: str = "Available",
                         ordered: bool = False) -> str:
    """"unknown <kind> '<name>'. Did you mean '<closest>'? <listing>: <names>" (sorted unless ``ordered``)."""
    names = list(available) if ordered else sorted(available)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"unknown {kind} '{name}'.{hint} {listing}: {', '.join(names) or '(none)'}"


@dataclass
class _Entry:
    loader: Loader
    description: str
    reason: str | None  # why it cannot be used here; None when it can (as far as is known without loading)
    check: Callable[[], str | None] | None
    loaded: bool = False
    value: Any = None


class Registry(Generic[T]):
    """Names of one plug point (``kind``, e.g. "executor"), each with a lazy loader (see the module docstring)."""

    def __init__(self, kind: str, *, listing: str = "Available", ordered: bool = False,
                 unavailable_error: type[SegArenaError] = ConfigError) -> None:
        self.kind = kind
        self.listing = listing
        self.ordered = ordered  # names in registration order instead of sorted
        self.unavailable_error = unavailable_error
        self._entries: dict[str, _Entry] = {}

    def register(self, name: str, loader: Loader, *, description: str = "", unavailable: str | None = None,
                 check: Callable[[], str | None] | None = None, replace: bool = False) -> None:
        """Add ``name``. ``unavailable``: why it cannot be used (still listed); ``check``: the same, asked lazily."""
        if name in self._entries and not replace:
            raise ConfigError(f"{self.kind} '{name}' is already registered; choose another name")
        self._entries[name] = _Entry(loader, description, unavailable, check)

    def add(self, name: str, value: T, *, description: str = "", replace: bool = False) -> None:
        """Add an object that is already built (no loading)."""
        self.register(name, lambda: value, description=description, replace=replace)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return list(self._entries) if self.ordered else sorted(self._entries)

    def description(self, name: str) -> str:
        return self._entry(name).description

    def reason(self, name: str) -> str | None:
        """Why ``name`` cannot be used here, or None."""
        entry = self._entry(name)
        if entry.reason is None and entry.check is not None:
            entry.reason, entry.check = entry.check(), None
        return entry.reason

    def available(self) -> list[str]:
        return [name for name in self.names() if self.reason(name) is None]

    def unavailable(self) -> dict[str, str]:
        return {name: reason for name in self.names() if (reason := self.reason(name)) is not None}

    def get(self, name: str) -> T:
        """The object registered as ``name`` (loaded once); :class:`UnknownNameError` with did-you-mean if none."""
        entry = self._entry(name)
        if not entry.loaded:
            try:
                entry.value = _load(entry.loader)
            except ImportError as err:
                entry.reason = f"cannot import {entry.loader!r} ({err})"
                raise self.unavailable_error(f"{self.kind} '{name}' is unavailable: {entry.reason}") from err
            entry.loaded = True
        value: T = entry.value
        return value

    def require(self, name: str) -> T:
        """Like :meth:`get`, and fail with the reason when ``name`` cannot be used here."""
        value = self.get(name)
        if (reason := self.reason(name)) is not None:
            raise self.unavailable_error(reason)
        return value

    def unknown_message(self, name: str) -> str:
        return unknown_name_message(name, self._entries, self.kind, self.listing, self.ordered)

    def _entry(self, name: str) -> _Entry:
        if name not in self._entries:
            raise UnknownNameError(self.unknown_message(name))
        return self._entries[name]


def _load(loader: Loader) -> Any:
    if callable(loader):
        return loader()
    module_name, _, attribute = loader.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def import_plugins(modules: Iterable[str], where: str) -> None:
    """Import outside plugin modules by their import path; each registers itself when imported."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(f"{where}: cannot import plugin module '{name}' ({err}); install it or put its "
                              "folder on PYTHONPATH") from err


class Card(Protocol):
    """What a card found in a folder has: its registered name and the folder it was read from."""

    @property
    def name(self) -> str: ...

    @property
    def folder(self) -> Path | None: ...


C = TypeVar("C", bound=Card)


def discover_cards(folders: Iterable[Path], filename: str, load: Callable[[Path], C], kind: str) -> Registry[C]:
    """Every ``<folder>/*/<filename>`` card of ``folders`` (in order), read by ``load``, as a registry by name.

    The one discovery loop of datasets (``dataset.yaml``) and methods (``method.yaml``): a name found in
    two different folders fails naming the second card.
    """
    registry: Registry[C] = Registry(kind)
    folder_of: dict[str, Path | None] = {}
    for folder in folders:
        for card_path in sorted(folder.glob(f"*/{filename}")):
            card = load(card_path)
            if card.name in folder_of and folder_of[card.name] != card.folder:
                raise ConfigError(f"{card_path}: {kind} name '{card.name}' is already registered")
            folder_of[card.name] = card.folder
            registry.add(card.name, card, replace=True)
    return registry
