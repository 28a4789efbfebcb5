"""`segarena plan`'s judgement (harness.runner.explain): each job's state and reason from plan and store alone.

Every scenario also checks that the judgement is honest: the next `run_benchmark` runs exactly the jobs
explain said would run, and skips exactly those it called complete.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from harness.config import load_benchmark
from harness.datasets.registry import DatasetRegistry
from harness.methods.registry import MethodRegistry
from harness.plan import Job, Plan, build_plan
from harness.runner import run_benchmark
from harness.runner.explain import Explanation, JobState, explain_benchmark, explain_plan
from harness.store import Store, TrainOutput
from tests.conftest import TINY_DEMO
from tests.support.store_specs import record_specs

TWO_NOOPS = TINY_DEMO + """\
methods:
  - name: noop
    id: first
    params: {epochs: 1}
  - name: noop
    id: second
    params: {epochs: 3}
"""
FACTORS = "regime scratch subset all fold 0 seed 0"


def _explain(path: Path) -> dict[str, JobState]:
    return {job.name: job for job in _explanation(path).jobs}


def _explanation(path: Path) -> Explanation:
    bench = load_benchmark(path)
    assert bench.run_dir is not None
    plan = build_plan(bench, DatasetRegistry(bench.plugins.datasets), MethodRegistry(bench.plugins.methods))
    return explain_benchmark(plan, bench.run_dir)


def _run(path: Path) -> set[str]:
    """Run the benchmark, record the specs as the scheduler does; the names of the jobs it did not skip."""
    bench = load_benchmark(path)
    summary = run_benchmark(bench)
    record_specs(bench)
    return {*summary.executed, *(n for n, _ in summary.failed), *(n for n, _ in summary.not_run)}


def _honest(path: Path, states: dict[str, JobState]) -> None:
    """The next run does what explain said: it runs exactly the jobs that would run."""
    assert _run(path) == {name for name, job in states.items() if job.would_run}


def test_a_param_change_names_the_param_and_its_downstream_jobs(write_benchmark) -> None:
    path = write_benchmark(TWO_NOOPS)
    _run(path)
    states = _explain(path)
    assert {job.state for job in states.values()} == {"complete"} and len(states) == 9

    path.write_text(path.read_text().replace("{epochs: 1}", "{epochs: 2}"))
    states = _explain(path)
    train, predict, evaluate = (states[f"{kind} first on demo_cine {FACTORS}"] for kind in ("train", "predict", "evaluate"))
    assert (train.state, train.reason) == ("params changed", "epochs: 1 → 2")
    assert [(c.path, c.old, c.new) for c in train.changes] == [("epochs", 1, 2)]
    assert (predict.state, predict.reason) == ("upstream changed", train.name)
    assert predict.after == (train.name,)
    assert (evaluate.state, evaluate.reason) == ("upstream changed", predict.name)
    report = states["report tiny"]
    assert report.would_run and report.state == "upstream changed" and report.reason == evaluate.name
    assert {name for name, job in states.items() if job.would_run} == {train.name, predict.name, evaluate.name,
                                                                       report.name}
    assert all(job.state == "complete" for name, job in states.items()
               if "second" in name or name in ("convert demo_cine", "split demo_cine"))
    assert _explanation(path).summary() == "5 complete, 4 would run: 1 params changed, 3 upstream changed"
    _honest(path, states)
    assert {job.state for job in _explain(path).values()} == {"complete"}


def test_missing_outputs_and_a_changed_cache_entry(write_benchmark) -> None:
    path = write_benchmark(TWO_NOOPS)
    _run(path)
    store = Store(load_benchmark(path).run_dir / "store.sqlite")
    train_name = f"train second on demo_cine {FACTORS}"
    record = store.by_name()[train_name]
    convert = store.by_name()["convert demo_cine"].output
    store.close()
    assert isinstance(record.output, TrainOutput) and convert is not None
    shutil.rmtree(record.output.model)
    states = _explain(path)
    assert states[train_name].state == "outputs missing"
    assert states[train_name].reason == f"{record.output.model} is gone"
    # like make: what was built on the model runs again after it (never predictions of an earlier model)
    rerun = [f"{kind} second on demo_cine {FACTORS}" for kind in ("train", "predict", "evaluate")] + ["report tiny"]
    assert [name for name, job in states.items() if job.would_run] == rerun
    predict = states[rerun[1]]
    assert predict.state == "waits for" and predict.reason == f"{train_name} runs again, so this runs again after it"
    _honest(path, states)

    cases = Path(convert["path"]) / "cases.csv"
    cases.write_text(cases.read_text() + "\n")
    states = _explain(path)
    assert states["convert demo_cine"].state == "outputs missing"
    assert states["convert demo_cine"].reason.startswith("the cached dataset no longer verifies: ")
    assert "cases.csv" in states["convert demo_cine"].reason
    _honest(path, states)


def test_a_fresh_run_folder_is_all_new(write_benchmark) -> None:
    explanation = _explanation(write_benchmark(TWO_NOOPS))
    assert explanation.store is None
    assert {(job.state, job.reason) for job in explanation.jobs} == {("new", "never run")}
    assert explanation.summary() == "0 complete, 9 would run: 9 new"
    train = next(job for job in explanation.jobs if job.kind == "train")
    assert train.after == ("split demo_cine",)


def test_a_failed_job_says_why_and_its_dependents_wait_for_it(write_benchmark) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: crashy\n  - name: noop\n")
    _run(path)
    states = _explain(path)
    train, predict, evaluate = (states[f"{kind} crashy on demo_cine {FACTORS}"] for kind in ("train", "predict", "evaluate"))
    assert train.state == "failed before"
    assert train.reason.startswith("failed: exit code 1") and "deliberate crash" in train.reason
    assert (predict.state, predict.reason) == ("waits for", train.name)  # recorded as not run because of it
    assert (evaluate.state, evaluate.reason) == ("waits for", predict.name)  # ran degraded without it
    assert all(job.state == "complete" for name, job in states.items() if "noop" in name)
    _honest(path, states)


def test_a_dataset_option_change_is_named_and_records_without_spec_say_so(write_benchmark) -> None:
    path = write_benchmark(TWO_NOOPS)
    bench = load_benchmark(path)
    run_benchmark(bench)
    with sqlite3.connect(bench.run_dir / "store.sqlite") as db:  # records as an engine before specs left them
        db.execute("UPDATE jobs SET spec = NULL")
    path.write_text(path.read_text().replace("subjects: 4", "subjects: 5"))
    states = _explain(path)
    assert states["convert demo_cine"].state == "changed"
    assert states["convert demo_cine"].reason == "its key changed; the store holds no spec for the earlier version"
    record_specs(_original(path))
    states = _explain(path)
    convert = states["convert demo_cine"]
    assert (convert.state, convert.reason) == ("changed", "options.subjects: 4 → 5")
    assert (states["split demo_cine"].state, states["split demo_cine"].reason) == ("upstream changed", convert.name)
    assert states[f"train first on demo_cine {FACTORS}"].state == "upstream changed"
    assert all(job.would_run for job in states.values())


def _original(path: Path):  # type: ignore[no-untyped-def]
    """The benchmark as it was run (subjects: 4), to record the specs of what the store holds."""
    original = path.with_name("original.yaml")
    original.write_text(path.read_text().replace("subjects: 5", "subjects: 4"))
    return load_benchmark(original)


def test_changed_parts_of_a_key_are_named_when_the_spec_is_the_same(tmp_path: Path) -> None:
    """E.g. a raw folder's fingerprint: the spec is the same, one digest of the key's parts is not."""
    before = Job("a" * 64, "convert", "convert raw_set", (), {"dataset": "raw_set"}, {"tree": "1", "code": "c"})
    after = Job("b" * 64, "convert", "convert raw_set", (), {"dataset": "raw_set"}, {"tree": "2", "code": "c"})
    nested_before = Job("c" * 64, "train", "train m", (), {"params": {"optim": {"lr": 0.1, "name": "sgd"}}},
                        {"params": "1"})
    nested_after = Job("d" * 64, "train", "train m", (), {"params": {"optim": {"lr": 0.2, "name": "sgd"}, "new": 1}},
                       {"params": "2"})
    store = Store(tmp_path / "store.sqlite")
    for job in (before, nested_before):
        store.start(job.key, job.kind, job.name, job.identity())
        store.finish(job.key, "done", 1.0)
    plan = Plan()
    plan.add(after)
    plan.add(nested_after)
    convert, train = explain_plan(plan, store).jobs
    store.close()
    assert (convert.state, convert.reason) == ("changed", "folder fingerprint (files, sizes, modification times)")
    assert (train.state, train.reason) == ("params changed", "new: (none) → 1; optim.lr: 0.1 → 0.2")
