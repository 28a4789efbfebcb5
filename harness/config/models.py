"""benchmark.yaml, as pydantic models (``extra="forbid"`` everywhere).

Only registered names refer to components (datasets, methods, executors,
published-result importers): no code in config. Relative paths are resolved
against the folder of the benchmark file by :func:`harness.config.load_benchmark`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.metrics.clinical import ClinicalSettings
from harness.metrics.settings import MetricsSettings

SCHEMA_VERSION = 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetEntry(Strict):
    name: str = Field(description="a registered dataset (datasets/<name>/dataset.yaml)")
    raw: Path | None = Field(None, description="the raw folder; not needed for generated datasets")
    converted: Path | None = Field(None, description="use an already converted common-format folder instead")
    options: dict[str, Any] = Field(default_factory=dict, description="adapter options")


class MethodEntry(Strict):
    name: str = Field(description="a registered method (methods/<name>/method.yaml)")
    id: str | None = Field(None, description="display name, when one method runs with several parameter sets")
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.id or self.name


class HoldoutSplit(Strict):
    kind: Literal["holdout"] = "holdout"
    test_fraction: float = Field(0.25, gt=0, lt=1)
    test_subjects: list[str] = Field(default_factory=list, description="a fixed held-out test set (overrides test_fraction)")
    val_fraction: float = Field(0.0, ge=0, lt=1, description="part of the training subjects held out for validation")


class KFoldSplit(Strict):
    kind: Literal["kfold"] = "kfold"
    n_folds: int = Field(5, ge=2)
    folds: list[int] | None = Field(None, description="which folds to run (default: all)")
    val_fraction: float = Field(0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _folds_in_range(self) -> KFoldSplit:
        for fold in self.folds or []:
            if not 0 <= fold < self.n_folds:
                raise ValueError(f"fold {fold} is outside 0..{self.n_folds - 1}")
        return self


Split = Annotated[HoldoutSplit | KFoldSplit, Field(discriminator="kind")]


class Regime(Strict):
    """How a method's weights start: from scratch, ImageNet, or another job's model (fine-tuning)."""

    name: str
    init: Literal["scratch", "imagenet", "finetune"] = "scratch"
    weights: Path | None = Field(None, description="local weights file (imagenet regime, offline machines)")
    from_job: str | None = Field(None, alias="from", description="the base job to fine-tune from")


class Subset(Strict):
    """Which part of the training subjects a method sees."""

    name: str
    n_subjects: int | None = Field(None, ge=1)
    phases: list[str] = Field(default_factory=list, description="e.g. [ED, ES]: only these frames")


class Factors(Strict):
    split: Split = Field(default_factory=HoldoutSplit)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    regimes: list[Regime] = Field(default_factory=lambda: [Regime(name="scratch")], min_length=1)
    subsets: list[Subset] = Field(default_factory=lambda: [Subset(name="all")], min_length=1)


class LocalExecutor(Strict):
    kind: Literal["local"] = "local"
    threads: int | None = Field(None, ge=1, description="torch threads per job (default: all cores)")


class DockerExecutor(Strict):
    kind: Literal["docker"] = "docker"
    gpus: int | list[str] = Field(0, description="a GPU count or a list of device ids")
    memory_gb: float | None = Field(None, gt=0)
    cpus: float | None = Field(None, gt=0)
    shm_gb: float = Field(1.0, gt=0)


class RayExecutor(Strict):
    kind: Literal["ray"] = "ray"
    address: str | None = Field(None, description="ray cluster address; default: a local cluster")
    gpus_per_job: float = Field(0, ge=0)


Executor = Annotated[LocalExecutor | DockerExecutor | RayExecutor, Field(discriminator="kind")]


class PublishedEntry(Strict):
    """Published predictions imported as read-only leaderboard rows."""

    kind: Literal["cmr_seg_tl_kaggle"]
    path: Path
    dataset: str = Field("kaggle_dsb", description="the dataset name these rows are shown under")


class ReportSettings(Strict):
    out: Path = Field(Path("reports/demo"), description="folder of the static site")
    title: str = "SegArena benchmark"
    rank_by: str = Field("dice", description="the metric that orders each leaderboard")


class Plugins(Strict):
    """Extra folders holding dataset or method folders (outside plugins), relative to the benchmark file."""

    datasets: list[Path] = Field(default_factory=list)
    methods: list[Path] = Field(default_factory=list)


class Benchmark(Strict):
    schema_version: Literal[1] = Field(description=f"must be {SCHEMA_VERSION}")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    datasets: list[DatasetEntry] = Field(default_factory=list)
    methods: list[MethodEntry] = Field(default_factory=list)
    factors: Factors = Field(default_factory=Factors)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    clinical: ClinicalSettings = Field(default_factory=ClinicalSettings)
    executor: Executor = Field(default_factory=LocalExecutor)
    report: ReportSettings = Field(default_factory=ReportSettings)
    published: list[PublishedEntry] = Field(default_factory=list)
    plugins: Plugins = Field(default_factory=Plugins)
    run_dir: Path | None = Field(None, description="run folder (store, logs, predictions); default runs/<name>")

    @model_validator(mode="after")
    def _unique_names(self) -> Benchmark:
        for what, keys in (("dataset", [d.name for d in self.datasets]), ("method", [m.key for m in self.methods])):
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"{what} listed twice: {', '.join(duplicates)} (give each method entry its own `id`)")
        if not self.datasets and not self.published:
            raise ValueError("a benchmark needs at least one dataset or one published entry")
        return self
