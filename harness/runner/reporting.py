"""The report job: the tables a report is built from, assembled from the plan, the store and the jobs' outputs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from harness.config.models import Benchmark
from harness.datasets.registry import DatasetRegistry
from harness.errors import InputDataError
from harness.methods.registry import MethodRegistry
from harness.plan import Plan, build_plan
from harness.report.inputs import Failure, History, Provenance, ReportInputs, RunTime, SplitRow, Violations
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
    from harness.report.viewmodel import entry_name

    evaluations = [o for j in plan.of_kind("evaluate") if isinstance(o := outputs.get(j.key), EvaluateOutput)]
    metrics = _concat([_read_csv(o.metrics) for o in evaluations])
    subjects = _concat([_read_csv(o.subjects) for o in evaluations])
    failures: list[Failure] = []
    runtime: dict[str, dict[str, float]] = {}
    provenance: list[Provenance] = []
    for job in plan.jobs.values():
        record = store.get(job.key)
        if record is None:
            continue
        if record.status == "failed":
            failures.append(Failure(job.name, job.kind, record.reason, record.log_path))  # a failure stores no output
        if job.kind in ("train", "predict") and record.duration_s is not None:
            entry = entry_name(job.spec | {"method": job.spec["method_id"]})
            runtime.setdefault(entry, {"train": 0.0, "predict": 0.0})[job.kind] += float(record.duration_s)
        if job.kind in ("convert", "split", "train", "predict") and record.status == "done" and record.output is not None:
            provenance.append(Provenance(job.name, job.key, provenance_detail(record.output)))
    violations = [Violations(j.name, list(o.violations)) for j in plan.of_kind("predict")
                  if isinstance(o := outputs.get(j.key), PredictOutput) and o.violations]
    histories = [History(j.name, o.history) for j in plan.of_kind("train")
                 if isinstance(o := outputs.get(j.key), TrainOutput) and o.history]
    return ReportInputs(
        metrics=metrics, subjects=subjects, failures=failures,
        runtimes=[RunTime(k, v["train"], v["predict"]) for k, v in sorted(runtime.items())],
        provenance=provenance, violations=violations, histories=histories,
        splits=split_rows(bench, plan, outputs) if bench is not None else [],
        hidden_paths=hidden_paths(bench) if bench is not None else {},
    )


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
        return f"ImageNet encoder from {output.init.weights or output.init.source}; {code}, {where}"
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
