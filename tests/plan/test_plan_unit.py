"""The plan: content keys are stable and canonical, jobs are deduplicated and ordered, keys say what changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.config import load_benchmark
from harness.config.models import Subset
from harness.datasets import DatasetRegistry
from harness.methods import MethodRegistry
from harness.plan import Job, Plan, build_plan, content_key
from harness.plan.jobs import hash_files
from harness.runner.kinds import STEPS
from tests.conftest import FIXTURES, TINY_DEMO

METHODS = "methods:\n  - {name: threshold_baseline}\n  - {name: echo_init}\n"


def plan_of(path: Path) -> Plan:
    return build_plan(load_benchmark(path), DatasetRegistry(), MethodRegistry([FIXTURES / "methods"]))


def test_content_key_is_pinned_across_versions() -> None:
    """A store made by an earlier harness is resumed only if keys never drift: this value must not change."""
    key = content_key("train", {"split": "abc", "params": {"epochs": 2, "lr": 0.1}, "path": Path("/x/y"), "seed": 0})
    assert key == "57ce256c53b5393282675e40a7df88fd51d73579dce9db18415cf27c4aa9cc5c"


def test_content_key_is_canonical() -> None:
    one = content_key("split", {"a": 1, "b": {"x": [1, 2], "y": "z"}, "p": Path("/d")})
    assert one == content_key("split", {"b": {"y": "z", "x": [1, 2]}, "p": "/d", "a": 1})  # order, Path vs str
    assert one != content_key("train", {"a": 1, "b": {"x": [1, 2], "y": "z"}, "p": "/d"})  # the kind is hashed
    subset = Subset(name="n2", n_subjects=2)
    assert content_key("t", {"s": subset}) == content_key("t", {"s": subset.model_dump(mode="json", by_alias=True)})


def test_hash_files_covers_names_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"1")
    (tmp_path / "b").write_bytes(b"1")
    assert hash_files([tmp_path / "a"]) != hash_files([tmp_path / "b"])
    assert hash_files([tmp_path / "a", tmp_path / "b"]) == hash_files([tmp_path / "b", tmp_path / "a"])


def test_plan_add_keeps_the_first_job_of_a_key() -> None:
    plan = Plan()
    first = plan.add(Job("k", "train", "first"))
    assert plan.add(Job("k", "train", "second")) is first and list(plan.jobs) == ["k"]
    plan.add(Job("r", "report", "report", ("k",)))
    assert [j.name for j in plan.of_kind("train")] == ["first"] and plan.jobs["k"].short == "k"


def test_the_plan_is_in_dependency_order_and_every_kind_has_a_step(write_benchmark: Callable[..., Path]) -> None:
    plan = plan_of(write_benchmark(TINY_DEMO + METHODS))
    seen: set[str] = set()
    for job in plan.jobs.values():
        assert set(job.deps) <= seen, job.name
        assert job.kind in STEPS and STEPS[job.kind].kind == job.kind
        seen.add(job.key)
    kinds = [j.kind for j in plan.jobs.values()]
    assert kinds[:2] == ["convert", "split"] and kinds[-1] == "report"
    assert {k: kinds.count(k) for k in ("train", "predict", "evaluate")} == {"train": 2, "predict": 2, "evaluate": 2}


def test_keys_are_stable_and_change_only_downstream_of_what_changed(write_benchmark: Callable[..., Path]) -> None:
    path = write_benchmark(TINY_DEMO + METHODS)
    before = plan_of(path)
    assert list(before.jobs) == list(plan_of(path).jobs)  # the same benchmark plans the same keys
    after = plan_of(write_benchmark(TINY_DEMO + "  seeds: [1]\n" + METHODS))  # factors.seeds: [1] instead of [0]
    for kind in ("convert", "split"):
        assert [j.key for j in before.of_kind(kind)] == [j.key for j in after.of_kind(kind)]
    for kind in ("train", "predict", "evaluate", "report"):
        assert not {j.key for j in before.of_kind(kind)} & {j.key for j in after.of_kind(kind)}, kind


def test_the_steps_declare_what_they_tolerate() -> None:
    assert STEPS["evaluate"].tolerates == {"predict"} and STEPS["report"].tolerates == {"evaluate"}
    assert all(not STEPS[k].tolerates for k in ("convert", "split", "label", "train", "predict"))
    assert {k for k, s in STEPS.items() if s.runs_methods} == {"label", "train", "predict"}  # label: a predict
