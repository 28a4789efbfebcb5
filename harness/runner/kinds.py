"""Every job kind as one step object: how it runs and which failed dependencies it runs without.

The engine knows no kind by name: it looks the kind up here, runs ``step.run`` and records
the output model it returns (``harness.store.outputs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.plan.jobs import Job
from harness.runner import labelling, steps
from harness.store.outputs import EvaluateOutput, JobOutput, ReportOutput, parse_output


@dataclass(frozen=True)
class Step:
    kind: str
    run: Callable[[steps.Context, Job, Any], JobOutput]
    #: Dependency kinds whose failure this kind tolerates: it runs anyway and is recorded as degraded.
    tolerates: frozenset[str] = frozenset()
    #: Whether it runs method code, so that the executor must be able to run the method before a run starts.
    runs_methods: bool = False
    #: CPU slots a job of this kind holds when it runs inside the harness (method jobs: their card's).
    cpus: int = 1
    #: Among ready jobs, lower first: trainings (the long ones) before predictions and scores, so that the
    #: slots stay busy with the critical path and the quick jobs fill in behind.
    priority: int = 0


def _evaluate(ctx: steps.Context, job: Job, progress: Any) -> EvaluateOutput:
    output = parse_output(steps.run_evaluate(ctx, job, progress))
    assert isinstance(output, EvaluateOutput)
    return output


def _report(ctx: steps.Context, job: Job, progress: Any) -> ReportOutput:
    """Render the report from the tables of the jobs that completed (plan and store come from the context)."""
    from harness.report import render_report
    from harness.runner.reporting import collect_report_inputs

    assert ctx.plan is not None and ctx.store is not None, "the report step needs the run's plan and store"
    return render_report(ctx.bench, collect_report_inputs(ctx.plan, ctx.store, ctx.outputs, ctx.bench))


STEPS: dict[str, Step] = {step.kind: step for step in (
    Step("convert", steps.run_convert, cpus=2),  # converts two subjects at once
    Step("split", steps.run_split),
    # a method's model labels a dataset's training subjects (datasets[].labels_from), before trainings on them
    Step("label", labelling.run_label, runs_methods=True, priority=1),
    Step("train", steps.run_train, runs_methods=True, priority=1),
    Step("predict", steps.run_predict, runs_methods=True, priority=2),
    # evaluate scores a failed predict as missing predictions; the report shows whatever exists
    Step("evaluate", _evaluate, tolerates=frozenset({"predict"}), priority=3),
    Step("report", _report, tolerates=frozenset({"evaluate"}), priority=4),
)}
