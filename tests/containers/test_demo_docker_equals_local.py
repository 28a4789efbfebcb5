"""The demo benchmark (a reduced copy of benchmark.yaml) gives the same leaderboard under docker as under local.

Both runs use the same threads (2) and seed. The local executor runs torch 2.14.1 (the harness's
venv, a CUDA build on CPU) and the container torch 2.13.0+cpu (the wheel on this machine's disk);
numpy, scipy, SimpleITK, timm and segmentation-models-pytorch are the same versions. The metric
values are compared exactly first; should two torch builds ever round differently, the check falls
back to a tight tolerance (1e-6 absolute on every metric) and the ranking must still be identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from harness.config import load_benchmark
from harness.report.viewmodel import leaderboard_frame, leaderboards
from harness.runner import run_benchmark
from harness.settings import repo_root

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOLERANCE = 1e-6


def reduced_benchmark(folder: Path, executor: dict[str, Any]) -> Path:
    spec = yaml.safe_load((repo_root() / "benchmark.yaml").read_text())
    spec["name"] = f"demo-{executor['kind']}"
    spec["datasets"][0]["options"].update({"subjects": 6, "frames": 2})
    for method in spec["methods"]:
        if method["name"] == "unet2d":
            method["params"].update({"epochs": 2, "image_size": 64, "batch_size": 16, "max_slices_per_epoch": 32})
    spec["factors"]["split"] = {"kind": "holdout", "test_fraction": 0.34}
    spec["executor"] = executor
    spec["run_dir"] = str(folder / "run")
    spec["report"]["out"] = str(folder / "report")
    path = folder / "benchmark.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def metric_rows(run_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted((run_dir / "jobs" / "evaluate").glob("*/metrics.csv"))]
    assert frames, f"no metrics.csv under {run_dir}"
    keys = ["dataset", "method", "case", "label", "metric"]
    return pd.concat(frames).sort_values(keys).reset_index(drop=True)


def test_docker_leaderboard_equals_local(method_images: dict[str, str], tmp_path: Path) -> None:
    runs = {}
    for executor in ({"kind": "local", "threads": 2}, {"kind": "docker", "cpus": 2}):
        bench = load_benchmark(reduced_benchmark(tmp_path / executor["kind"], executor))
        summary = run_benchmark(bench)
        assert summary.ok, summary.failed
        runs[executor["kind"]] = metric_rows(bench.run_dir)  # type: ignore[arg-type]
        html = summary.report.read_text()
        if executor["kind"] == "docker":  # each train/predict job names the image it ran, by ID
            assert html.count(f"image {method_images['unet2d']} (id sha256:") == 2
            assert "network none" in html
        else:
            assert "image segarena/" not in html and "executor local" in html

    local, docker = runs["local"], runs["docker"]
    assert set(local["method"]) == {"threshold_baseline", "unet2d"}
    assert local[["method", "case", "label", "metric", "status"]].equals(docker[["method", "case", "label", "metric",
                                                                                   "status"]])
    exact = (local["value"].fillna(-1.0) == docker["value"].fillna(-1.0)).all()
    if not exact:
        difference = (local["value"] - docker["value"]).abs().max()
        assert difference <= TOLERANCE, f"largest metric difference {difference} exceeds {TOLERANCE}"
    local_boards, docker_boards = leaderboards(local, "dice"), leaderboards(docker, "dice")
    assert [b.label for b in local_boards] == [b.label for b in docker_boards]
    for a, b in zip(local_boards, docker_boards, strict=True):
        assert [r["entry"] for r in a.rows] == [r["entry"] for r in b.rows]
        pd.testing.assert_frame_equal(leaderboard_frame(a), leaderboard_frame(b), atol=TOLERANCE, rtol=0)
