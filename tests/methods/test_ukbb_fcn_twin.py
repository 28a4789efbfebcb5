"""Stage 1 of the cmr-seg-tl twin (benchmarks/cmr_seg_tl_demo.yaml): labels made by ukbb_fcn, kept by the
confidence rule against the subject-level volume truth, and methods trained on them.

The twin is run as shipped except for its sizes and paths, and without the 7T-like transfer matrix
(tests/runner/test_study_twin.py covers that): ukbb_fcn is trained on the base domain, labels the
volume-only ``kaggle_like`` phantoms' training subjects, and unet2d trains on the subjects whose
labelled LV volumes agree with the truth within 10 / 15 %.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.config import load_benchmark
from harness.factors.splits import Splits
from harness.runner import run_benchmark
from harness.settings import repo_root

pytestmark = pytest.mark.slow


def shrunk_stage_one(folder: Path) -> Path:
    spec = yaml.safe_load((repo_root() / "benchmarks" / "cmr_seg_tl_demo.yaml").read_text())
    spec["datasets"] = [d for d in spec["datasets"] if d["id"] != "target_7t"]
    spec["datasets"][0]["options"].update({"subjects": 6, "frames": 3})
    spec["datasets"][1]["options"].update({"subjects": 7, "frames": 3})
    spec["factors"]["regimes"] = [r for r in spec["factors"]["regimes"] if r["name"] in ("R", "UKBB")]
    spec["factors"]["subsets"] = [{**s, "datasets": ["base_domain"]} if s["name"] == "all" else s
                                  for s in spec["factors"]["subsets"] if s["name"] in ("all", "p10", "p15")]
    for method in spec["methods"]:
        if method["name"] == "unet2d":
            method["params"].update({"epochs": 3, "image_size": 64, "max_slices_per_epoch": 64})
        if method["name"] == "ukbb_fcn":
            method["params"].update({"epochs": 10})  # 4 training subjects x 3 frames: 6 steps an epoch
    spec["run_dir"] = str(folder / "run")
    spec["report"]["out"] = str(folder / "report")
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_methods_train_on_confidence_filtered_labels_made_by_ukbb_fcn(tmp_path: Path) -> None:
    summary = run_benchmark(load_benchmark(shrunk_stage_one(tmp_path)))
    with sqlite3.connect(summary.run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT name, key, status, output FROM jobs").fetchall()
    jobs = {name: (key, status, json.loads(output or "{}")) for name, key, status, output in rows}
    label_key, label_status, label = jobs["label kaggle_like by ukbb_fcn fold 0 seed 0"]
    assert label_status == "done", label
    labeller_key = jobs["train ukbb_fcn on base_domain regime UKBB subset all fold 0 seed 0"][0]
    assert label["train_job"] == labeller_key and label["method"] == "ukbb_fcn" and label["ed_rule"] == "first_frame"

    # Only training (and validation) subjects were labelled: no test subject's labels or truth reach a method.
    split_output = jobs["split kaggle_like"][2]
    fold = Splits.read(Path(split_output["path"])).folds[0]
    volumes = pd.read_csv(label["volumes"], dtype={"subject": str})
    assert set(volumes["subject"]) == set(fold.train) | set(fold.val) and not set(volumes["subject"]) & set(fold.test)
    labelled = pd.read_csv(Path(label["dataset"]) / "cases.csv", dtype={"subject": str})
    assert labelled["has_label"].all() and not set(labelled["subject"]) & set(fold.test)
    assert (volumes["ed_frame"] == 0).all()  # the labeller's own rule: ED = frame 0
    # the confidence value is cmr-seg-tl's: max(|dEDV|, |dESV|) / truth
    expected = 100 * pd.concat([(volumes["edv_ml"] - volumes["edv_true_ml"]).abs() / volumes["edv_true_ml"],
                                (volumes["esv_ml"] - volumes["esv_true_ml"]).abs() / volumes["esv_true_ml"]],
                               axis=1).max(axis=1)
    assert (expected - volumes["error_pct"]).abs().max() < 1e-3

    kept = {}
    for pct in (10, 15):
        for method in ("unet2d",):
            name = f"train {method} on kaggle_like regime R subset p{pct} fold 0 seed 0"
            _, status, output = jobs[name]
            passing = sorted(volumes.loc[volumes["error_pct"] <= pct, "subject"])
            passing = [s for s in passing if s in fold.train]
            if not passing:
                assert status == "failed"  # no subject passes: a failed job with its reason, never a silent one
                continue
            assert status == "done", (name, output)
            lineage = output["labels"]  # the lineage, in the train job's output (TrainOutput.labels)
            assert lineage["method"] == "ukbb_fcn" and lineage["train_job"] == labeller_key
            assert lineage["label_job"] == label_key and f"<= {pct}%" in lineage["rule"]
            assert lineage["subjects_kept"] == passing == sorted(set(output["training_subjects"]))
            assert set(lineage["subjects_dropped"]) == set(fold.train) - set(passing)
            kept[(pct, method)] = set(passing)
    assert kept, "no confidence set kept a subject: the labeller did not learn"
    if (10, "unet2d") in kept and (15, "unet2d") in kept:
        assert kept[(10, "unet2d")] <= kept[(15, "unet2d")]

    # Scored on the test subjects' volume truth only.
    subjects = pd.concat(pd.read_csv(p) for p in (summary.run_dir / "jobs" / "evaluate").glob("*/subjects.csv"))
    on_kaggle = subjects[subjects["dataset"] == "kaggle_like"]
    assert set(on_kaggle["subject"].astype(str)) <= set(fold.test)
    metrics = pd.concat(pd.read_csv(p) for p in (summary.run_dir / "jobs" / "evaluate").glob("*/metrics.csv"))
    lv = metrics[(metrics["dataset"] == "base_domain") & (metrics["label"] == "LV") & (metrics["metric"] == "dice")]
    by_method = lv.groupby("method")["value"].mean()
    assert by_method["ukbb_fcn"] > by_method["threshold_baseline"], by_method
