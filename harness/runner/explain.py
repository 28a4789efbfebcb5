"""What a run would do, and why: every planned job with its state, from the plan and the store alone.

``segarena plan`` prints it. Nothing runs and no executor is built: a job is ``complete`` exactly when a
run would skip it (:func:`harness.runner.reuse.reusable_output` of its key's record), and every other job
would run, for the first of these reasons that holds:

* ``outputs missing``: the store holds it as done, but a file it made is gone (or its cached dataset no
  longer matches its manifest, or its stored output no longer validates);
* ``failed before``: the store holds it as failed (or timed out, out of memory, interrupted), with the
  stored reason;
* ``waits for``: the store holds it as not run or degraded because a dependency did not complete, and that
  dependency would run now: it runs after it;
* ``new``: no job of that name was ever recorded;
* ``params changed``: a job of the same name was recorded under another key, and the method parameters
  its key hashes differ (each named, ``old → new``, nested ones as ``a.b``);
* ``upstream changed``: same parameters, but a dependency's key differs (the dependency is named);
* ``changed``: same name, another key, no better explanation (a raw folder's fingerprint, code, settings):
  what differs in the spec or in the parts of the key is named when the store recorded them.

A job that would run after one of its dependencies says so too (``after``), whatever its reason.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.plan import Job, Plan
from harness.runner.reuse import output_problems
from harness.store.sqlite import JobRecord, Store

State = Literal["complete", "outputs missing", "failed before", "waits for", "new", "params changed",
                "upstream changed", "changed"]
#: The order states are counted in the summary line.
STATES: tuple[State, ...] = ("complete", "new", "params changed", "upstream changed", "changed", "failed before",
                             "outputs missing", "waits for")
#: Statuses of a job that did not run because a dependency did not complete (it ran degraded, or not at all).
_BLOCKED = ("not_run", "degraded")
#: What each part of a key's payload is, for "changed" (``harness.plan.planner`` names them).
_PART_NAMES = {
    "code": "code", "tree": "folder fingerprint (files, sizes, modification times)", "card": "dataset card",
    "options": "dataset options", "raw": "raw folder", "converted": "converted folder", "generated": "source",
    "split": "split", "metrics": "metrics settings", "clinical": "clinical settings", "version": "evaluator version",
    "report": "report settings", "published": "published results", "regime": "regime", "subset": "subset",
    "init": "initial weights", "method": "method", "fold": "fold", "seed": "seed", "folds": "folds",
    "dataset_id": "dataset id", "method_id": "method id",
}


@dataclass(frozen=True)
class Change:
    """One value that differs between the recorded version of a job and the planned one."""

    path: str  # e.g. "epochs", "optimizer.lr"
    old: Any
    new: Any

    def text(self) -> str:
        return f"{self.path}: {_value(self.old)} → {_value(self.new)}"


@dataclass(frozen=True)
class JobState:
    key: str
    kind: str
    name: str
    state: State
    reason: str  # the details: which params, which dependency, the stored failure
    changes: tuple[Change, ...] = ()
    after: tuple[str, ...] = ()  # names of the dependencies that would run first

    @property
    def would_run(self) -> bool:
        return self.state != "complete"

    def as_data(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "name": self.name, "state": self.state,
                "would_run": self.would_run, "reason": self.reason,
                "changes": [{"path": c.path, "old": c.old, "new": c.new} for c in self.changes],
                "after": list(self.after)}


@dataclass
class Explanation:
    jobs: list[JobState] = field(default_factory=list)  # in plan order (a topological order)
    store: Path | None = None  # None: no store yet, every job is new

    def counts(self) -> Counter[str]:
        return Counter(job.state for job in self.jobs)

    def summary(self) -> str:
        """``N complete, M would run: x new, y params changed, ...`` (states with no job left out)."""
        counts = self.counts()
        complete = counts.pop("complete", 0)
        would_run = sum(counts.values())
        parts = ", ".join(f"{counts[s]} {s}" for s in STATES if counts.get(s))
        return f"{complete} complete, {would_run} would run" + (f": {parts}" if parts else "")

    def as_data(self) -> dict[str, Any]:
        counts = self.counts()
        return {"store": str(self.store) if self.store else None,
                "summary": {"complete": counts.get("complete", 0),
                            "would_run": sum(n for s, n in counts.items() if s != "complete"),
                            "states": {s: counts[s] for s in STATES if counts.get(s)}},
                "jobs": [job.as_data() for job in self.jobs]}


def explain_plan(plan: Plan, store: Store | None) -> Explanation:
    """Every job of ``plan`` with its state and reason, judged from ``store`` (None: nothing recorded)."""
    records = store.all() if store is not None else []
    by_key = {r.key: r for r in records}
    by_name = {r.name: r for r in records if r.started_at is not None}  # ordered by started_at: the latest
    states: dict[str, JobState] = {}
    for job in plan.jobs.values():
        after = tuple(plan.jobs[d].name for d in job.deps if d in states and states[d].would_run)
        states[job.key] = _explain(job, by_key.get(job.key), by_name.get(job.name), by_key, plan, after)
    return Explanation(list(states.values()), store.path if store is not None else None)


def explain_benchmark(plan: Plan, run_dir: Path) -> Explanation:
    """:func:`explain_plan` with the run folder's store, opened read-only (a run may be going on)."""
    store = Store.open_read_only(run_dir / "store.sqlite")
    try:
        return explain_plan(plan, store)
    finally:
        if store is not None:
            store.close()


