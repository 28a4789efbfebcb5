"""How each kind of job runs. Each step returns its kind's output model (``harness.store.outputs``)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from harness.common.dataset import CommonDataset, label_file_name, scored_cases
from harness.config.models import Benchmark
from harness.contract.checks import check_predictions, valid_prediction_cases
from harness.contract.mounts import HISTORY_FILE, MODEL_INFO_FILE, VOLUMES_FILE
from harness.contract.seal import check_model_seal, seal_model
from harness.contract.views import make_images_view, make_training_view
from harness.datasets.cache import ensure_converted
from harness.datasets.registry import DatasetRegistry
from harness.errors import InputDataError, JobCancelledError, JobFailedError
from harness.evaluation.predictions import evaluate_predictions
from harness.evaluation.volumes import read_volume_table, subject_truth_table
from harness.executors.base import Assignment, Executor, Invocation, JobResult
from harness.executors.processes import RUNNING_DIR
from harness.factors.regimes import prepare_init
from harness.factors.splits import Splits, make_splits
from harness.factors.subsets import select_training_cases
from harness.methods.registry import MethodRegistry
from harness.plan.jobs import Job, hash_files
from harness.settings import cache_dir
from harness.store.outputs import ConvertOutput, JobOutput, PredictOutput, SplitOutput, TrainOutput

if TYPE_CHECKING:
    from harness.plan import Plan
    from harness.store import Store

Progress = Any  # a callable (total: int | None, advance: int) -> None, see runner.engine.Reporter
OutputT = TypeVar("OutputT", bound=JobOutput)


@dataclass
class Context:
    bench: Benchmark
    datasets: DatasetRegistry
    methods: MethodRegistry
    executor: Executor
    run_dir: Path
    outputs: dict[str, JobOutput]  # job key → output of completed jobs
    plan: Plan | None = None  # the whole job graph and the run's store: what the report job reads its tables from
    store: Store | None = None
    #: What the scheduler gave the job this context runs (one context per running job, sharing the rest).
    assignment: Assignment | None = None

    def job_dir(self, job: Job) -> Path:
        from harness.common.paths import resolve_within

        return resolve_within(self.run_dir, "jobs", job.kind, job.short)

    def dep_output(self, job: Job, kind: str) -> Any:
        """The output of ``job``'s dependency of ``kind`` (typed reads: ``dep``)."""
        for key in job.deps:
            output = self.outputs.get(key)
            if output is not None and output.kind == kind:
                return output
        raise JobFailedError(f"{job.name}: its {kind} job did not complete")

    def dep(self, job: Job, model: type[OutputT]) -> OutputT:
        """The output of ``job``'s dependency whose output is a ``model``."""
        output = self.dep_output(job, model.model_fields["kind"].default)
        assert isinstance(output, model)
        return output


def run_convert(ctx: Context, job: Job, progress: Progress) -> ConvertOutput:
    entry = ctx.bench.datasets[job.spec["dataset_index"]]
    if entry.converted is not None:
        CommonDataset.open(entry.converted)  # fails clearly if it is not a common-format folder
        return ConvertOutput(path=entry.converted, n_cases=None)
    from harness.common.paths import resolve_within

    card = ctx.datasets.card(entry.name)
    adapter = ctx.datasets.adapter(entry.name, entry.options)
    out = resolve_within(cache_dir(), "datasets", f"{entry.key}-{job.short}")  # ids are names, never paths
    if card.generated:
        raw = resolve_within(cache_dir(), "raw", f"{entry.key}-{job.short}")
    else:
        if entry.raw is None:
            raise InputDataError(
                f"dataset '{entry.name}' needs its raw folder: set datasets[{job.spec['dataset_index']}].raw "
                f"in the benchmark file\nexpected layout:\n{card.raw_layout}"
            )
        raw = entry.raw
    # under the entry's lock: a complete entry (manifest verified) is used, anything else converted again
    cached = ensure_converted(
        adapter, raw, out, workers=2,
        on_start=lambda n: progress(n, 0), on_subject_done=lambda _s: progress(None, 1),
    )
    return ConvertOutput(path=cached.path, n_cases=cached.n_cases, n_failed_subjects=cached.n_failed_subjects,
                         reused=cached.reused)


