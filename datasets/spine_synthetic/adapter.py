"""Generated spinal-muscle slices, converted by the real ``spine_slices`` adapter (only ``prepare_raw`` is added)."""

from __future__ import annotations

import json
from pathlib import Path

from segarena_datasets.spine_slices.adapter import Adapter as SpineSlicesAdapter

DEFAULTS = {"subjects": 10, "slices": 4, "size": 128, "seed": 20211215}


class Adapter(SpineSlicesAdapter):
    """Options: ``subjects``, ``slices``, ``size``, ``seed`` (see dataset.yaml); the rest is the spine_slices adapter
    (its label map is learnt from the generated PNG and NPY labels, the JPEG ones snapped to it)."""

    def prepare_raw(self, raw: Path) -> None:
        wanted = {key: int(self.options.get(key, default)) for key, default in DEFAULTS.items()}
        stamp = raw / "generated.json"
        if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
            return
        from segarena_datasets.spine_synthetic.generate import write_spine_layout

        write_spine_layout(raw, wanted["subjects"], wanted["slices"], wanted["size"], wanted["seed"])
        stamp.write_text(json.dumps(wanted))
