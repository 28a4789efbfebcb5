"""The report job: the tables a report is built from, assembled from the plan, the store and the jobs' outputs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from harness.config.models import Benchmark
from harness.datasets.registry import DatasetRegistry
from harness.errors import InputDataError
from harness.methods.registry import MethodRegistry
from harness.plan import Plan, build_plan
from harness.report.inputs import (
    ComputeRow,
    Failure,
    History,
    OverlayCase,
    Provenance,
    ReportInputs,
    SplitRow,
    Violations,
)
from harness.settings import cache_dir, repo_root
from harness.store import Store
from harness.store.outputs import ConvertOutput, EvaluateOutput, JobOutput, PredictOutput, SplitOutput, TrainOutput


def _read_csv(path: Path | None) -> pd.DataFrame:
    if not path or not path.is_file() or path.stat().st_size <= 1:
        return pd.DataFrame()
    return pd.read_csv(path, keep_default_na=True)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def split_rows(bench: Benchmark, plan: Plan, outputs: dict[str, JobOutput]) -> list[SplitRow]:
    """Each dataset's split as a table row (kind, fractions or folds, fixed test subjects, its hash)."""
    rows = []
    for job in plan.of_kind("split"):
        entry = next(d for d in bench.datasets if d.key == job.spec["dataset"])
        spec = entry.split or bench.factors.split
        if spec.kind == "holdout":
            detail = f"test {spec.test_fraction:.0%}" if not spec.test_subjects else "fixed test subjects"
            test = list(spec.test_subjects)
        else:
            chosen = "all" if not spec.folds else ", ".join(str(f) for f in spec.folds)
            detail, test = f"{spec.n_folds} folds (run: {chosen})", []
        if spec.val_fraction:
            detail += f", validation {spec.val_fraction:.0%} of the training subjects"
        output = outputs.get(job.key)
        sha = output.sha256 if isinstance(output, SplitOutput) else ""
        rows.append(SplitRow(entry.key, spec.kind, detail, test, sha))
    return rows


def hidden_paths(bench: Benchmark) -> dict[str, str]:
    """This machine's folders a published report must not show, and what it shows instead."""
    hidden = {str(Path.home()): "~", str(repo_root()): "<checkout>", str(cache_dir()): "<cache>",
              tempfile.gettempdir(): "<tmp>", str(bench.report.out.resolve()): "<report>"}
    for entry in bench.datasets:
        for folder, name in ((entry.raw, f"<raw:{entry.key}>"), (entry.converted, f"<converted:{entry.key}>")):
            if folder is not None:
                hidden[str(Path(folder).resolve())] = name
    for published in bench.published:
        hidden[str(Path(published.path).resolve().parent)] = f"<published:{published.dataset}>"
    if bench.run_dir is not None:
        hidden[str(bench.run_dir.resolve())] = ""
        hidden[str(bench.run_dir)] = ""
    hidden.pop("/", None)
    return hidden


def collect_report_inputs(plan: Plan, store: Store, outputs: dict[str, JobOutput],
                          bench: Benchmark | None = None) -> ReportInputs:
    """Every table of the report: metric and subject rows of the evaluations that completed, plus the run's records."""

    evaluations = [o for j in plan.of_kind("evaluate") if isinstance(o := outputs.get(j.key), EvaluateOutput)]
    metrics = _concat([_read_csv(o.metrics) for o in evaluations])
    subjects = _concat([_read_csv(o.subjects) for o in evaluations])
    failures: list[Failure] = []
    provenance: list[Provenance] = []
    for job in plan.jobs.values():
        record = store.get(job.key)
        if record is None:
            continue
        if record.status == "failed":
            failures.append(Failure(job.name, job.kind, record.reason, record.log_path))  # a failure stores no output
        if job.kind in ("convert", "split", "train", "predict") and record.status == "done" and record.output is not None:
            provenance.append(Provenance(job.name, job.key, provenance_detail(record.output)))
    violations = [Violations(j.name, list(o.violations)) for j in plan.of_kind("predict")
                  if isinstance(o := outputs.get(j.key), PredictOutput) and o.violations]
    histories = [History(j.name, o.history) for j in plan.of_kind("train")
                 if isinstance(o := outputs.get(j.key), TrainOutput) and o.history]
    rank_by = bench.report.rank_by if bench is not None else "dice"
    draw = bench is None or bench.report.overlays
    return ReportInputs(
        metrics=metrics, subjects=subjects, failures=failures, compute=compute_rows(plan, outputs),
        provenance=provenance, violations=violations, histories=histories,
        overlays=overlay_cases(plan, outputs, metrics, rank_by) if draw else [],
        lineage=lineage_records(plan, outputs),
        splits=split_rows(bench, plan, outputs) if bench is not None else [],
        hidden_paths=hidden_paths(bench) if bench is not None else {},
    )


