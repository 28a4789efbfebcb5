"""Run a benchmark: plan, skip what the store has, execute the rest, record every outcome."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.common.paths import FolderLock
from harness.config.models import Benchmark, ExecutorSettings
from harness.datasets.registry import DatasetRegistry
from harness.errors import ExecutorUnavailableError, InputDataError, SegArenaError
from harness.executors import default_settings, make_executor
from harness.executors.base import Executor
from harness.executors.processes import RUNNING_DIR, end_orphaned_jobs
from harness.methods.registry import MethodRegistry
from harness.plan import Job, Plan, build_plan
from harness.runner import steps
from harness.runner.kinds import STEPS
from harness.runner.reuse import reusable_output
from harness.store import Store
from harness.store.outputs import ReportOutput

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """What the CLI shows while a run goes on (library code never prints)."""

    def job_started(self, job: Job, index: int, total: int) -> None: ...
    def job_skipped(self, job: Job, reason: str) -> None: ...
    def job_finished(self, job: Job, status: str, duration_s: float, reason: str) -> None: ...
    def progress(self, total: int | None, advance: int) -> None: ...


class SilentReporter:
    def job_started(self, job: Job, index: int, total: int) -> None:
        log.info("start %s", job.name)

    def job_skipped(self, job: Job, reason: str) -> None:
        log.info("skip %s (%s)", job.name, reason)

    def job_finished(self, job: Job, status: str, duration_s: float, reason: str) -> None:
        log.info("%s %s in %.1f s %s", status, job.name, duration_s, reason)

    def progress(self, total: int | None, advance: int) -> None:
        pass


@dataclass
class RunSummary:
    run_dir: Path
    report: Path | None
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (job name, reason)
    not_run: list[tuple[str, str]] = field(default_factory=list)  # (job name, the failed job it needed)

    @property
    def ok(self) -> bool:
        return not self.failed


def _executor_settings(bench: Benchmark, override: str | None) -> ExecutorSettings:
    """The benchmark's executor settings, or a registered kind's defaults for ``--executor KIND``."""
    if override is None or override == bench.executor.kind:
        return bench.executor
    return default_settings(override)


class _LazyExecutor:
    """Builds the executor on first use, so a fully cached run needs no engine."""

    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings
        self._executor: Executor | None = None

    def get(self) -> Executor:
        if self._executor is None:
            self._executor = make_executor(self.settings)
        return self._executor


def run_benchmark(
    bench: Benchmark,
    executor: str | None = None,
    reporter: Reporter | None = None,
    datasets: DatasetRegistry | None = None,
    methods: MethodRegistry | None = None,
) -> RunSummary:
    reporter = reporter or SilentReporter()
    datasets = datasets or DatasetRegistry(bench.plugins.datasets)
    methods = methods or MethodRegistry(bench.plugins.methods)
    plan: Plan = build_plan(bench, datasets, methods)
    assert bench.run_dir is not None
    run_dir = bench.run_dir
    # One run of a benchmark at a time: two would run the same jobs in the same job folders.
    run_lock = FolderLock(run_dir)
    if not run_lock.try_acquire():
        raise InputDataError(
            f"another `segarena run` of this benchmark is going on (pid {run_lock.holder()}, run folder {run_dir}); "
            "wait for it to end or stop it, then run again (finished jobs are kept)"
        )
    try:
        return _run_locked(bench, plan, run_dir, executor, reporter, datasets, methods)
    finally:
        run_lock.release()


def _run_locked(bench: Benchmark, plan: Plan, run_dir: Path, executor: str | None, reporter: Reporter,
                datasets: DatasetRegistry, methods: MethodRegistry) -> RunSummary:
    store = Store(run_dir / "store.sqlite")
    # A predecessor killed mid-job (kill -9, a dead node) may have left its method's processes running.
    for job_name, pids in end_orphaned_jobs(run_dir / RUNNING_DIR):
        log.warning("ended %d process(es) of job %s left by a run that was killed", len(pids), job_name)
    lazy = _LazyExecutor(_executor_settings(bench, executor))
    pending_method_jobs = [
        j for j in plan.jobs.values() if STEPS[j.kind].runs_methods and reusable_output(store.get(j.key)) is None
    ]
    if pending_method_jobs:
        # Fail before doing anything if the executor cannot run here, or lacks a method's image.
        needed = {j.spec["method"] for j in pending_method_jobs}
        missing = lazy.get().missing_for([methods.card(name) for name in sorted(needed)])
        if missing:
            raise ExecutorUnavailableError(f"the {lazy.settings.kind} executor cannot run this benchmark yet:\n  "
                                           + "\n  ".join(missing))
    run_id = store.begin_run()
    summary = RunSummary(run_dir, None)
    ctx = steps.Context(bench, datasets, methods, _DeferredExecutor(lazy), run_dir, {}, plan, store)
    jobs = list(plan.jobs.values())
    try:
        for index, job in enumerate(jobs):
            step = STEPS[job.kind]
            reused = reusable_output(store.get(job.key))
            if reused is not None:
                ctx.outputs[job.key] = reused
                summary.skipped.append(job.name)
                reporter.job_skipped(job, "complete in the store")
                continue
            missing = [d for d in job.deps if d not in ctx.outputs]
            blocking = [d for d in missing if plan.jobs[d].kind not in step.tolerates]
            if blocking:
                reason = f"not run: {plan.jobs[blocking[0]].name} did not complete"
                store.start(job.key, job.kind, job.name)
                store.finish(job.key, "not_run", 0.0, reason=reason)
                summary.not_run.append((job.name, reason))
                reporter.job_skipped(job, reason)
                continue
            reporter.job_started(job, index, len(jobs))
            store.start(job.key, job.kind, job.name)
            started = time.monotonic()
            try:
                output = step.run(ctx, job, reporter.progress)
            except ExecutorUnavailableError:
                raise
            except SegArenaError as err:
                _record_failure(store, job, started, str(err), summary, reporter)
                continue
            except Exception as err:  # a bug or a crash inside one job must not stop the others
                detail = traceback.format_exc()
                log_path = ctx.job_dir(job) / "error.log"
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log_path.write_text(detail)
                _record_failure(store, job, started, f"{type(err).__name__}: {err} (traceback in {log_path})",
                                summary, reporter)
                continue
            duration = time.monotonic() - started
            degraded = bool(missing)  # only tolerated dependencies can be missing here
            status = "degraded" if degraded else "done"
            store.finish(job.key, status, duration, 0, "upstream job failed" if degraded else "",
                         getattr(output, "log", None), output)
            ctx.outputs[job.key] = output
            summary.executed.append(job.name)
            reporter.job_finished(job, status, duration, "")
    finally:
        store.end_run(run_id, len(summary.executed), len(summary.skipped) + len(summary.not_run), len(summary.failed))
        store.close()
    summary.report = next((o.index for o in ctx.outputs.values() if isinstance(o, ReportOutput)), None)
    return summary


def _record_failure(store: Store, job: Job, started: float, reason: str, summary: RunSummary, reporter: Reporter) -> None:
    duration = time.monotonic() - started
    store.finish(job.key, "failed", duration, reason=reason)
    summary.failed.append((job.name, reason))
    reporter.job_finished(job, "failed", duration, reason)


class _DeferredExecutor(Executor):
    name = "deferred"

    def __init__(self, lazy: _LazyExecutor) -> None:
        self._lazy = lazy

    def availability(self):  # type: ignore[no-untyped-def]
        return self._lazy.get().availability()

    def run(self, invocation):  # type: ignore[no-untyped-def]
        return self._lazy.get().run(invocation)
