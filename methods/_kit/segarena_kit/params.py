"""Reading ``--params FILE``: the card's defaults (the method keeps a copy) overlaid with the file's values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segarena_kit.common_format import read_json_object
from segarena_kit.errors import MethodError


def read_params(path: Path | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` overlaid with the JSON object at ``path`` (an unknown name fails, listing the known ones);
    ``SEGARENA_SEED`` from the environment wins over ``seed`` (for a method that has one). The method checks the
    values itself."""
    params = dict(defaults)
    if path is not None:
        given = read_json_object(path, f"--params {path}", "a JSON object")
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise MethodError(f"--params {path}: unknown parameter(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(defaults))}")
        params.update(given)
    if "seed" in defaults and os.environ.get("SEGARENA_SEED"):
        params["seed"] = int(os.environ["SEGARENA_SEED"])
    return params
