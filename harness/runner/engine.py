"""Run a benchmark: plan, skip what the store has, execute the rest, record every outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.common.paths import FolderLock
from harness.config.models import Benchmark, ExecutorSettings
from harness.datasets.registry import DatasetRegistry
from harness.errors import ExecutorUnavailableError, InputDataError
from harness.executors import default_settings, make_executor
from harness.executors.base import Executor, machine_capacity
from harness.executors.processes import RUNNING_DIR, end_orphaned_jobs
from harness.methods.registry import MethodRegistry
from harness.plan import Job, Plan, build_plan
from harness.runner import steps
from harness.runner.kinds import STEPS
from harness.runner.reuse import reusable_output
from harness.runner.scheduler import Scheduler
from harness.store import Store
from harness.store.outputs import JobOutput, ReportOutput

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """What the CLI shows while a run goes on (library code never prints).

    ``job_started`` / ``job_skipped`` / ``job_finished`` / ``overall`` come from the scheduling thread,
    ``progress`` from the thread running that job (several jobs run at once).
    """

    def job_started(self, job: Job, where: str) -> None: ...
    def job_skipped(self, job: Job, reason: str) -> None: ...
    def job_finished(self, job: Job, status: str, duration_s: float, reason: str) -> None: ...
    def progress(self, job: Job, total: int | None, advance: int) -> None: ...
    def overall(self, settled: int, total: int) -> None: ...


class SilentReporter:
    def job_started(self, job: Job, where: str) -> None:
        log.info("start %s (%s)", job.name, where)

    def job_skipped(self, job: Job, reason: str) -> None:
        log.info("skip %s (%s)", job.name, reason)

    def job_finished(self, job: Job, status: str, duration_s: float, reason: str) -> None:
        log.info("%s %s in %.1f s %s", status, job.name, duration_s, reason)

    def progress(self, job: Job, total: int | None, advance: int) -> None:
        pass

    def overall(self, settled: int, total: int) -> None:
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

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()


def run_benchmark(
    bench: Benchmark,
    executor: str | None = None,
    reporter: Reporter | None = None,
    datasets: DatasetRegistry | None = None,
    methods: MethodRegistry | None = None,
    jobs: int | None = None,
) -> RunSummary:
    """Run every job of ``bench`` the store does not hold as complete, ready jobs at once up to the capacity.

    ``jobs`` caps how many run at once (``segarena run --jobs N``; default ``executor.jobs``, else what the
    executor's CPU slots, memory and GPUs allow).
    """
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
        return _run_locked(bench, plan, run_dir, executor, reporter, datasets, methods, jobs)
    finally:
        run_lock.release()


def reusable_outputs(plan: Plan, store: Store) -> dict[str, JobOutput]:
    """The outputs this run reuses: complete in the store, files still there, and no dependency runs again.

    Like make: a job whose dependency runs again (it failed or degraded before, its files are gone, a cached
    dataset no longer verifies) runs again too, even though its key is the same, so a report or a
    prediction never stays built on an earlier version of its inputs.
    """
    reused: dict[str, JobOutput] = {}
    for job in plan.jobs.values():  # dependencies first
        output = reusable_output(store.get(job.key))
        if output is not None and all(d in reused for d in job.deps):
            reused[job.key] = output
    return reused


def _run_locked(bench: Benchmark, plan: Plan, run_dir: Path, executor: str | None, reporter: Reporter,
                datasets: DatasetRegistry, methods: MethodRegistry, jobs: int | None) -> RunSummary:
    store = Store(run_dir / "store.sqlite")
    # A predecessor killed mid-job (kill -9, a dead node) may have left its method's processes running.
    for job_name, pids in end_orphaned_jobs(run_dir / RUNNING_DIR):
        log.warning("ended %d process(es) of job %s left by a run that was killed", len(pids), job_name)
    lazy = _LazyExecutor(_executor_settings(bench, executor))
    reused = reusable_outputs(plan, store)
    pending_method_jobs = [j for j in plan.jobs.values() if STEPS[j.kind].runs_methods and j.key not in reused]
    capacity = machine_capacity()
    if pending_method_jobs:
        # Fail before doing anything if the executor cannot run here, or lacks a method's image.
        needed = {j.spec["method"] for j in pending_method_jobs}
        missing = lazy.get().missing_for([methods.card(name) for name in sorted(needed)])
        if missing:
            raise ExecutorUnavailableError(f"the {lazy.settings.kind} executor cannot run this benchmark yet:\n  "
                                           + "\n  ".join(missing))
        capacity = lazy.get().capacity()
        lazy.get().prepare(run_dir)
    run_id = store.begin_run()
    ctx = steps.Context(bench, datasets, methods, _DeferredExecutor(lazy), run_dir, dict(reused), plan, store)
    scheduler = Scheduler(plan, store, ctx, reporter, capacity, jobs if jobs is not None else lazy.settings.jobs,
                          lazy.get() if pending_method_jobs else None)
    summary = RunSummary(run_dir, None)
    try:
        scheduler.run(summary)
    finally:
        store.end_run(run_id, len(summary.executed), len(summary.skipped) + len(summary.not_run), len(summary.failed))
        store.close()
        lazy.close()
    summary.report = next((o.index for o in ctx.outputs.values() if isinstance(o, ReportOutput)), None)
    return summary


class _DeferredExecutor(Executor):
    name = "deferred"

    def __init__(self, lazy: _LazyExecutor) -> None:
        self._lazy = lazy

    def availability(self):  # type: ignore[no-untyped-def]
        return self._lazy.get().availability()

    def run(self, invocation):  # type: ignore[no-untyped-def]
        return self._lazy.get().run(invocation)
