"""Labels made by a method (``datasets[].labels_from``): the jobs it plans, the config it refuses, the rule it keeps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.common.dataset import CommonDataset
from harness.common.records import CaseRecord
from harness.config import InvalidBenchmarkError, load_benchmark
from harness.config.models import Confidence, Subset
from harness.factors.subsets import select_training_cases, volume_error_pct
from tests.plan.test_plan_unit import plan_of

BODY = """\
datasets:
  - {name: demo_cine, id: base, options: {subjects: 4, frames: 2}}
  - name: demo_cine
    id: dsb
    options: {subjects: 4, frames: 2, prefix: dsb, truth: volumes}
    labels_from: {dataset: base, method: labeller, regime: scratch, subset: all}
methods:
  - {name: threshold_baseline, id: labeller}
  - {name: echo_init}
factors:
  subsets:
    - {name: all, datasets: [base]}
    - {name: p10, confidence: {max_error_pct: 10}, datasets: [dsb]}
"""


def test_a_label_job_sits_between_the_labellers_training_and_the_trainings_on_its_labels(
        write_benchmark: Callable[..., Path]) -> None:
    plan = plan_of(write_benchmark(BODY))
    [label] = plan.of_kind("label")
    labeller = next(j for j in plan.of_kind("train") if j.spec["method_id"] == "labeller" and j.spec["dataset"] == "base")
    split = next(j for j in plan.of_kind("split") if j.spec["dataset"] == "dsb")
    assert label.deps == (split.key, labeller.key)
    assert label.spec["train_job"] == labeller.key and label.spec["method"] == "threshold_baseline"
    assert label.spec["ed_rule"] == "largest_lv"
    on_labels = [j for j in plan.of_kind("train") if j.spec["dataset"] == "dsb"]
    assert {j.spec["method_id"] for j in on_labels} == {"labeller", "echo_init"}
    order = list(plan.jobs)
    for job in on_labels:
        assert label.key in job.deps and job.spec["labels"] == label.key and job.spec["subset"] == "p10"
        assert order.index(label.key) < order.index(job.key)
    # no training on the base dataset depends on labels
    assert all("labels" not in j.spec for j in plan.of_kind("train") if j.spec["dataset"] == "base")


@pytest.mark.parametrize(("change", "message"), [
    (("method: labeller, regime", "method: nobody, regime"), "labels_from.method: 'nobody' is not a method id"),
    (("{dataset: base, method: labeller", "{dataset: dsb, method: labeller"), "must be another dataset"),
    (("datasets: [dsb]}", "}"), r"dataset\(s\) base have no labels_from"),
])
def test_bad_labels_from_is_refused_naming_the_field(write_benchmark: Callable[..., Path], change: tuple[str, str],
                                                    message: str) -> None:
    with pytest.raises(InvalidBenchmarkError, match=message):
        load_benchmark(write_benchmark(BODY.replace(*change)))


def test_confidence_without_a_table_keeps_the_labellers_confident_subjects(tmp_path: Path) -> None:
    assert volume_error_pct(110.0, 45.0, 100.0, 50.0) == pytest.approx(10.0)  # max(10 %, 10 %)
    assert volume_error_pct(100.0, 40.0, 100.0, 50.0) == pytest.approx(20.0)
    cases = tuple(CaseRecord(case=f"{s}_f0", subject=s, frame=0, has_label=True) for s in ("a", "b", "c", "d"))
    dataset = CommonDataset(tmp_path, {}, cases, ())
    subset = Subset(name="p10", confidence=Confidence(max_error_pct=10))
    errors = {"a": 4.0, "b": 10.0, "c": 10.5, "d": None}  # d: no truth to compare with
    kept = select_training_cases(dataset, ["a", "b", "c", "d"], subset, 0, errors)
    assert [r.subject for r in kept] == ["a", "b"]
    with pytest.raises(Exception, match="needs labels made by a method"):
        select_training_cases(dataset, ["a"], subset, 0)


def test_a_fine_tune_from_a_model_trained_on_method_made_labels_is_planned_after_it(
        write_benchmark: Callable[..., Path]) -> None:
    body = BODY.replace("factors:\n", "factors:\n  regimes:\n    - {name: scratch}\n"
                        "    - {name: TL2, init: finetune, from: {dataset: dsb, method: echo_init, regime: scratch, "
                        "subset: p10}, datasets: [base], methods: [echo_init]}\n")
    plan = plan_of(write_benchmark(body))
    base = next(j for j in plan.of_kind("train") if j.spec["dataset"] == "dsb" and j.spec["method_id"] == "echo_init")
    tl2 = next(j for j in plan.of_kind("train") if j.spec["regime"] == "TL2")
    assert base.key in tl2.deps and tl2.spec["init"]["base"] == base.key
    order = list(plan.jobs)
    assert order.index(plan.of_kind("label")[0].key) < order.index(base.key) < order.index(tl2.key)
