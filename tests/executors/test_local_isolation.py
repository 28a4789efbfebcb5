"""What a method under the ``local`` executor can do to its inputs, its model, the labels and its processes.

Each hostile attack (tests/fixtures/methods/hostile_*) is run for real and must be caught or contained:
inputs are private read-only copies hashed before and after, the job's folder lies outside the run
folder and the cache, the environment is scrubbed, and no process outlives its job.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd
import pytest

from harness.common.dataset import CommonDataset
from harness.config import load_benchmark
from harness.contract.views import make_images_view, make_training_view
from harness.executors.base import Invocation, JobResult
from harness.executors.isolation import hash_tree, make_private_view
from harness.executors.local import LocalExecutor, method_environment
from harness.executors.processes import JOB_TOKEN_ENV
from harness.methods import MethodRegistry
from harness.runner import run_benchmark
from harness.runner.verify import synthetic_dataset
from tests.conftest import TINY_DEMO
from tests.support.iso_support import FIXTURE_METHODS, hostile_lines, is_running, leftovers

AS_ROOT = os.getuid() == 0  # root ignores the 0444 modes: then the hashes are what catch a write


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> CommonDataset:
    return synthetic_dataset(tmp_path_factory.mktemp("iso-data"), subjects=2, frames=2)


@pytest.fixture(scope="module")
def registry() -> MethodRegistry:
    return MethodRegistry([FIXTURE_METHODS])


def train(registry: MethodRegistry, dataset: CommonDataset, work: Path, attack: str,
          method: str = "hostile_local", **options: Any) -> JobResult:
    first = sorted({r.subject for r in dataset.cases})[0]
    cases = [r for r in dataset.cases if r.subject == first and r.has_label]
    params = work / "params.json"
    params.write_text(json.dumps({"attack": attack}))
    (work / "model").mkdir(parents=True)
    mounts = {"data": make_training_view(dataset, cases, work / "data"), "out": work / "model", "params": params}
    return LocalExecutor().run(Invocation(registry.card(method), "train", mounts, {"SEGARENA_SEED": "0"},
                                          options.pop("timeout_s", 120), work / "train.log", **options))


def predict(registry: MethodRegistry, dataset: CommonDataset, work: Path) -> JobResult:
    last = sorted({r.subject for r in dataset.cases})[-1]
    images = make_images_view(dataset, [r for r in dataset.cases if r.subject == last], work / "images")
    (work / "predictions").mkdir()
    mounts = {"images": images, "model": work / "model", "out": work / "predictions"}
    return LocalExecutor().run(Invocation(registry.card("hostile_local"), "predict", mounts, {}, 120,
                                          work / "predict.log"))


def test_writing_to_input_images_fails_the_job_and_leaves_the_cache_intact(
        registry: MethodRegistry, dataset: CommonDataset, tmp_path: Path) -> None:
    before = hash_tree(dataset.root)
    trained = train(registry, dataset, tmp_path, "write_inputs")
    predicted = predict(registry, dataset, tmp_path)
    assert hash_tree(dataset.root) == before  # the views were hard links into this folder: no longer reachable
    if AS_ROOT:
        assert trained.status == "failed" and "contract violation" in trained.reason
        assert "--data: changed imagesTr/" in trained.reason and "_0000.nii.gz" in trained.reason
        assert predicted.status == "failed" and "--images: changed " in predicted.reason
        assert [r for r in hostile_lines(tmp_path / "predict.log") if "wrote" in r]
    else:
        assert trained.ok and predicted.ok
        assert all("refused" in r for r in hostile_lines(tmp_path / "predict.log"))


def test_writes_into_its_model_and_images_are_caught(registry: MethodRegistry, dataset: CommonDataset,
                                                     tmp_path: Path) -> None:
    assert train(registry, dataset, tmp_path, "write_outside").ok
    result = predict(registry, dataset, tmp_path)
    assert not (tmp_path / "model" / "planted.txt").exists()
    assert not (tmp_path / "images" / "planted.txt").exists()
    if AS_ROOT:
        assert result.status == "failed"
        assert "--model: added planted.txt" in result.reason and "--images: added planted.txt" in result.reason


def test_a_model_changed_during_predict_is_caught_and_the_real_model_kept(
        registry: MethodRegistry, dataset: CommonDataset, tmp_path: Path) -> None:
    assert train(registry, dataset, tmp_path, "tamper_model").ok
    sealed = hash_tree(tmp_path / "model")
    result = predict(registry, dataset, tmp_path)
    assert hash_tree(tmp_path / "model") == sealed
    if AS_ROOT:
        assert result.status == "failed" and "--model: changed model.bin" in result.reason


def test_inputs_are_private_read_only_copies_outside_the_job_folder(dataset: CommonDataset, tmp_path: Path) -> None:
    images = make_images_view(dataset, dataset.cases[:2], tmp_path / "run" / "images")
    (tmp_path / "run" / "out").mkdir()
    view = make_private_view({"images": images, "out": tmp_path / "run" / "out"})
    try:
        assert not view.root.is_relative_to(tmp_path)
        copy = next(view.paths["images"].glob("*_0000.nii.gz"))
        original = images / copy.name
        assert copy.stat().st_ino != original.stat().st_ino and copy.stat().st_nlink == 1
        assert copy.stat().st_mode & 0o777 == 0o444 and view.paths["images"].stat().st_mode & 0o777 == 0o555
        assert view.paths["out"].stat().st_mode & 0o200  # the one writable folder
        assert view.changed_inputs() == []
    finally:
        view.remove()
    assert not view.root.exists()


def test_the_method_environment_names_no_hidden_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     registry: MethodRegistry) -> None:
    run = tmp_path / "runs" / "bench"
    monkeypatch.setenv("SEGARENA_HOME", str(tmp_path))
    monkeypatch.setenv("SEGARENA_PYTHON", "/usr/bin/python3")
    monkeypatch.setenv("MY_RUN", str(run / "store.sqlite"))
    invocation = Invocation(registry.card("hostile_local"), "train", {"out": run / "jobs" / "train" / "k" / "model"},
                            {"SEGARENA_SEED": "4", "SEGARENA_FOLD": "1", "SEGARENA_CACHE": "/x"}, 10,
                            run / "jobs" / "train" / "k" / "train.log", run / "running")
    env = method_environment(invocation, 2, "tok", tmp_path / "private")
    assert sorted(k for k in env if k.startswith("SEGARENA_")) == sorted(
        ["SEGARENA_SEED", "SEGARENA_FOLD", "SEGARENA_THREADS", JOB_TOKEN_ENV])
    assert "MY_RUN" not in env and env["SEGARENA_SEED"] == "4" and env[JOB_TOKEN_ENV] == "tok"
    assert not any(str(run) in value for value in env.values())


def test_a_detached_child_does_not_outlive_its_job(registry: MethodRegistry, dataset: CommonDataset,
                                                   tmp_path: Path) -> None:
    assert train(registry, dataset, tmp_path, "detach").ok
    child = json.loads((tmp_path / "model" / "child.json").read_text())
    assert child["token"] and not is_running(child["child_pid"])
    assert leftovers(child["token"]) == []


@pytest.mark.slow
def test_time_limit_ends_the_method_and_its_detached_child(registry: MethodRegistry, dataset: CommonDataset,
                                                           tmp_path: Path) -> None:
    result = train(registry, dataset, tmp_path, "", method="hostile_sleepy", timeout_s=3)
    assert result.status == "timeout" and "time limit of 3 s" in result.reason
    child = json.loads((tmp_path / "model" / "child.json").read_text())
    assert not is_running(child["method_pid"]) and not is_running(child["child_pid"])
    assert leftovers(child["token"]) == []


@pytest.mark.slow
def test_ctrl_c_in_the_harness_ends_the_job_processes(registry: MethodRegistry, dataset: CommonDataset,
                                                      tmp_path: Path) -> None:
    running = tmp_path / "running"
    seen: list[str] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        seen.extend(p.name for p in running.iterdir())
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            train(registry, dataset, tmp_path, "", method="hostile_sleepy", timeout_s=60, running_dir=running)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    (token,) = seen
    assert leftovers(token) == [] and list(running.iterdir()) == []


ATTACKS = """\
methods:
  - name: hostile_local
    id: peek
    params: {attack: peek}
  - name: hostile_local
    id: silent
    params: {attack: nothing}
  - name: hostile_local
    id: corrupter
    params: {attack: write_inputs}
  - name: threshold_baseline