def run_split(ctx: Context, job: Job, progress: Progress) -> SplitOutput:
    dataset = CommonDataset.open(ctx.dep(job, ConvertOutput).path)
    entry = next(d for d in ctx.bench.datasets if d.key == job.spec["dataset"])
    splits = make_splits(dataset, entry.split or ctx.bench.factors.split)
    from harness.common.paths import resolve_within

    path = resolve_within(ctx.run_dir, "splits", f"{job.spec['dataset']}-{splits.sha256[:12]}.json")
    splits.write(path)
    return SplitOutput(path=path, sha256=splits.sha256, dataset_path=dataset.root)


def _fold(ctx: Context, job: Job) -> tuple[CommonDataset, Splits, int]:
    split = ctx.dep(job, SplitOutput)
    return CommonDataset.open(split.dataset_path), Splits.read(split.path), int(job.spec["fold"])


def _method_env(job: Job) -> dict[str, str]:
    return {"SEGARENA_SEED": str(job.spec["seed"]), "SEGARENA_FOLD": str(job.spec["fold"])}


def run_train(ctx: Context, job: Job, progress: Progress) -> TrainOutput:
    dataset, splits, fold_index = _fold(ctx, job)
    fold = splits.folds[fold_index]
    subset = next(s for s in ctx.bench.factors.subsets if s.name == job.spec["subset"])
    cases = select_training_cases(dataset, fold.train, subset, int(job.spec["seed"]))
    if not cases:
        raise JobFailedError(f"{job.name}: no labelled training cases in this fold/subset")
    card = ctx.methods.card(job.spec["method"])
    folder = ctx.job_dir(job)
    shutil.rmtree(folder, ignore_errors=True)
    mounts = {"data": make_training_view(dataset, cases, folder / "data"), "out": folder / "model"}
    if fold.val:
        val_cases = select_training_cases(dataset, fold.val, subset.model_copy(update={"n_subjects": None}), 0)
        mounts["val"] = make_training_view(dataset, val_cases, folder / "val")
    mounts["out"].mkdir(parents=True)
    init = job.spec.get("init", {"kind": "scratch"})
    regime = next((r for r in ctx.bench.factors.regimes if r.name == job.spec.get("regime")), None)
    base = ctx.outputs.get(init.get("base", ""))
    lineage, init_mount = prepare_init(job.name, init, regime, base if isinstance(base, TrainOutput) else None,
                                       fold.test, folder / "init")
    if init_mount is not None:
        mounts["init"] = init_mount
        if lineage.kind == "finetune":
            lineage = lineage.model_copy(update={"weights_sha256": hash_files([init_mount / "model.pt"])})
    params_path = folder / "params.json"
    params_path.write_text(json.dumps(dict(job.spec["params"]), indent=2))
    mounts["params"] = params_path
    result = ctx.executor.run(Invocation(card, "train", mounts, _method_env(job), card.resources.time_limit_s,
                                         folder / "train.log", ctx.run_dir / RUNNING_DIR, ctx.assignment))
    shutil.rmtree(folder / "data", ignore_errors=True)
    shutil.rmtree(folder / "val", ignore_errors=True)
    _check_result(result)
    history = mounts["out"] / HISTORY_FILE
    subjects = sorted({c.subject for c in cases})
    return TrainOutput(
        model=mounts["out"], log=folder / "train.log", n_training_cases=len(cases), n_training_subjects=len(subjects),
        training_subjects=subjects, dataset=job.spec["dataset"], init=lineage, duration_s=result.duration_s,
        provenance=result.provenance, model_manifest=seal_model(mounts["out"]),
        history=pd.read_csv(history).to_dict(orient="records") if history.is_file() else None,
        model_info=read_model_info(mounts["out"] / MODEL_INFO_FILE),
    )