def _entry(job_spec: dict[str, Any]) -> str:
    from harness.report.viewmodel import entry_name

    return entry_name(job_spec | {"method": job_spec["method_id"]})


def _device(provenance: dict[str, Any]) -> str:
    devices = [d for d in provenance.get("devices") or [] if isinstance(d, dict)]
    if devices:
        return "; ".join(f"GPU {d.get('id')}: {d.get('name')}" if d.get("visible") else f"GPU {d.get('id')}"
                         for d in devices)
    threads = provenance.get("threads")
    return f"CPU, {threads} thread(s)" if threads else "CPU"


def _predicted_cases(output: PredictOutput) -> int:
    if output.output == "volumes":
        table = output.predictions / "volumes.csv"
        return max(0, len(table.read_text().splitlines()) - 1) if table.is_file() else 0
    return sum(1 for _ in output.predictions.glob("*.nii.gz")) if output.predictions.is_dir() else 0


def compute_rows(plan: Plan, outputs: dict[str, JobOutput]) -> list[ComputeRow]:
    """Per dataset × leaderboard entry: parameters, training and inference time, peak memory, device."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for job in plan.jobs.values():
        output = outputs.get(job.key)
        if job.kind not in ("train", "predict") or not isinstance(output, (TrainOutput, PredictOutput)):
            continue
        group = groups.setdefault((job.spec["dataset"], _entry(job.spec)), {
            "method": job.spec["method_id"], "train": [], "predict": [], "cases": 0, "train_mb": [],
            "predict_mb": [], "parameters": None, "device": "", "executor": "",
            "params": dict(job.spec.get("params") or {})})
        peak = output.provenance.get("peak_memory_mb")
        if isinstance(output, TrainOutput):
            group["train"].append(output.duration_s)
            if isinstance(peak, (int, float)):
                group["train_mb"].append(float(peak))
            parameters = (output.model_info or {}).get("parameters")
            if isinstance(parameters, int) and not isinstance(parameters, bool):
                group["parameters"] = parameters
            group["device"] = group["device"] or _device(output.provenance)
            group["executor"] = str(output.provenance.get("executor", ""))
        else:
            group["predict"].append(output.duration_s)
            group["cases"] += _predicted_cases(output)
            if isinstance(peak, (int, float)):
                group["predict_mb"].append(float(peak))
            group["device"] = group["device"] or _device(output.provenance)
            group["executor"] = group["executor"] or str(output.provenance.get("executor", ""))

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return [ComputeRow(
        dataset=dataset, entry=entry, method=g["method"], parameters=g["parameters"], train_s=mean(g["train"]),
        predict_s=mean(g["predict"]),
        predict_s_per_case=sum(g["predict"]) / g["cases"] if g["cases"] else None,
        train_peak_mb=max(g["train_mb"]) if g["train_mb"] else None,
        predict_peak_mb=max(g["predict_mb"]) if g["predict_mb"] else None,
        device=g["device"], executor=g["executor"], n_train_jobs=len(g["train"]), n_predict_jobs=len(g["predict"]),
        params=g["params"],
    ) for (dataset, entry), g in sorted(groups.items())]


def overlay_cases(plan: Plan, outputs: dict[str, JobOutput], metrics: pd.DataFrame,
                  rank_by: str) -> list[OverlayCase]:
    """Per dataset × entry: its best, median and worst test case by ``rank_by`` (mean over structures)."""
    from harness.common.dataset import CommonDataset
    from harness.metrics import METRIC_INFO

    if metrics.empty or rank_by not in set(metrics["metric"]):
        return []
    higher = bool(METRIC_INFO[rank_by].higher_is_better) if rank_by in METRIC_INFO else True
    predicts: dict[tuple[str, str, str, str, str, str], tuple[PredictOutput, SplitOutput]] = {}
    for job in plan.of_kind("predict"):
        output, split = outputs.get(job.key), outputs.get(job.deps[-1])
        if isinstance(output, PredictOutput) and output.output == "labels" and isinstance(split, SplitOutput):
            key = tuple(str(job.spec[k]) for k in ("dataset", "method_id", "regime", "subset", "fold", "seed"))
            predicts[key] = (output, split)  # type: ignore[index]
    rows = metrics[(metrics["metric"] == rank_by) & metrics["value"].notna()]
    datasets: dict[Path, CommonDataset] = {}
    chosen: list[OverlayCase] = []
    columns = ["dataset", "method", "regime", "subset", "fold", "seed"]
    for (dataset, method, regime, subset), group in rows.groupby(columns[:4], sort=True):
        per_case = group.groupby(["fold", "seed", "case"], sort=True)["value"].mean().reset_index()
        per_case = per_case.sort_values(["value", "case"], ascending=[not higher, True], kind="stable")
        if per_case.empty:
            continue
        picks = {"best": 0, "worst": len(per_case) - 1, "median": len(per_case) // 2}  # median only when distinct
        seen: set[int] = set()
        for role, index in picks.items():
            if index in seen:
                continue
            seen.add(index)
            row = per_case.iloc[index]
            found = predicts.get((str(dataset), str(method), str(regime), str(subset), str(row["fold"]),
                                  str(row["seed"])))
            if found is None:
                continue
            output, split = found
            common = datasets.get(split.dataset_path)
            if common is None:
                try:
                    common = datasets[split.dataset_path] = CommonDataset.open(split.dataset_path)
                except Exception:  # the converted folder is gone: nothing to draw
                    continue
            try:
                record = common.case(str(row["case"]))
            except Exception:
                continue
            reference = common.label_path(record)
            prediction = output.predictions / f"{record.case}.nii.gz"
            if reference is None or not prediction.is_file():
                continue
            entry = _entry({"method_id": method, "regime": regime, "subset": subset})
            chosen.append(OverlayCase(str(dataset), entry, record.case, role, float(row["value"]), rank_by,
                                      tuple(str(p) for p in common.image_paths(record)), str(reference),
                                      str(prediction),
                                      tuple((name, tuple(values)) for name, values in common.structures.items())))
    return chosen


def lineage_records(plan: Plan, outputs: dict[str, JobOutput]) -> list[dict[str, Any]]:
    """Per job, its result's origin as data for report.json: image ID, code, weight, dataset and split hashes."""
    records: list[dict[str, Any]] = []
    for job in plan.jobs.values():
        output = outputs.get(job.key)
        if output is None or job.kind not in ("convert", "split", "train", "predict"):
            continue
        record: dict[str, Any] = {"job": job.name, "kind": job.kind, "key": job.key}
        if isinstance(output, ConvertOutput):
            record |= {"dataset": job.spec.get("dataset", ""), "cases": output.n_cases, "dataset_key": job.key}
        elif isinstance(output, SplitOutput):
            record |= {"splits_sha256": output.sha256}
        elif isinstance(output, (TrainOutput, PredictOutput)):
            prov = output.provenance
            record |= {k: prov.get(k) for k in ("executor", "image", "image_id", "repo_digests", "method_code_sha256",
                                                 "peak_memory_mb", "threads", "host") if prov.get(k) is not None}
            if isinstance(output, TrainOutput):
                record["init"] = output.init.model_dump(exclude_none=True)
                if output.model_manifest:
                    record["model_sha256"] = dict(sorted(output.model_manifest.items()))
                if output.model_info:
                    record["model_info"] = output.model_info
        records.append(record)
    return records