def _explain(job: Job, record: JobRecord | None, earlier: JobRecord | None, by_key: dict[str, JobRecord],
             plan: Plan, after: tuple[str, ...]) -> JobState:
    def state(name: State, reason: str, changes: tuple[Change, ...] = ()) -> JobState:
        return JobState(job.key, job.kind, job.name, name, reason, changes, after)

    if record is not None:
        if record.status == "done":
            if not record.is_complete or record.output is None:
                return state("outputs missing", "its stored output no longer validates (an older SegArena wrote "
                                                "it, or it was edited)")
            problems = output_problems(record.output)
            if problems:
                return state("outputs missing", problems[0])
            if after:  # like make (runner.engine.reusable_outputs): built on a job that runs again, it runs again
                return state("waits for", f"{_names(after)} runs again, so this runs again after it")
            return JobState(job.key, job.kind, job.name, "complete", "complete in the store")
        if record.status in _BLOCKED and after:
            return state("waits for", _names(after))
        stored = _first_line(record.reason)
        if record.status == "running":
            return state("failed before", "interrupted: the store holds it as running (a run was stopped while it "
                                          "ran, or one is going on now)")
        if not stored or stored.startswith(record.status):
            return state("failed before", stored or record.status)
        return state("failed before", f"{record.status}: {stored}")
    if earlier is None:
        return state("new", "never run")
    old = earlier.spec
    if not isinstance(old, dict) or not isinstance(old.get("spec"), dict):
        return state("changed", "its key changed; the store holds no spec for the earlier version")
    now = job.identity()
    params = tuple(_diff(old["spec"].get("params"), now["spec"].get("params")))
    old_deps, new_deps = list(old.get("deps") or []), list(now["deps"])
    upstream = [plan.jobs[d].name for d in new_deps if d not in old_deps]
    names_now = {plan.jobs[d].name for d in new_deps}
    gone = [name for name in (by_key[d].name if d in by_key else f"job {d[:12]}" for d in old_deps if d not in new_deps)
            if name not in names_now]  # a dependency no planned job replaces (one of the same name changed key)
    old_inputs, new_inputs = old.get("inputs") or {}, now.get("inputs") or {}
    parts = [name for name in new_inputs.keys() | old_inputs.keys() if old_inputs.get(name) != new_inputs.get(name)]
    # the params are what changed when the key hashes them (train), or, lacking the parts, when no dependency changed
    hashes_params = "params" in parts if old_inputs and new_inputs else not (upstream or gone)
    if params and hashes_params:
        return state("params changed", "; ".join(c.text() for c in params), params)
    if upstream or gone:
        named = [*upstream, *(f"{name} (no longer planned)" for name in gone)]
        return state("upstream changed", _names(tuple(named)))
    spec_changes = tuple(_diff(old["spec"], now["spec"]))
    details = [c.text() for c in spec_changes]
    details += [_PART_NAMES.get(name, name) for name in sorted(parts) if name not in ("params", "evaluations")
                and not any(c.path == name or c.path.startswith(f"{name}.") for c in spec_changes)]
    if not details:
        details = ["its key changed but its recorded spec and dependencies did not (an older SegArena recorded it)"
                   if not old_inputs else "its key changed but none of its recorded parts did"]
    return state("changed", "; ".join(details), spec_changes)


def _diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """The values that differ between two JSON values, nested mappings walked (``a.b``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for name in sorted(old.keys() | new.keys(), key=str):
            sub = f"{path}.{name}" if path else str(name)
            if name not in old:
                changes.append(Change(sub, None, new[name]))
            elif name not in new:
                changes.append(Change(sub, old[name], None))
            else:
                changes += _diff(old[name], new[name], sub)
        return changes
    return [] if old == new else [Change(path or "value", old, new)]


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _names(names: tuple[str, ...] | list[str], shown: int = 2) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _first_line(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return (lines[0][:300] + (" …" if len(lines) > 1 or len(lines[0]) > 300 else "")) if lines else ""
