"""Package exports imported on first use (PEP 562), so importing a package costs nothing until a name is read.

A package's ``__init__`` names what it exports and where it lives::

    __getattr__, __dir__ = lazy_exports(__name__, {"CommonDataset": "harness.common.dataset", ...})

``from harness.common import CommonDataset`` then imports ``harness.common.dataset`` at that moment,
not when ``harness.common.records`` is imported. This keeps ``segarena --help`` and ``segarena
validate`` from paying for numpy, scipy, pandas, nibabel and the DICOM readers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` (name → module)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later reads skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