def provenance_detail(output: JobOutput) -> str:
    """One line saying where a job's result came from (digests, executor, image, starting weights)."""
    if isinstance(output, SplitOutput):
        return f"splits sha256 {output.sha256}"
    if isinstance(output, ConvertOutput):
        return f"{output.n_cases} cases at {output.path}"
    if not isinstance(output, (TrainOutput, PredictOutput)):
        return ""
    prov = output.provenance
    where = f"executor {prov.get('executor', '?')}"
    if prov.get("image"):
        where += (f", image {prov['image']} (id {str(prov.get('image_id', '?'))[:19]}…), "
                  f"Docker {prov.get('engine', '?')}, user {prov.get('user', '?')}, network {prov.get('network', '?')}")
    where += _where_it_ran(prov)
    code = f"method code sha256 {str(prov.get('method_code_sha256', '?'))[:16]}…"
    if isinstance(output, TrainOutput) and output.init.kind == "finetune":
        init = output.init
        return (f"fine-tuned from job {(init.base_job or '')[:12]} on {init.base_dataset} "
                f"(weights sha256 {(init.weights_sha256 or '')[:16]}…); {code}, {where}")
    if isinstance(output, TrainOutput) and output.init.kind == "imagenet":
        sha = f" (sha256 {output.init.weights_sha256[:16]}…)" if output.init.weights_sha256 else ""
        return f"ImageNet encoder from {output.init.weights or output.init.source}{sha}; {code}, {where}"
    return f"{code}, {where}"


