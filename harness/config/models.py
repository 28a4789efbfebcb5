"""benchmark.yaml, as pydantic models (``extra="forbid"`` everywhere).

Only registered names refer to components (datasets, methods, executors,
published-result importers): no code in config. Relative paths are resolved
against the folder of the benchmark file by :func:`harness.config.load_benchmark`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    GetPydanticSchema,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from harness.config.errors import MODEL_PROBLEMS
from harness.errors import ConfigError
from harness.metrics.clinical_settings import ClinicalSettings
from harness.metrics.settings import MetricsSettings

SCHEMA_VERSION = 1

#: Ids are names, never paths: they become folder and file names (cache, run folder, report).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def is_name(value: str) -> bool:
    """True for an id that is a name: ``NAME_PATTERN`` and not made of dots only."""
    return re.fullmatch(NAME_PATTERN, value) is not None and set(value) != {"."}


def _check_name(value: str) -> str:
    if not is_name(value):
        raise ValueError("ids are names, never paths: a letter or digit, then at most 63 letters, digits, "
                         "'_', '.' or '-' (no '/', no spaces, not only dots)")
    return value


#: An id or registered name; it becomes folder and file names, so it can never be a path.
Name = Annotated[str, AfterValidator(_check_name),
                 Field(description="a name: letters, digits, '_', '.', '-' (no '/')",
                       json_schema_extra={"pattern": NAME_PATTERN})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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


class BaseJob(Strict):
    """A training job of this benchmark that another job starts from."""

    dataset: str
    method: str = Field(description="the base method entry's id (or name)")
    regime: str | None = Field(None, description="default: the first regime that is not a fine-tuning one")
    subset: str = "all"
    fold: int = Field(0, ge=0, description="which fold's model of the base dataset")


class DatasetEntry(Strict):
    name: Name = Field(description="a registered dataset (datasets/<name>/dataset.yaml)")
    id: Name | None = Field(None, description="display name, when one dataset appears with several option sets")
    raw: Path | None = Field(None, description="the raw folder; not needed for generated datasets")
    converted: Path | None = Field(None, description="use an already converted common-format folder instead")
    options: dict[str, Any] = Field(default_factory=dict, description="adapter options")
    split: Split | None = Field(None, description="this dataset's split (default: factors.split)")
    labels_from: BaseJob | None = Field(
        None, description="train on labels another method predicted (cmr-seg-tl stage 1): that training job's model "
        "labels this dataset's training and validation subjects (never its test subjects), and subsets with a "
        "`confidence` rule without `reference_volumes` keep the subjects whose predicted volumes agree with the truth")

    @property
    def key(self) -> str:
        return self.id or self.name


class MethodEntry(Strict):
    name: Name = Field(description="a registered method (methods/<name>/method.yaml)")
    id: Name | None = Field(None, description="display name, when one method runs with several parameter sets")
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.id or self.name





class Regime(Strict):
    """How a method's weights start: from scratch (R), ImageNet (TL), or another job's model (TL2)."""

    name: Name
    init: Literal["scratch", "imagenet", "finetune"] = "scratch"
    weights: Path | None = Field(None, description="local ImageNet weights file (offline machines)")
    base: BaseJob | None = Field(None, alias="from", description="finetune: the job whose model to start from")
    datasets: list[str] = Field(default_factory=list, description="apply only on these datasets (default: all)")
    methods: list[str] = Field(default_factory=list, description="apply only to these method ids (default: all trainable)")

    @model_validator(mode="after")
    def _init_fields(self) -> Regime:
        if self.init == "finetune" and self.base is None:
            raise ValueError(f"regime '{self.name}': init finetune needs `from: {{dataset, method}}`")
        if self.init != "finetune" and self.base is not None:
            raise ValueError(f"regime '{self.name}': `from` is only for init finetune")
        if self.weights is not None and self.init != "imagenet":
            raise ValueError(f"regime '{self.name}': `weights` is only for init imagenet")
        return self


class Confidence(Strict):
    """Keep subjects whose volumes from a reference method agree with the truth (cmr-seg-tl's p05/p10/p15)."""

    reference_volumes: Path | None = Field(
        None, description="CSV with subject, edv_ml, esv_ml from the reference method; absent: the volumes of the "
        "method that labelled the dataset (datasets[].labels_from)")
    max_error_pct: float = Field(gt=0, description="max(|ΔEDV|, |ΔESV|) / truth, in percent")


class Subset(Strict):
    """Which part of the training subjects a method sees."""

    name: Name
    n_subjects: int | None = Field(None, ge=1, description="this many training subjects, drawn by the seed")
    subjects: list[str] = Field(default_factory=list, description="exactly these training subjects")
    phases: list[str] = Field(default_factory=list, description="e.g. [ED, ES]: only these frames")
    confidence: Confidence | None = None
    datasets: list[str] = Field(default_factory=list, description="apply only on these datasets (default: all)")


class Factors(Strict):
    split: Split = Field(default_factory=HoldoutSplit)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    regimes: list[Regime] = Field(default_factory=lambda: [Regime(name="scratch")], min_length=1)
    subsets: list[Subset] = Field(default_factory=lambda: [Subset(name="all")], min_length=1)


class ExecutorSettings(Strict):
    """What the settings of every executor kind share: ``kind``, a registered executor (``segarena list``).

    A kind subclasses this with ``kind: Literal["<name>"]`` and registers the model together with its
    executor class (:mod:`harness.config.executor_kinds`); the ``executor`` section is validated by the model
    registered for its ``kind``.
    """

    kind: str
    jobs: int | None = Field(None, ge=1, description="at most this many jobs at once (like make -j; `segarena run "
                                                     "--jobs N` overrides); default: what the executor's CPU slots, "
                                                     "memory and GPUs allow")


class LocalExecutor(ExecutorSettings):
    kind: Literal["local"] = "local"
    threads: int | None = Field(None, ge=1, description="CPU slots (= torch threads) every method job holds, instead "
                                                        "of its card's resources.cpus")
    gpus: int | list[str] = Field(0, description="GPUs the jobs may use: a count (devices 0..N-1) or a list of "
                                                 "device ids; each GPU job gets its own for its whole duration")


class DockerExecutor(ExecutorSettings):
    kind: Literal["docker"] = "docker"
    gpus: int | list[str] = Field(0, description="a GPU count or a list of device ids")
    memory_gb: float | None = Field(None, gt=0)
    cpus: float | None = Field(None, gt=0)
    shm_gb: float = Field(1.0, gt=0)
    user: str | None = Field(None, pattern=r"^[0-9]+(:[0-9]+)?$",
                             description="uid:gid the methods run as; default the harness's own (1000:1000 under root)")


#: Ray's session folder holds AF_UNIX sockets (at most 107 bytes); this leaves room for the session's own names.
RAY_TEMP_DIR_MAX = 40


def _short_absolute(value: Path | None) -> Path | None:
    if value is not None and (not value.is_absolute() or len(str(value)) > RAY_TEMP_DIR_MAX):
        raise ValueError(f"must be an absolute path of at most {RAY_TEMP_DIR_MAX} characters (Ray puts its sockets "
                         f"under it and socket paths are limited to 107 bytes), e.g. /tmp/ray-segarena")
    return value


class RayExecutor(ExecutorSettings):
    """Each job is one Ray task on some node of a Ray cluster, running the ``inner`` executor's contract there.

    The cluster's security (auth, dashboard, ports) is the cluster's own: see README.md, "Ray".
    """

    kind: Literal["ray"] = "ray"
    address: str | None = Field(None, description="the cluster's GCS address (host:port, as printed by `ray start "
                                                  "--head`); default: start a single-node Ray inside this process. "
                                                  "Never discovered: RAY_ADDRESS and earlier `ray start`s are ignored")
    inner: Literal["local", "docker"] = Field("local", description="the contract each job runs on its node: a "
                                                                   "subprocess (local) or a container (docker)")
    docker: DockerExecutor = Field(default_factory=lambda: DockerExecutor(),
                                   description="settings of the inner docker executor (its gpus, cpus and memory_gb "
                                               "are each job's Ray assignment)")
    gpus_per_job: int = Field(0, ge=0, description="GPUs a job of a GPU-capable method (resources.gpu > 0) asks Ray "
                                                   "for; 0: every job runs on the CPU")
    max_node_retries: int = Field(2, ge=0, description="restarts of a job whose node or Ray worker died (a method's "
                                                       "own failure is never retried)")
    namespace: str = Field("segarena", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    auth: Literal["disabled", "token"] | None = Field(
        None, description="RAY_AUTH_MODE for the driver; default: the environment's (a local Ray: token, with a random "
                          "token kept in memory). "
                          "The token comes from RAY_AUTH_TOKEN or auth_token_path, never from this file")
    auth_token_path: Path | None = Field(None, description="a file holding the cluster's token (RAY_AUTH_TOKEN_PATH)")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables of the jobs' Ray "
                                                                  "workers (PYTHONPATH and SEGARENA_* are passed on)")
    prepare_timeout_s: int = Field(120, gt=0, description="how long every node has to answer the shared-storage "
                                                          "check before the first job")
    # Only for the local single-node Ray (address unset):
    num_cpus: int | None = Field(None, ge=1, description="local Ray only: its CPU slots (default: this machine's)")
    object_store_mb: int = Field(200, ge=80, description="local Ray only: its object store (jobs pass files, not "
                                                         "objects)")
    temp_dir: Annotated[Path | None, AfterValidator(_short_absolute)] = Field(
        None, description="local Ray only: its session folder (default: $RAY_TMPDIR/ray or /tmp/ray); short")


#: A Python import path (``package.module``) of an outside plugin module.
MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


def _registered_executor(value: Any, handler: ValidatorFunctionWrapHandler) -> ExecutorSettings:
    """Validate ``executor`` with the settings model registered for its ``kind``."""
    from harness.config.executor_kinds import EXECUTORS  # the registry of kinds; imported when a file is validated

    if isinstance(value, ExecutorSettings):
        return value
    if not isinstance(value, dict) or "kind" not in value:
        raise ValueError(f"expected a mapping with `kind`: one of {', '.join(EXECUTORS.names())}")
    if not isinstance(value["kind"], str) or value["kind"] not in EXECUTORS:
        raise ValueError(EXECUTORS.unknown_message(str(value["kind"])))
    return EXECUTORS.get(value["kind"]).settings.model_validate(value)


def _executor_json_schema(_core: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
    from harness.config.executor_kinds import EXECUTORS

    kinds = [handler(EXECUTORS.get(name).settings.__pydantic_core_schema__) for name in EXECUTORS.names()]
    return {"oneOf": kinds, "discriminator": {"propertyName": "kind"}, "title": "Executor"}


#: The ``executor`` section: the settings of a registered executor kind, chosen by ``kind``.
Executor = Annotated[ExecutorSettings, WrapValidator(_registered_executor),
                     GetPydanticSchema(get_pydantic_json_schema=_executor_json_schema)]


class PublishedEntry(Strict):
    """Published predictions imported as read-only leaderboard rows."""

    kind: Name = Field(description="a registered published importer (`segarena list`), e.g. cmr_seg_tl_kaggle; "
                                   "checked by `segarena validate`")
    path: Path
    dataset: Name = Field("kaggle_dsb", description="the dataset name these rows are shown under")


class RankingSettings(Strict):
    """How each leaderboard is ranked (challengeR's schemes; harness/stats/ranking.py says exactly how)."""

    scheme: Literal["aggregate_then_rank", "rank_then_aggregate", "test_then_rank"] = Field(
        "aggregate_then_rank", description="aggregate-then-rank (mean or median over cases), rank-then-aggregate "
        "(rank within each subject, then aggregate the ranks), test-then-rank (one-sided Wilcoxon signed-rank with "
        "Holm; rank by the number of entries significantly beaten)")
    aggregate: Literal["mean", "median"] = Field("mean", description="the aggregate of the first two schemes")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of test-then-rank and the significance map")
    n_boot: int = Field(1000, ge=10, le=100000, description="bootstrap resamples of the subjects (rank stability)")
    seed: int = Field(0, ge=0, description="seed of the bootstrap: the same report every time")


class ReportSettings(Strict):
    out: Path = Field(Path("reports/demo"), description="folder of the static site")
    title: str = "SegArena benchmark"
    rank_by: str = Field("dice", description="the metric that orders each leaderboard")
    ranking: RankingSettings = Field(default_factory=RankingSettings)
    overlays: bool = Field(True, description="draw the best, median and worst test case of each method as PNG "
                                             "(reference and prediction contours over the image)")

    @field_validator("rank_by")
    @classmethod
    def _known_metric(cls, name: str) -> str:
        from harness.metrics.catalog import METRIC_INFO, unknown_metric_message  # with metrics.extra's, loaded first

        if name not in METRIC_INFO:
            raise ValueError(unknown_metric_message(name))
        return name


class Plugins(Strict):
    """Outside plugins: folders holding dataset or method folders (relative to the benchmark file), and
    importable modules that register executor kinds (see harness/README.md, "Plug points")."""

    datasets: list[Path] = Field(default_factory=list)
    methods: list[Path] = Field(default_factory=list)
    executors: list[Annotated[str, Field(pattern=MODULE_PATTERN)]] = Field(
        default_factory=list, description="import paths of modules that register executor kinds when imported")


class Benchmark(Strict):
    schema_version: Literal[1] = Field(description=f"must be {SCHEMA_VERSION}")
    name: Name = Field(description="names the run folder (runs/<name>) by default")
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

    @model_validator(mode="before")
    @classmethod
    def _import_executor_plugins(cls, data: Any) -> Any:
        """Outside executor kinds register when their module is imported: before ``executor`` is validated."""
        modules = data.get("plugins", {}).get("executors", []) if isinstance(data, dict) else []
        if isinstance(modules, list) and all(isinstance(m, str) and re.fullmatch(MODULE_PATTERN, m) for m in modules):
            from harness.registry import import_plugins

            try:
                import_plugins(modules, "plugins.executors")
            except ConfigError as err:
                raise ValueError(str(err)) from err
        return data

    def base_regime(self, base: BaseJob) -> str | None:
        """The regime of a fine-tuning base job (its own, or the first non-finetune regime)."""
        if base.regime is not None:
            return base.regime
        return next((r.name for r in self.factors.regimes if r.init != "finetune"), None)

    def _model_reference_problems(self, where: str, ref: BaseJob, methods: set[str],
                                  regimes: dict[str, Any]) -> list[str]:
        """What is wrong with a reference to another entry's trained model (a regime's ``from``, ``labels_from``):
        its method, regime and subset must exist, the regime must not fine-tune."""
        problems = []
        if ref.method not in methods:
            problems.append(f"{where}.method: '{ref.method}' is not a method id of this benchmark")
        regime = self.base_regime(ref)
        if regime not in regimes or regimes[regime].init == "finetune":
            problems.append(f"{where}.regime: '{regime}' must be a non-finetune regime of this benchmark")
        if ref.subset not in {s.name for s in self.factors.subsets}:
            problems.append(f"{where}.subset: '{ref.subset}' is not a subset of this benchmark")
        return problems

    @model_validator(mode="after")
    def _unique_names(self) -> Benchmark:
        """Cross-references between sections; every problem is collected, one line each, naming its YAML path."""
        problems: list[str] = []
        for what, keys in (("datasets", [d.key for d in self.datasets]), ("methods", [m.key for m in self.methods])):
            for name in sorted({k for k in keys if keys.count(k) > 1}):
                where = ", ".join(f"{what}[{i}]" for i, k in enumerate(keys) if k == name)
                problems.append(f"{what}: '{name}' is listed twice ({where}); give each entry its own `id`")
        if not self.datasets and not self.published:
            problems.append("datasets: a benchmark needs at least one dataset or one published entry")
        for what, names in (("regimes", [r.name for r in self.factors.regimes]),
                            ("subsets", [s.name for s in self.factors.subsets])):
            for name in sorted({n for n in names if names.count(n) > 1}):
                problems.append(f"factors.{what}: name '{name}' is listed twice")
        datasets = {d.key for d in self.datasets}
        methods = {m.key for m in self.methods}
        regimes = {r.name: r for r in self.factors.regimes}
        for index, regime in enumerate(self.factors.regimes):
            where = f"factors.regimes[{index}]"
            for name in regime.datasets:
                if name not in datasets:
                    problems.append(f"{where}.datasets: '{name}' is not a dataset of this benchmark")
            for name in regime.methods:
                if name not in methods:
                    problems.append(f"{where}.methods: '{name}' is not a method id of this benchmark")
            if regime.base is not None:
                base = regime.base
                if base.dataset not in datasets:
                    problems.append(f"{where}.from.dataset: '{base.dataset}' is not a dataset of this benchmark")
                problems += self._model_reference_problems(f"{where}.from", base, methods, regimes)
        labelled = {d.key for d in self.datasets if d.labels_from is not None}
        for index, entry in enumerate(self.datasets):
            source = entry.labels_from
            if source is None:
                continue
            where = f"datasets[{index}].labels_from"
            if source.dataset == entry.key or source.dataset in labelled:
                problems.append(f"{where}.dataset: '{source.dataset}' must be another dataset with labels of its own "
                                "(not this one, not one labelled by a method)")
            elif source.dataset not in datasets:
                problems.append(f"{where}.dataset: '{source.dataset}' is not a dataset of this benchmark")
            problems += self._model_reference_problems(where, source, methods, regimes)
        for index, subset in enumerate(self.factors.subsets):
            for name in subset.datasets:
                if name not in datasets:
                    problems.append(f"factors.subsets[{index}].datasets: '{name}' is not a dataset of this benchmark")
            if subset.confidence is not None and subset.confidence.reference_volumes is None:
                unlabelled = sorted(d for d in (subset.datasets or datasets) if d not in labelled)
                if unlabelled:
                    problems.append(f"factors.subsets[{index}].confidence: no reference_volumes, and dataset(s) "
                                    f"{', '.join(unlabelled)} have no labels_from whose volumes it could use; give "
                                    "reference_volumes or restrict the subset's datasets")
        if problems:
            raise ValueError(MODEL_PROBLEMS + "\n".join(problems))
        return self
