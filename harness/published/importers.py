"""The importers of published predictions, by the ``kind`` a benchmark's ``published`` entry names.

An importer is a function ``(path) -> PublishedCineResults`` reading one study's released data.
A new one is a study module plus one line here::

    IMPORTERS.register("my_study", "harness.published.my_study:load_my_study", description="...")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.registry import Registry

if TYPE_CHECKING:
    from harness.published.results import PublishedCineResults

Importer = Callable[[Path], "PublishedCineResults"]

IMPORTERS: Registry[Importer] = Registry("published importer")

IMPORTERS.register("cmr_seg_tl_kaggle", "harness.published.cmr_seg_tl:load_cmr_seg_tl_kaggle",
                   description="cmr-seg-tl (Kaggle DSB): per-subject volumes of the paper's models, recomputed")
IMPORTERS.register("cmr_seg_tl_7t", "harness.published.cmr_seg_tl_7t:load_cmr_seg_tl_7t",
                   description="cmr-seg-tl (7T volunteers): Dice by set and volume agreement from the confusion tables")


def import_published(kind: str, path: Path) -> PublishedCineResults:
    """Read the published predictions at ``path`` with the importer registered as ``kind``."""
    return IMPORTERS.require(kind)(path)