def _where_it_ran(prov: dict[str, object]) -> str:
    """Host or Ray node, threads, and each GPU the job held (model, memory, driver, CUDA where visible)."""
    parts = []
    ray = prov.get("ray")
    if isinstance(ray, dict):
        parts.append(f"ray node {ray.get('hostname') or ray.get('node_ip', '?')} ({str(ray.get('node_id', '?'))[:8]})")
        if int(ray.get("attempts", 1) or 1) > 1:
            parts.append(f"{ray['attempts']} attempts (a node died)")
    elif prov.get("host"):
        parts.append(f"host {prov['host']}")
    if prov.get("threads"):
        parts.append(f"{prov['threads']} thread(s)")
    devices = prov.get("devices") or []
    for device in devices if isinstance(devices, list) else []:
        if not isinstance(device, dict):
            continue
        if device.get("visible"):
            parts.append(f"GPU {device.get('id')}: {device.get('name')}, {device.get('memory_mib')} MiB, driver "
                         f"{device.get('driver')}, CUDA {device.get('cuda') or '?'}")
        else:
            parts.append(f"GPU {device.get('id')} (not visible to nvidia-smi)")
    if not devices:
        parts.append("CPU only")
    return "".join(f", {part}" for part in parts)


def render_from_store(
    bench: Benchmark, datasets: DatasetRegistry | None = None, methods: MethodRegistry | None = None
) -> tuple[Path, int, int]:
    """Render the report again from what the store holds, running no job.

    Returns (the index page, the jobs whose results it shows, the jobs not complete yet). For a
    changed title, ranking metric or output folder, or a report made while jobs were still failing.
    """
    from harness.report import render_report
    from harness.runner.reuse import reusable_output

    datasets = datasets or DatasetRegistry(bench.plugins.datasets)
    methods = methods or MethodRegistry(bench.plugins.methods)
    plan = build_plan(bench, datasets, methods)
    assert bench.run_dir is not None
    path = bench.run_dir / "store.sqlite"
    if not path.is_file():
        raise InputDataError(f"{path}: no run store yet; run the benchmark first (`segarena run`)")
    store = Store(path)
    outputs: dict[str, JobOutput] = {}
    tables = [job for job in plan.jobs.values() if job.kind != "report"]  # the report is what is made again
    for job in tables:
        reused = reusable_output(store.get(job.key))
        if reused is not None:
            outputs[job.key] = reused
    if not any(plan.jobs[key].kind == "evaluate" for key in outputs):
        raise InputDataError(f"{path}: no evaluation of this benchmark is complete yet; nothing to report")
    result = render_report(bench, collect_report_inputs(plan, store, outputs, bench))
    return result.index, len(outputs), len(tables) - len(outputs)
