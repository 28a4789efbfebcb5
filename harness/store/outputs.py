"""What each kind of job produces: one pydantic model per job kind, the one way outputs are written and read back.

The store keeps an output as JSON and validates it on read; a stored output that does not validate
(an older harness wrote it, or it was edited) makes the job incomplete, so the next run does it again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def paths(self) -> list[Path]:
        """The files and folders this output names that must still exist for the job to count as done."""
        return []

    # Read access by field name, for code that still indexes outputs like the dicts they were
    # (the evaluate step's body and tests reading a stored row); new code reads the attributes.
    def __getitem__(self, name: str) -> Any:
        if name not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        value = getattr(self, name, None) if name in type(self).model_fields else None
        return default if value is None else value


class ConvertOutput(_Output):
    kind: Literal["convert"] = "convert"
    path: Path  # the common-format dataset folder
    n_cases: int | None = None  # None: a converted folder the benchmark named, not counted
    n_failed_subjects: int | None = None
    reused: bool | None = None  # the cache entry was complete already

    def paths(self) -> list[Path]:
        return [self.path]


class SplitOutput(_Output):
    kind: Literal["split"] = "split"
    path: Path  # splits.json
    sha256: str
    dataset_path: Path

    def paths(self) -> list[Path]:
        return [self.path]


class InitLineage(BaseModel):
    """Where a trained model's starting weights came from (shown in the report's provenance)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["scratch", "imagenet", "finetune"]
    source: str | None = None  # imagenet without a file: the method library's published weights
    weights: str | None = None  # imagenet: the weights file the regime names
    weights_sha256: str | None = None
    base_job: str | None = None  # finetune: the key of the base model's train job
    base_dataset: str | None = None
    base_model: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        value = getattr(self, name, None) if name in type(self).model_fields else None
        return default if value is None else value


class TrainOutput(_Output):
    kind: Literal["train"] = "train"
    model: Path
    log: Path
    n_training_cases: int
    n_training_subjects: int
    training_subjects: list[str]
    dataset: str
    init: InitLineage
    duration_s: float
    provenance: dict[str, Any] = Field(default_factory=dict)
    model_manifest: dict[str, str] | None = None  # the seal: relative path → sha256 of every model file
    history: list[dict[str, Any]] | None = None  # the method's history.csv, row by row
    model_info: dict[str, Any] | None = None  # the method's model_info.json (parameters, ...), flat

    def paths(self) -> list[Path]:
        return [self.model]


class PredictOutput(_Output):
    kind: Literal["predict"] = "predict"
    predictions: Path
    log: Path
    duration_s: float
    violations: list[str] = Field(default_factory=list)
    invalid_cases: list[str] = Field(default_factory=list)
    output: Literal["labels", "volumes"] = "labels"
    provenance: dict[str, Any] = Field(default_factory=dict)

    def paths(self) -> list[Path]:
        return [self.predictions]


class EvaluateOutput(_Output):
    kind: Literal["evaluate"] = "evaluate"
    metrics: Path  # metrics.csv
    subjects: Path | None = None  # subjects.csv, when there are per-subject rows
    n_cases: int | None = None
    n_raters: int | None = None  # second-rater evaluations: how many raters were scored
    failed_upstream: bool = False
    finished_at: float | None = None

    def paths(self) -> list[Path]:
        return [self.metrics]


class ReportOutput(_Output):
    kind: Literal["report"] = "report"
    index: Path
    metrics_csv: Path

    def paths(self) -> list[Path]:
        return [self.index]


JobOutput = ConvertOutput | SplitOutput | TrainOutput | PredictOutput | EvaluateOutput | ReportOutput
_ADAPTER: TypeAdapter[JobOutput] = TypeAdapter(Annotated[JobOutput, Field(discriminator="kind")])


def dump_output(output: JobOutput | None) -> str:
    """The JSON the store keeps (``{}`` for a job that produced nothing); paths as text, NaN kept as NaN."""
    return json.dumps(output.model_dump() if output is not None else {}, default=_path_text)


def _path_text(value: object) -> str:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"a job output holds a {type(value).__name__}, which JSON cannot store")


def load_output(text: str | None) -> JobOutput | None:
    """The output stored as ``text``; None when there is none or it does not validate (the job is redone)."""
    try:
        return _ADAPTER.validate_python(json.loads(text or "{}"))
    except (ValueError, ValidationError):
        return None


def parse_output(data: JobOutput | dict[str, Any]) -> JobOutput:
    """A step's output as its model (a step may hand back the plain dict; it is validated here)."""
    if isinstance(data, _Output):
        return data  # type: ignore[return-value]
    return _ADAPTER.validate_python(data)
