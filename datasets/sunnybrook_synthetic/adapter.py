"""Generated Sunnybrook raw data, converted by the real ``sunnybrook`` adapter (only ``prepare_raw`` is added)."""

from __future__ import annotations

import json
from pathlib import Path

from segarena_datasets.sunnybrook.adapter import Adapter as SunnybrookAdapter

DEFAULTS = {"subjects": 12, "slices": 6, "size": 128, "seed": 20090901}


class Adapter(SunnybrookAdapter):
    """Options: ``subjects``, ``slices``, ``size``, ``seed`` (see dataset.yaml); the rest is the sunnybrook adapter."""

    def prepare_raw(self, raw: Path) -> None:
        wanted = {key: int(self.options.get(key, default)) for key, default in DEFAULTS.items()}
        stamp = raw / "generated.json"
        if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
            return
        from segarena_datasets.sunnybrook_synthetic.generate import write_challenge_layout

        write_challenge_layout(raw, wanted["subjects"], wanted["slices"], wanted["size"], wanted["seed"])
        stamp.write_text(json.dumps(wanted))

