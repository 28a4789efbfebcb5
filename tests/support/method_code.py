"""The one place tests import a method's own code (which the harness never does: it runs entry points).

A method folder is not an installed package; its modules are importable with the folder on the path,
as its entry script has them. :func:`import_method_module` puts the folder there only for the import.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType


def import_method_module(method_folder: Path, module: str) -> ModuleType:
    """``module`` (e.g. ``unet2d.losses``) of the method in ``method_folder``."""
    folder = str(method_folder.resolve())
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(folder)
