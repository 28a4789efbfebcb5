"""Published predictions of other studies, recomputed from their released data with their conventions.

Each study module reads one study's reference data into :class:`PublishedCineResults`;
:data:`IMPORTERS` finds them by kind (``published[].kind``);
:func:`ef_error_table` summarises any of them the way the cmr-seg-tl paper did.
"""

from __future__ import annotations

from harness.published.cmr_seg_tl import compare_with_paper_volumes, load_cmr_seg_tl_kaggle
from harness.published.ef_table import EF_TABLE_COLUMNS, ef_error_table
from harness.published.importers import IMPORTERS, import_published
from harness.published.results import SUBJECT_COLUMNS, PublishedCineResults, SourceFile

__all__ = [
    "EF_TABLE_COLUMNS",
    "IMPORTERS",
    "SUBJECT_COLUMNS",
    "PublishedCineResults",
    "SourceFile",
    "compare_with_paper_volumes",
    "ef_error_table",
    "import_published",
    "load_cmr_seg_tl_kaggle",
]
