"""The engine: resume from the store, re-run only what changed, keep going past failures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from harness.config import load_benchmark
from harness.errors import ExecutorUnavailableError
from harness.runner import run_benchmark
from tests.conftest import TINY_DEMO

#: A Ray cluster address where nothing listens (the discard port): the executor cannot run here.
UNREACHABLE_RAY = "executor: {kind: ray, address: '127.0.0.1:9'}\n"
THRESHOLD = "methods:\n  - name: threshold_baseline\n    params: {myocardium_width_mm: %s}\n"


def _statuses(run_dir: Path) -> dict[str, str]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return dict(db.execute("SELECT name, status FROM jobs"))


def test_second_run_executes_nothing_and_param_change_reruns_only_that_method(write_benchmark) -> None:
    body = TINY_DEMO + THRESHOLD % 8.0 + "  - name: threshold_baseline\n    id: wide_ring\n    params: {myocardium_width_mm: 12.0}\n"
    bench = load_benchmark(write_benchmark(body))
    first = run_benchmark(bench)
    assert first.ok and len(first.executed) == 9 and first.report is not None and first.report.is_file()

    second = run_benchmark(load_benchmark(write_benchmark(body)))
    assert second.executed == [] and len(second.skipped) == 9

    changed = run_benchmark(load_benchmark(write_benchmark(body.replace("8.0", "6.0"))))
    assert sorted(changed.executed) == sorted([
        "train threshold_baseline on demo_cine regime scratch subset all fold 0 seed 0",
        "predict threshold_baseline on demo_cine regime scratch subset all fold 0 seed 0",
        "evaluate threshold_baseline on demo_cine regime scratch subset all fold 0 seed 0",
        "report tiny",
    ])
    assert "convert demo_cine" in changed.skipped and any("wide_ring" in name for name in changed.skipped)


def test_failing_method_is_recorded_and_others_go_on(write_benchmark) -> None:
    body = TINY_DEMO + "methods:\n  - name: crashy\n  - name: threshold_baseline\n"
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    assert [name for name, _ in summary.failed] == ["train crashy on demo_cine regime scratch subset all fold 0 seed 0"]
    reason = summary.failed[0][1]
    assert "exit code 1" in reason and "deliberate crash" in reason
    statuses = _statuses(summary.run_dir)
    assert statuses["predict crashy on demo_cine regime scratch subset all fold 0 seed 0"] == "not_run"
    assert statuses["evaluate crashy on demo_cine regime scratch subset all fold 0 seed 0"] == "degraded"
    assert statuses["evaluate threshold_baseline on demo_cine regime scratch subset all fold 0 seed 0"] == "done"
    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    crashy = metrics[metrics["method"] == "crashy"]
    assert len(crashy) > 0 and set(crashy["status"]) == {"missing_prediction"}  # scored, never dropped
    assert (crashy.loc[crashy["metric"] == "dice", "value"] == 0).all()
    html = summary.report.read_text()
    assert "deliberate crash" in html and "train crashy" in html
    # the failed job is retried by the next run, the completed ones are not
    again = run_benchmark(load_benchmark(write_benchmark(body)))
    assert "train crashy on demo_cine regime scratch subset all fold 0 seed 0" in [n for n, _ in again.failed]
    assert "train threshold_baseline on demo_cine regime scratch subset all fold 0 seed 0" in again.skipped


@pytest.mark.slow
def test_time_limit_kills_the_method(write_benchmark) -> None:
    summary = run_benchmark(load_benchmark(write_benchmark(TINY_DEMO + "methods:\n  - name: sleepy\n")))
    (name, reason), = summary.failed
    assert name.startswith("train sleepy") and "time limit of 2 s" in reason


def test_unavailable_executor_fails_before_any_job(write_benchmark) -> None:
    body = TINY_DEMO + UNREACHABLE_RAY + "methods:\n  - name: threshold_baseline\n"
    bench = load_benchmark(write_benchmark(body))
    with pytest.raises(ExecutorUnavailableError, match="cannot reach the Ray cluster at 127.0.0.1:9"):
        run_benchmark(bench)
    assert not (bench.run_dir / "store.sqlite").exists() or _statuses(bench.run_dir) == {}


def test_missing_raw_folder_is_a_clear_failure(write_benchmark, tmp_path: Path) -> None:
    body = f"datasets:\n  - name: la2018\n    raw: {tmp_path / 'nowhere'}\nmethods:\n  - name: threshold_baseline\n"
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    (name, reason), = summary.failed
    assert name == "convert la2018" and "nowhere" in reason and "does not exist" in reason
