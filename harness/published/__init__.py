"""Published predictions of other studies, recomputed from their released data with their conventions.

Each study module reads one study's reference data into :class:`PublishedCineResults`
(per-subject volumes, plus any study-specific :class:`PublishedTable`);
:data:`IMPORTERS` finds them by kind (``published[].kind``);
:func:`ef_error_table` summarises any of them the way the cmr-seg-tl paper did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy import lazy_exports

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from harness.published.cmr_seg_tl import compare_with_paper_volumes, load_cmr_seg_tl_kaggle
    from harness.published.cmr_seg_tl_7t import load_cmr_seg_tl_7t
    from harness.published.ef_table import EF_TABLE_COLUMNS, ef_error_table
    from harness.published.importers import IMPORTERS, import_published
    from harness.published.results import SUBJECT_COLUMNS, PublishedCineResults, PublishedTable, SourceFile

_EXPORTS: dict[str, str] = {
    "compare_with_paper_volumes": "harness.published.cmr_seg_tl",
    "load_cmr_seg_tl_kaggle": "harness.published.cmr_seg_tl",
    "load_cmr_seg_tl_7t": "harness.published.cmr_seg_tl_7t",
    "EF_TABLE_COLUMNS": "harness.published.ef_table",
    "ef_error_table": "harness.published.ef_table",
    "IMPORTERS": "harness.published.importers",
    "import_published": "harness.published.importers",
    "SUBJECT_COLUMNS": "harness.published.results",
    "PublishedCineResults": "harness.published.results",
    "PublishedTable": "harness.published.results",
    "SourceFile": "harness.published.results",
}

__all__ = [
    "EF_TABLE_COLUMNS",
    "IMPORTERS",
    "SUBJECT_COLUMNS",
    "PublishedCineResults",
    "PublishedTable",
    "SourceFile",
    "compare_with_paper_volumes",
    "ef_error_table",
    "import_published",
    "load_cmr_seg_tl_7t",
    "load_cmr_seg_tl_kaggle",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
