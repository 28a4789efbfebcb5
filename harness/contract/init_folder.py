"""The ``--init`` folder of a transfer regime: ``init.json`` and, but for library weights, one weights file.

``init.json`` = ``{"kind": "finetune" | "imagenet", "file": NAME}``, or ``{"kind": "imagenet"}`` with no
file: "start from your library's published ImageNet weights" (each method maps that to its own
parameters; the harness never sets a method's parameters for it). See containers/CONTRACT.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from harness.contract.files import link_file

INIT_JSON = "init.json"
InitKind = Literal["finetune", "imagenet"]


def write_init_folder(folder: Path, kind: InitKind, weights: list[Path], main: str | None) -> Path:
    """Link ``weights`` into ``folder`` and write its ``init.json`` naming ``main`` (None: library weights)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in weights:
        link_file(path, folder / path.name)
    spec: dict[str, str] = {"kind": kind}
    if main is not None:
        spec["file"] = main
    (folder / INIT_JSON).write_text(json.dumps(spec))
    return folder