def read_model_info(path: Path) -> dict[str, Any] | None:
    """A method's model_info.json as a flat dict of JSON scalars, or None (absent or not a JSON object).

    It is method-written text: a value that is not a scalar is kept as its JSON text; the report shows every
    value escaped, and ``parameters`` only when it is a whole number.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, ValueError):
        return {"problem": f"{path.name} is not valid JSON"}
    if not isinstance(data, dict):
        return {"problem": f"{path.name} holds a {type(data).__name__}, not an object"}
    info: dict[str, Any] = {}
    for key, value in list(data.items())[:50]:
        scalar = value is None or isinstance(value, (bool, int, float, str))
        info[str(key)[:100]] = (value if not isinstance(value, str) else value[:500]) if scalar else \
            json.dumps(value)[:500]
    return info


def _check_result(result: JobResult) -> None:
    """A method job that did not end well fails (cancelled: interrupted), carrying its attempts and provenance."""
    provenance = {**result.provenance, "attempts": result.attempts}
    if result.status == "cancelled":
        raise JobCancelledError(f"cancelled: {result.reason or 'the run was interrupted'}", result.attempts, provenance)
    if not result.ok:
        raise JobFailedError(f"{result.status}: {result.reason}", result.attempts, provenance) from None
    result.provenance["attempts"] = result.attempts


def test_cases(dataset: CommonDataset, groups: tuple[str, ...]) -> list[Any]:
    """The scored cases of ``groups``: never an augmentation copy (``primary`` false), see scored_cases."""
    return scored_cases(dataset.cases, groups)


def run_predict(ctx: Context, job: Job, progress: Progress) -> PredictOutput:
    dataset, splits, fold_index = _fold(ctx, job)
    cases = test_cases(dataset, splits.folds[fold_index].test)
    train = ctx.dep(job, TrainOutput)
    card = ctx.methods.card(job.spec["method"])
    folder = ctx.job_dir(job)
    model = train.model
    check_model_seal(model, train.model_manifest, "before predict")
    shutil.rmtree(folder, ignore_errors=True)
    images = make_images_view(dataset, cases, folder / "images")
    out = folder / "predictions"
    out.mkdir(parents=True)
    result = ctx.executor.run(Invocation(card, "predict", {"images": images, "model": model, "out": out},
                                         _method_env(job), card.resources.time_limit_s, folder / "predict.log",
                                         ctx.run_dir / RUNNING_DIR, ctx.assignment))
    shutil.rmtree(images, ignore_errors=True)
    _check_result(result)
    check_model_seal(model, train.model_manifest, "during predict")
    if not any(out.iterdir()):
        raise JobFailedError(f"predict exited 0 but wrote nothing to its output folder {out} (expected one "
                             f"prediction per test case, see containers/CONTRACT.md); every case is scored as "
                             f"missing; log: {folder / 'predict.log'}")
    if card.output == "volumes":
        _, problems = read_volume_table(out / VOLUMES_FILE, cases, dataset.structures)
        return PredictOutput(predictions=out, log=folder / "predict.log", duration_s=result.duration_s,
                             violations=problems, invalid_cases=[], output="volumes", provenance=result.provenance)
    violations = check_predictions(dataset, cases, out)
    return PredictOutput(predictions=out, log=folder / "predict.log", duration_s=result.duration_s,
                         violations=[str(v) for v in violations],
                         invalid_cases=sorted(valid_prediction_cases(violations)), provenance=result.provenance)


def run_evaluate_raters(ctx: Context, job: Job, progress: Progress) -> dict[str, Any]:
    """Score each second rater (``labelsTr_<rater>/``) against the reference on the test cases.

    A case the rater did not contour is excluded (it is not a failure of anyone's).
    """
    split = ctx.dep_output(job, "split")
    dataset = CommonDataset.open(Path(split["dataset_path"]))
    splits = Splits.read(Path(split["path"]))
    groups = tuple(g for i in job.spec["folds"] for g in splits.folds[i].test)
    card = ctx.datasets.card(job.spec["dataset_name"])
    frames = []
    subject_frames = []
    for folder in sorted(p for p in dataset.root.glob("labelsTr_*") if p.is_dir()):
        rater = folder.name.removeprefix("labelsTr_")
        cases = [r for r in test_cases(dataset, groups) if r.has_label and (folder / label_file_name(r.case)).is_file()]
        if not cases:
            continue
        metrics, subjects = evaluate_predictions(
            dataset, cases, folder, set(), ctx.bench.metrics, ctx.bench.clinical if card.cine else None,
            f"rater:{rater}", None,
        )
        for frame in (metrics, subjects):
            if not frame.empty:
                frame.insert(0, "dataset", job.spec["dataset"])
                if "method" not in frame:
                    frame.insert(1, "method", f"rater:{rater}")
                for name, value in (("regime", "-"), ("subset", "-"), ("fold", -1), ("seed", -1)):
                    frame[name] = value
        frames.append(metrics)
        subject_frames.append(subjects)
    folder = ctx.job_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    metrics_path = folder / "metrics.csv"
    (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()).to_csv(metrics_path, index=False)
    subjects_path = None
    if any(not s.empty for s in subject_frames):
        subjects_path = folder / "subjects.csv"
        pd.concat([s for s in subject_frames if not s.empty], ignore_index=True).to_csv(subjects_path, index=False)
    return {"kind": "evaluate", "metrics": str(metrics_path), "subjects": str(subjects_path) if subjects_path else None,
            "n_raters": len(frames)}


def run_evaluate(ctx: Context, job: Job, progress: Progress) -> dict[str, Any]:
    """Score the predictions; a failed predict job is scored too (every case as missing)."""
    if job.spec.get("raters"):
        return run_evaluate_raters(ctx, job, progress)
    dataset, splits, fold_index = _fold(ctx, job)
    cases = test_cases(dataset, splits.folds[fold_index].test)
    predict = ctx.outputs.get(job.deps[0])
    failed_upstream = predict is None
    predictions = Path(predict["predictions"]) if predict else ctx.job_dir(job) / "no-predictions"
    invalid: dict[str, str] = {}  # case -> the contract violations of its prediction (the rows' reason)
    violations: list[str] = predict.get("violations", []) if predict else []
    for case in predict.get("invalid_cases", []) if predict else []:
        invalid[case] = "; ".join(v.partition(": ")[2] for v in violations if v.startswith(f"{case}: "))
    card = ctx.datasets.card(job.spec["dataset_name"])
    truth = subject_truth_table(dataset) if card.kind == "volume_truth" else None
    progress(len(cases), 0)
    volumes = None
    if ctx.methods.card(job.spec["method"]).output == "volumes":
        volumes, _ = read_volume_table(predictions / "volumes.csv", cases, dataset.structures)
    metrics, subjects = evaluate_predictions(
        dataset, cases, predictions, invalid, ctx.bench.metrics, ctx.bench.clinical if card.cine else None,
        job.spec["method_id"], truth, volumes, on_case_done=lambda: progress(None, 1),
    )
    factors = {k: job.spec[k] for k in ("regime", "subset", "fold", "seed")}
    metrics.insert(0, "dataset", job.spec["dataset"])
    metrics.insert(1, "method", job.spec["method_id"])
    for i, (name, value) in enumerate(factors.items()):
        metrics.insert(2 + i, name, value)
    folder = ctx.job_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(folder / "metrics.csv", index=False)
    subjects_path = None
    if not subjects.empty:
        subjects.insert(0, "dataset", job.spec["dataset"])
        for name, value in factors.items():
            subjects[name] = value
        subjects_path = folder / "subjects.csv"
        subjects.to_csv(subjects_path, index=False)
    return {"kind": "evaluate", "metrics": str(folder / "metrics.csv"),
            "subjects": str(subjects_path) if subjects_path else None, "n_cases": len(cases),
            "failed_upstream": failed_upstream, "finished_at": time.time()}
