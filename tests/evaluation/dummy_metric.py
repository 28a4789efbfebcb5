"""An outside metric, in one file: the false-positive volume in ml. Enabled by `metrics.extra` naming this module."""

from __future__ import annotations

import math

from harness.metrics import CaseMeasures, Metric


def _false_positive_ml(measures: CaseMeasures) -> float:
    return measures.counts.fp * math.prod(measures.spacing_mm) / 1000.0


METRICS = (
    Metric(
        name="fp_ml",
        kind="volume",
        unit="ml",
        higher_is_better=False,
        definition="|P \\ R| × voxel volume",
        formula=_false_positive_ml,
        empty_rules={"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute",
                     "missing_prediction": "exclude"},
        computable=frozenset({"both_empty", "reference_empty", "prediction_empty"}),
        best=0.0,
    ),
)
