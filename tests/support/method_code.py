"""The one place tests import a method's own code (which the harness never does: it runs entry points).

A method folder is not an installed package; its modules are importable with the folder on the path,
as its entry script has them. :func:`import_method_module` puts the folder there only for the import,
and the method kit (``methods/_kit``: ``segarena_kit``, which the entry scripts put there too) for good.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType


def import_method_module(method_folder: Path, module: str) -> ModuleType:
    """``module`` (e.g. ``unet2d.losses``) of the method in ``method_folder``."""
    folder = str(method_folder.resolve())
    kit = str(method_folder.resolve().parent / "_kit")
    if (Path(kit) / "segarena_kit").is_dir() and kit not in sys.path:
        sys.path.append(kit)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(folder)
