"""The import package of dataset adapters: ``segarena_datasets``.

The ``datasets/`` folder of the checkout and every outside folder named in a
benchmark's ``plugins.datasets`` are portions of one package, ``segarena_datasets``:
``datasets/acdc/adapter.py`` is ``segarena_datasets.acdc.adapter``, the helpers
shared by several adapters are ``segarena_datasets.shared.*``. This module is the
one place that puts a folder on the package's path; everything below it is
imported by Python's ordinary import system (dataset folders are namespace
packages, no ``__init__.py`` needed).

Not ``datasets``: that is HuggingFace's package, common in the environments
SegArena runs in, and a top-level package of that name would shadow it or be
shadowed by it (see datasets/README.md).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from harness.errors import ConfigError
from harness.settings import repo_root

PACKAGE = "segarena_datasets"


def dataset_package(*folders: Path) -> ModuleType:
    """The ``segarena_datasets`` package, with the checkout's ``datasets/`` and ``folders`` on its path."""
    package = sys.modules.get(PACKAGE)
    if package is None:
        spec = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = []
        sys.modules[PACKAGE] = package
    for folder in (repo_root() / "datasets", *folders):
        entry = str(folder.resolve())
        if entry not in package.__path__:
            package.__path__.append(entry)
            importlib.invalidate_caches()
    return package


def import_dataset_module(folder: Path, relative: str) -> ModuleType:
    """Import ``<folder>/<relative>`` (e.g. ``acdc/adapter.py``) as ``segarena_datasets.acdc.adapter``.

    ``folder`` holds dataset folders (the checkout's ``datasets/`` or a plugin folder). A folder
    name that is no Python identifier (``my-data``) still imports; its modules then import their
    siblings relatively (``from . import helper``).
    ImportErrors raised by the module itself (a missing dependency) pass through unchanged.
    """
    path = (folder / relative).resolve()
    parts = Path(relative).with_suffix("").parts
    name = ".".join((PACKAGE, *parts))
    if not path.is_file() or path.suffix != ".py" or not all(part and "." not in part for part in parts):
        raise ConfigError(
            f"{path}: not an importable Python file; an adapter is a .py file inside its dataset folder, "
            "and no folder on the way may have a '.' in its name"
        )
    dataset_package(folder)
    module = importlib.import_module(name)
    found = Path(module.__file__ or "").resolve()
    if found != path:
        raise ConfigError(
            f"{path}: the module name {name} is already taken by {found}; two dataset folders named "
            f"'{parts[0]}' are on the dataset path, rename one of them"
        )
    return module