"""


@pytest.mark.slow
def test_in_a_run_the_method_finds_no_store_labels_or_cache_and_silence_fails(write_benchmark) -> None:
    summary = run_benchmark(load_benchmark(write_benchmark(TINY_DEMO + ATTACKS)))
    run = summary.run_dir
    failed = dict(summary.failed)
    logs = [p for p in (run / "jobs" / "predict").glob("*/predict.log") if "HOSTILE" in p.read_text()]
    (found,) = [r for log in logs for r in hostile_lines(log) if "stores" in r]
    assert found["stores"] == [] and found["labels"] == []
    assert sorted(found["env"]) == sorted(["SEGARENA_SEED", "SEGARENA_FOLD", "SEGARENA_THREADS", JOB_TOKEN_ENV])
    assert not any(str(run) in value or os.environ["SEGARENA_CACHE"] in value for value in found["env"].values())
    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    dice = metrics[(metrics["metric"] == "dice")]
    assert len(dice[dice["method"] == "peek"]) > 0 and (dice.loc[dice["method"] == "peek", "value"] < 1.0).all()

    silent = next(reason for name, reason in failed.items() if name.startswith("predict silent"))
    assert "wrote nothing" in silent
    assert set(metrics.loc[metrics["method"] == "silent", "status"]) == {"missing_prediction"}
    if AS_ROOT:
        corrupter = next(reason for name, reason in failed.items() if name.startswith("train corrupter"))
        assert "contract violation" in corrupter and "--data: changed imagesTr/" in corrupter
    assert not (run / "running").exists() or list((run / "running").iterdir()) == []
