"""A published report carries no absolute path of the machine that made it; the split is a readable table."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from harness.config import load_benchmark
from harness.report.publishable import scrub
from harness.runner import run_benchmark
from harness.settings import cache_dir, repo_root
from tests.conftest import TINY_DEMO


def test_scrub_hides_whole_path_components_only() -> None:
    hidden = {"/srv/run": "", "/srv/cache": "<cache>", "/data/acdc": "<raw:acdc>", "/home/me": "~"}
    assert scrub("log: /srv/run/jobs/train/ab/train.log", hidden) == "log: jobs/train/ab/train.log"
    assert scrub(["/srv/run", ("/srv/cache/datasets/x",)], hidden) == [".", ("<cache>/datasets/x",)]
    assert scrub({"a": "/data/acdc2/p and /data/acdc/p"}, hidden) == {"a": "/data/acdc2/p and <raw:acdc>/p"}
    assert scrub("../relative ./stays /srv/runner", hidden) == "../relative ./stays /srv/runner"


def test_the_report_shows_no_absolute_path_and_a_split_table(write_benchmark, tmp_path: Path) -> None:
    body = TINY_DEMO + "methods:\n  - name: crashy\n  - name: threshold_baseline\n"
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    assert summary.report is not None and summary.failed  # crashy's reason names its log by absolute path
    assert str(summary.run_dir) in summary.failed[0][1]
    site = summary.report.parent
    private = [str(tmp_path), str(cache_dir()), str(repo_root()), str(Path.home()), os.path.realpath(tmp_path)]
    for name in ("index.html", "report.json", "metrics.csv"):
        text = (site / name).read_text()
        leaked = [p for p in private if p in text]
        assert not leaked, f"{name} shows {leaked}"
    html = (site / "index.html").read_text()
    assert "{&#39;kind&#39;" not in html and "{'kind'" not in html  # no dict repr of the split
    data = json.loads((site / "report.json").read_text())
    (split,) = data["splits"]
    assert split["dataset"] == "demo_cine" and split["kind"] == "holdout" and split["detail"] == "test 25%"
    assert len(split["sha256"]) == 64 and split["sha256"][:16] in html
    assert any("jobs/train/" in f["reason"] for f in data["failures"])  # relative to the run folder
    assert data["provenance"] and all("detail" in p for p in data["provenance"])
    assert "<cache>/datasets/" in json.dumps(data["provenance"])
    assert not pd.read_csv(site / "metrics.csv").empty


def test_the_provenance_names_labels_made_by_a_method(tmp_path: Path) -> None:
    from harness.runner.reporting import provenance_detail
    from harness.store.outputs import InitLineage, LabelLineage, LabelOutput, TrainOutput

    label = LabelOutput(dataset=tmp_path, method="ukbb_fcn", train_job="abcdef1234567890", volumes=tmp_path / "v.csv",
                        errors_pct={"dsb001": 6.8, "dsb002": None}, n_cases=14, duration_s=3.0, log=tmp_path / "l.log")
    assert provenance_detail(label) == ("labels for 14 training/validation cases predicted by ukbb_fcn (model of job "
                                        "abcdef123456, ED rule largest_lv); volume error vs the subject truth: "
                                        "dsb001 6.8 %")
    lineage = LabelLineage(method="ukbb_fcn", train_job="t" * 16, label_job="l" * 16, dataset="kaggle_like",
                           rule="max(|ΔEDV|, |ΔESV|) / truth <= 10%", max_error_pct=10.0, subjects_labelled=7,
                           subjects_kept=["dsb001", "dsb002"], subjects_dropped=["dsb003"])
    train = TrainOutput(model=tmp_path, log=tmp_path / "t.log", n_training_cases=4, n_training_subjects=2,
                        training_subjects=["dsb001", "dsb002"], dataset="kaggle_like",
                        init=InitLineage(kind="scratch"), duration_s=1.0, labels=lineage,
                        provenance={"executor": "local", "method_code_sha256": "c" * 64})
    assert provenance_detail(train).startswith(
        "trained on labels made by ukbb_fcn (label job llllllllllll; rule max(|ΔEDV|, |ΔESV|) / truth <= 10%; kept 2 of "
        "7 subjects; dropped dsb003); method code sha256 cccccccccccccccc…")
