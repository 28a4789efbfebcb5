"""File placement shared by the contract's folders (light: no image library is imported here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def link_file(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (a copy across file systems).

    Only for the harness's own staging folders: what a method is given is a private read-only copy
    under ``local`` (harness/executors/isolation.py) and a read-only mount under ``docker``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
