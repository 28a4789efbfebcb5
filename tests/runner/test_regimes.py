"""Transfer regimes: lineage of fine-tuned models, ImageNet weights files, the test-overlap refusal."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harness.config import load_benchmark
from harness.errors import ConfigError
from harness.runner import run_benchmark

STUDY = """\
datasets:
  - {{name: demo_cine, id: base, options: {{subjects: 4, frames: 2, prefix: {base_prefix}}}}}
  - {{name: demo_cine, id: target, options: {{subjects: 4, frames: 2, prefix: demo, domain: ultrahigh, seed: 99}}}}
methods:
  - name: echo_init
factors:
  split: {{kind: holdout, test_fraction: 0.25}}
  regimes:
    - {{name: R}}
    - {{name: TL, init: imagenet, weights: {weights}, datasets: [target]}}
    - {{name: TL2, init: finetune, from: {{dataset: base, method: echo_init}}, datasets: [target]}}
  subsets:
    - {{name: all}}
    - {{name: n1, n_subjects: 1, datasets: [target]}}
"""


def _outputs(run_dir: Path) -> dict[str, dict]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return {name: json.loads(output or "{}") for name, output in db.execute("SELECT name, output FROM jobs")}


def test_regime_subset_matrix_and_lineage(write_benchmark, tmp_path: Path) -> None:
    weights = tmp_path / "resnet34-imagenet.pth"
    weights.write_bytes(b"not really imagenet")
    summary = run_benchmark(load_benchmark(write_benchmark(STUDY.format(base_prefix="base", weights=weights))))
    assert summary.ok, summary.failed
    trains = sorted(n for n in summary.executed if n.startswith("train"))
    # base: R × all; target: {R, TL, TL2} × {all, n1}
    assert len(trains) == 1 + 3 * 2
    outputs = _outputs(summary.run_dir)
    base_name = "train echo_init on base regime R subset all fold 0 seed 0"
    tl2 = outputs["train echo_init on target regime TL2 subset n1 fold 0 seed 0"]
    assert tl2["init"]["kind"] == "finetune" and tl2["init"]["base_dataset"] == "base"
    with sqlite3.connect(summary.run_dir / "store.sqlite") as db:
        base_key = db.execute("SELECT key FROM jobs WHERE name = ?", (base_name,)).fetchone()[0]
    assert tl2["init"]["base_job"] == base_key
    seen = json.loads((Path(tl2["model"]) / "init_seen.json").read_text())
    assert seen["init"] == {"kind": "finetune", "file": "model.pt"} and "model.pt" in seen["init_files"]
    tl = json.loads((Path(outputs["train echo_init on target regime TL subset all fold 0 seed 0"]["model"])
                     / "init_seen.json").read_text())
    assert tl["init"] == {"kind": "imagenet", "file": weights.name}
    assert outputs["train echo_init on target regime TL subset n1 fold 0 seed 0"]["n_training_subjects"] == 1
    html = summary.report.read_text()
    assert "regimes × training subsets" in html and "fine-tuned from job " + base_key[:12] in html


def test_finetune_refused_when_the_base_saw_test_subjects(write_benchmark, tmp_path: Path) -> None:
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"x")
    # Same subject names in both datasets and two folds: the base model of fold 0 trained on exactly
    # the subjects that fold 1 of the target tests on.
    body = STUDY.format(base_prefix="demo", weights=weights).replace(
        "{kind: holdout, test_fraction: 0.25}", "{kind: kfold, n_folds: 2}")
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    refused = {n: r for n, r in summary.failed}
    assert set(refused) == {f"train echo_init on target regime TL2 subset {s} fold 1 seed 0" for s in ("all", "n1")}
    assert all("refused to fine-tune from a model trained on test subjects" in r for r in refused.values())
    assert "train echo_init on target regime TL2 subset all fold 0 seed 0" in summary.executed


def test_finetune_from_an_unplanned_job_is_a_config_error(write_benchmark, tmp_path: Path) -> None:
    body = STUDY.format(base_prefix="b", weights=tmp_path / "w").replace("method: echo_init}", "method: echo_init, regime: TL}")
    with pytest.raises(ConfigError, match="must be a non-finetune regime|plans no such training job"):
        run_benchmark(load_benchmark(write_benchmark(body)))
