"""Run state: one SQLite file per run folder recording every job's status, timings, exit code and log."""

from __future__ import annotations

from harness.store.outputs import (
    ConvertOutput,
    EvaluateOutput,
    InitLineage,
    JobOutput,
    LabelLineage,
    LabelOutput,
    PredictOutput,
    ReportOutput,
    SplitOutput,
    TrainOutput,
    load_output,
    parse_output,
)
from harness.store.sqlite import JobRecord, Store

__all__ = ["ConvertOutput", "EvaluateOutput", "InitLineage", "JobOutput", "JobRecord", "LabelLineage", "LabelOutput", "PredictOutput",
           "ReportOutput", "SplitOutput", "Store", "TrainOutput", "load_output", "parse_output"]
