"""The scheduler: ready jobs of the job graph run at once, up to the executor's CPU slots, memory and GPUs.

One thread (the caller's) schedules and is the only one that writes the store; each running job runs
in a daemon thread of its own (method jobs wait there on their subprocess, container or Ray task).
A job is ready when every dependency is complete; a failed dependency blocks only its dependants
(kinds listed in a step's ``tolerates`` run anyway, degraded). Ready jobs start by their kind's
``priority`` (trainings first), then in plan order; a later job that fits may start before an earlier
one that waits for resources (backfill). Ctrl-C cancels the
running jobs through the executor and records them as ``interrupted``: the next run does them again.

Worker pools (convert, evaluate) start their workers from a clean forkserver process, never by forking
this threaded process (``harness.common.workers.worker_pool``: a child forked while another thread held
a SimpleITK lock hung for good).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from harness.errors import ExecutorUnavailableError, JobCancelledError, JobFailedError, SegArenaError
from harness.executors.base import Assignment, Capacity, Executor, machine_capacity
from harness.plan import Job, Plan
from harness.runner import steps
from harness.runner.kinds import STEPS
from harness.runner.resources import ResourcePool, cpus_per_job, jobs_cap
from harness.store import Store
from harness.store.outputs import JobOutput

if TYPE_CHECKING:
    from harness.runner.engine import Reporter, RunSummary

log = logging.getLogger(__name__)

#: Memory a job that runs inside the harness (convert, split, evaluate, report) is counted with.
HARNESS_JOB_MEMORY_GB = 1.0
#: How long Ctrl-C waits for the cancelled jobs to end before it gives up on them.
CANCEL_WAIT_S = 30.0


@dataclass
class _Running:
    job: Job
    assignment: Assignment
    started: float  # monotonic
    thread: threading.Thread


@dataclass(frozen=True)
class _Outcome:
    key: str
    output: JobOutput | None
    error: BaseException | None
    detail: str  # the traceback of an unexpected error


class Scheduler:
    def __init__(self, plan: Plan, store: Store, ctx: steps.Context, reporter: Reporter, capacity: Capacity,
                 jobs: int | None, executor: Executor | None) -> None:
        self.plan, self.store, self.ctx, self.reporter = plan, store, ctx, reporter
        self.capacity = capacity
        self.max_jobs = jobs_cap(capacity, jobs)
        self.pool = ResourcePool(capacity, self.max_jobs)
        # the jobs the harness runs itself use this machine: the executor's pool, or their own (Ray)
        self.harness_pool = self.pool if capacity.on_this_machine else ResourcePool(machine_capacity(), self.max_jobs)
        self.executor = executor  # None when no method job has to run
        self._done: queue.Queue[_Outcome] = queue.Queue()
        self._running: dict[str, _Running] = {}
        self._order = {key: i for i, key in enumerate(plan.jobs)}
        self._requests: dict[str, Assignment] = {}

    # -- what a job asks for --------------------------------------------------------------------
    def request(self, job: Job) -> Assignment:
        """What ``job`` asks for (asked once per job: under Ray, a request reads the cluster's nodes)."""
        if job.key not in self._requests:
            self._requests[job.key] = self._ask(job)
        return self._requests[job.key]

    def _ask(self, job: Job) -> Assignment:
        step = STEPS[job.kind]
        if step.runs_methods and self.executor is not None:
            card = self.ctx.methods.card(job.spec["method"])
            return self.executor.request(card, cpus_per_job(self.capacity, card.resources.cpus, self.max_jobs))
        return Assignment(cpus=min(step.cpus, max(self._pool_of(job).capacity.cpus, 1)), memory_gb=HARNESS_JOB_MEMORY_GB)

    def _pool_of(self, job: Job) -> ResourcePool:
        return self.pool if STEPS[job.kind].runs_methods else self.harness_pool

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, summary: RunSummary) -> None:
        jobs = list(self.plan.jobs.values())
        outputs = self.ctx.outputs
        settled: set[str] = set()  # complete, failed or not run: nothing more happens to it in this run
        waiting: list[Job] = []
        for job in jobs:
            if job.key in outputs:
                settled.add(job.key)
                summary.skipped.append(job.name)
                self.reporter.job_skipped(job, "complete in the store")
            else:
                waiting.append(job)
        total = len(jobs)
        self.reporter.overall(len(settled), total)
        try:
            while waiting or self._running:
                waiting = self._start_ready(waiting, settled, summary)
                self.reporter.overall(len(settled), total)
                if not self._running:
                    if waiting:  # nothing runs and nothing can start: a bug, never a hang
                        raise RuntimeError(f"scheduler stalled with {len(waiting)} waiting jobs: {waiting[0].name}")
                    break
                try:
                    outcome = self._done.get(timeout=0.5)
                except queue.Empty:
                    continue
                self._settle(outcome, summary)
                settled.add(outcome.key)
                while True:  # everything else that finished meanwhile
                    try:
                        outcome = self._done.get_nowait()
                    except queue.Empty:
                        break
                    self._settle(outcome, summary)
                    settled.add(outcome.key)
        except BaseException:
            self._interrupt(summary)
            raise

    def _start_ready(self, waiting: list[Job], settled: set[str], summary: RunSummary) -> list[Job]:
        still: list[Job] = []
        outputs = self.ctx.outputs
        for job in sorted(waiting, key=lambda j: (STEPS[j.kind].priority, self._order[j.key])):
            if any(d not in settled for d in job.deps):
                still.append(job)
                continue
            step = STEPS[job.kind]
            missing = [d for d in job.deps if d not in outputs]
            blocking = [d for d in missing if self.plan.jobs[d].kind not in step.tolerates]
            if blocking:
                reason = f"not run: {self.plan.jobs[blocking[0]].name} did not complete"
                self.store.start(job.key, job.kind, job.name, job.identity())
                self.store.finish(job.key, "not_run", 0.0, reason=reason)
                settled.add(job.key)
                summary.not_run.append((job.name, reason))
                self.reporter.job_skipped(job, reason)
                continue
            request = self.request(job)
            pool = self._pool_of(job)
            if (why := pool.never_fits(request)) is not None:
                self.store.start(job.key, job.kind, job.name, job.identity())
                reason = f"{job.name} {why}"
                self.store.finish(job.key, "failed", 0.0, reason=reason, assignment=asdict(request))
                settled.add(job.key)
                summary.failed.append((job.name, reason))
                self.reporter.job_finished(job, "failed", 0.0, reason)
                continue
            if len(self._running) >= self.max_jobs or not pool.fits(request):
                still.append(job)
                continue
            self._launch(job, pool.take(request))
        return still

    def _launch(self, job: Job, assignment: Assignment) -> None:
        self.store.start(job.key, job.kind, job.name, job.identity())
        executor = getattr(self.executor, "name", "")
        where = f"{executor}: {assignment.describe()}" if STEPS[job.kind].runs_methods else "harness"
        self.reporter.job_started(job, where)
        ctx = replace(self.ctx, assignment=assignment)
        progress = functools.partial(self.reporter.progress, job)
        thread = threading.Thread(target=self._work, args=(ctx, job, progress), daemon=True,
                                  name=f"segarena-job-{job.short}")
        self._running[job.key] = _Running(job, assignment, time.monotonic(), thread)
        thread.start()

    def _work(self, ctx: steps.Context, job: Job, progress: Callable[[int | None, int], None]) -> None:
        """Runs in the job's thread: never touches the store, only hands the outcome to the scheduler."""
        try:
            output = STEPS[job.kind].run(ctx, job, progress)
        except BaseException as err:  # noqa: BLE001 - every outcome goes back to the scheduling thread
            detail = "" if isinstance(err, SegArenaError) else traceback.format_exc()
            self._done.put(_Outcome(job.key, None, err, detail))
            return
        self._done.put(_Outcome(job.key, output, None, ""))

    def _settle(self, outcome: _Outcome, summary: RunSummary) -> None:
        running = self._running.pop(outcome.key)
        self._pool_of(running.job).give_back(running.assignment)
        job = running.job
        duration = time.monotonic() - running.started
        held = asdict(running.assignment)
        err = outcome.error
        if err is None:
            output = outcome.output
            assert output is not None
            missing = [d for d in job.deps if d not in self.ctx.outputs]
            status = "degraded" if missing else "done"  # only tolerated dependencies can be missing here
            provenance = getattr(output, "provenance", None) or {}
            self.store.finish(job.key, status, duration, 0, "upstream job failed" if missing else "",
                              getattr(output, "log", None), output, int(provenance.get("attempts", 1)), held)
            self.ctx.outputs[job.key] = output
            summary.executed.append(job.name)
            self.reporter.job_finished(job, status, duration, "")
            return
        if isinstance(err, ExecutorUnavailableError):  # the executor cannot run anything: stop the run (the CLI says why)
            self.store.finish(job.key, "failed", duration, reason=str(err), assignment=held)
            summary.failed.append((job.name, str(err)))
            raise err
        attempts = err.attempts if isinstance(err, JobFailedError) else 1
        if isinstance(err, JobCancelledError):
            self.store.finish(job.key, "interrupted", duration, reason=str(err), attempts=attempts, assignment=held)
            summary.failed.append((job.name, str(err)))
            self.reporter.job_finished(job, "interrupted", duration, str(err))
            return
        if isinstance(err, SegArenaError):
            reason = str(err)
        elif isinstance(err, Exception):  # a bug or a crash inside one job must not stop the others
            log_path = self.ctx.job_dir(job) / "error.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(outcome.detail)
            reason = f"{type(err).__name__}: {err} (traceback in {log_path})"
        else:
            raise err  # KeyboardInterrupt / SystemExit raised inside a job thread
        self.store.finish(job.key, "failed", duration, reason=reason, attempts=attempts, assignment=held)
        summary.failed.append((job.name, reason))
        self.reporter.job_finished(job, "failed", duration, reason)

    def _interrupt(self, summary: RunSummary) -> None:
        """Ctrl-C (or a fatal error): cancel what runs, wait a little for it, record it as interrupted."""
        if not self._running:
            return
        if self.executor is not None:
            try:
                self.executor.cancel()
            except Exception:  # noqa: BLE001 - cancelling must not hide the interruption
                log.exception("cancelling the running jobs failed")
        deadline = time.monotonic() + CANCEL_WAIT_S
        while self._running and time.monotonic() < deadline:
            try:
                outcome = self._done.get(timeout=0.2)
            except queue.Empty:
                continue
            running = self._running.pop(outcome.key)
            self._pool_of(running.job).give_back(running.assignment)
            if outcome.error is None and outcome.output is not None:  # it finished after all: keep it
                self.store.finish(outcome.key, "done", time.monotonic() - running.started, 0, "",
                                  getattr(outcome.output, "log", None), outcome.output)
                summary.executed.append(running.job.name)
            else:
                self._mark_interrupted(running)
        for running in list(self._running.values()):  # still going (a harness-side job): the next run redoes it
            self._mark_interrupted(running)
        self._running.clear()

    def _mark_interrupted(self, running: _Running) -> None:
        self.store.finish(running.job.key, "interrupted", time.monotonic() - running.started,
                          reason="interrupted: the run was stopped while this job ran; the next run does it again",
                          assignment=asdict(running.assignment))
