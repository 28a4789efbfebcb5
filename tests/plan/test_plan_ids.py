"""Job keys and labels carry the entry ids: two ids of one method both get scored, a renamed id replaces the old
one in the report (issue 15, item 9)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from harness.config import load_benchmark
from harness.datasets import DatasetRegistry
from harness.methods import MethodRegistry
from harness.plan import Plan, build_plan
from tests.conftest import FIXTURES, TINY_DEMO

TWO_IDS = TINY_DEMO + "methods:\n  - {name: threshold_baseline, id: first}\n  - {name: threshold_baseline, id: second}\n"


def plan_of(path: Path) -> Plan:
    bench = load_benchmark(path)
    return build_plan(bench, DatasetRegistry(), MethodRegistry([FIXTURES / "methods"]))


def test_two_ids_with_the_same_params_share_training_and_are_both_scored(write_benchmark: Callable[..., Path]) -> None:
    plan = plan_of(write_benchmark(TWO_IDS))
    evaluations = plan.of_kind("evaluate")
    assert sorted(j.spec["method_id"] for j in evaluations) == ["first", "second"]
    assert len(plan.of_kind("train")) == 1 and len(plan.of_kind("predict")) == 1  # the same model, trained once
    assert {j.deps[0] for j in evaluations} == {plan.of_kind("predict")[0].key}
    assert set(plan.of_kind("report")[0].deps) == {j.key for j in evaluations}


def test_renaming_an_id_changes_its_evaluation_key_only(write_benchmark: Callable[..., Path]) -> None:
    before = plan_of(write_benchmark(TWO_IDS))
    after = plan_of(write_benchmark(TWO_IDS.replace("id: second", "id: renamed")))
    assert {j.key for j in before.of_kind("train")} == {j.key for j in after.of_kind("train")}
    old = {j.spec["method_id"]: j.key for j in before.of_kind("evaluate")}
    new = {j.spec["method_id"]: j.key for j in after.of_kind("evaluate")}
    assert old["first"] == new["first"] and new["renamed"] not in old.values()


def test_renaming_a_dataset_id_rescores_under_the_new_name(write_benchmark: Callable[..., Path]) -> None:
    body = TWO_IDS.replace("  - name: demo_cine\n", "  - name: demo_cine\n    id: cine_a\n")
    old = {j.key for j in plan_of(write_benchmark(body)).of_kind("evaluate")}
    new = plan_of(write_benchmark(body.replace("id: cine_a", "id: cine_b"))).of_kind("evaluate")
    assert {j.spec["dataset"] for j in new} == {"cine_b"} and not old & {j.key for j in new}


def test_report_shows_both_ids_and_after_a_rename_only_the_new_one(write_benchmark: Callable[..., Path],
                                                                   tmp_path: Path) -> None:
    from harness.runner import run_benchmark

    path = write_benchmark(TWO_IDS)
    first = run_benchmark(load_benchmark(path))
    assert first.ok and first.report is not None
    metrics = pd.read_csv(first.report.parent / "metrics.csv")
    assert set(metrics["method"]) == {"first", "second"}
    assert len([n for n in first.executed if n.startswith("train ")]) == 1
    path.write_text(path.read_text().replace("id: second", "id: renamed"))
    again = run_benchmark(load_benchmark(path))
    assert again.ok and again.report is not None
    assert not [n for n in again.executed if n.startswith(("train ", "predict "))]  # the model is reused
    assert set(pd.read_csv(again.report.parent / "metrics.csv")["method"]) == {"first", "renamed"}
    html = again.report.read_text()
    assert 'data-entry="renamed"' in html
    assert 'data-entry="second"' not in html and ">second<" not in html and "second on demo_cine" not in html
