"""Adapter of the 2018 Atrial Segmentation Challenge: ``<case>/lgemri.nrrd`` (+ ``laendo.nrrd``) → one case each.

The format's code is ``segarena_datasets.shared.lasc`` (la2018_phantom converts its generated cases with it too).
"""

from __future__ import annotations

from segarena_datasets.shared.lasc import IMAGE_FILE, MASK_FILE, MASK_VALUES, LascAdapter, case_id

__all__ = ["IMAGE_FILE", "MASK_FILE", "MASK_VALUES", "Adapter", "case_id"]


class Adapter(LascAdapter):
    """No options."""
