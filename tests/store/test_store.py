"""The run store: statuses, resume decisions, typed outputs round-tripped, old or broken rows redone, never a crash."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from harness.store import (
    ConvertOutput,
    EvaluateOutput,
    InitLineage,
    JobOutput,
    PredictOutput,
    ReportOutput,
    SplitOutput,
    Store,
    TrainOutput,
    load_output,
    parse_output,
)


def _outputs(root: Path) -> list[JobOutput]:
    return [
        ConvertOutput(path=root / "ds", n_cases=8, n_failed_subjects=0, reused=True),
        SplitOutput(path=root / "splits.json", sha256="ab" * 32, dataset_path=root / "ds"),
        TrainOutput(model=root / "model", log=root / "train.log", n_training_cases=6, n_training_subjects=3,
                    training_subjects=["s1", "s2", "s3"], dataset="demo",
                    init=InitLineage(kind="finetune", base_job="k" * 64, base_dataset="base", base_model="/m",
                                     weights_sha256="cd" * 32),
                    duration_s=1.5, provenance={"executor": "local"}, model_manifest={"model.pt": "ef" * 32},
                    history=[{"epoch": 0, "train_loss": 0.5, "seconds": 1.0}]),
        PredictOutput(predictions=root / "pred", log=root / "predict.log", duration_s=0.5,
                      violations=["c1: no prediction file c1.nii.gz"], invalid_cases=["c1"]),
        EvaluateOutput(metrics=root / "metrics.csv", subjects=None, n_cases=2, failed_upstream=True, finished_at=1.0),
        ReportOutput(index=root / "report" / "index.html", metrics_csv=root / "report" / "metrics.csv"),
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.sqlite")


def test_every_kind_round_trips_through_the_store(store: Store, tmp_path: Path) -> None:
    for index, output in enumerate(_outputs(tmp_path)):
        key = f"k{index}"
        store.start(key, output.kind, f"{output.kind} job")
        store.finish(key, "done", 1.0, 0, output=output)
        record = store.get(key)
        assert record is not None and record.output == output and type(record.output) is type(output)
        assert record.is_complete, output.kind


@pytest.mark.parametrize("status", ["failed", "degraded", "running", "not_run"])
def test_only_done_is_complete(store: Store, tmp_path: Path, status: str) -> None:
    output = _outputs(tmp_path)[4]
    store.start("e", "evaluate", "evaluate x")
    if status != "running":
        store.finish("e", status, 1.0, output=output)
    record = store.get("e")
    assert record is not None and record.status == status and not record.is_complete


def test_a_started_job_is_running_until_finished_and_a_restart_replaces_it(store: Store, tmp_path: Path) -> None:
    store.start("s", "split", "split x")
    first = store.get("s")
    assert first is not None and first.status == "running" and first.output is None
    store.finish("s", "failed", 2.0, 1, reason="boom", log_path=tmp_path / "log")
    failed = store.get("s")
    assert failed is not None and (failed.status, failed.reason, failed.exit_code) == ("failed", "boom", 1)
    assert failed.log_path == str(tmp_path / "log") and failed.output is None
    store.start("s", "split", "split x")
    again = store.get("s")
    assert again is not None and again.status == "running" and again.reason == ""
    assert [r.key for r in store.all()] == ["s"]


@pytest.mark.parametrize("stored", [
    '{"kind": "train", "model": "/m"}',  # an older harness's row, missing fields
    '{"kind": "predict", "predictions": "/p", "log": "/l", "duration_s": 1, "surprise": 1}',  # unknown field
    '{"kind": "nonsense"}',
    "not json at all",
    "{}",
])
def test_a_stored_output_that_does_not_validate_means_redo_never_a_crash(store: Store, stored: str) -> None:
    store.start("j", "train", "train x")
    store.finish("j", "done", 1.0)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE jobs SET output = ? WHERE key = 'j'", (stored,))
    record = store.get("j")
    assert record is not None and record.status == "done"
    assert record.output is None and not record.is_complete


def test_an_output_of_another_kind_is_not_complete(store: Store, tmp_path: Path) -> None:
    store.start("j", "train", "train x")
    store.finish("j", "done", 1.0, output=_outputs(tmp_path)[1])  # a split output recorded for a train job
    record = store.get("j")
    assert record is not None and not record.is_complete


def test_nan_in_a_history_survives_the_store(store: Store, tmp_path: Path) -> None:
    train = _outputs(tmp_path)[2]
    assert isinstance(train, TrainOutput)
    train = train.model_copy(update={"history": [{"epoch": 0, "train_loss": math.nan, "note": "x"}]})
    store.start("t", "train", "train x")
    store.finish("t", "done", 1.0, output=train)
    record = store.get("t")
    assert record is not None and isinstance(record.output, TrainOutput) and record.output.history is not None
    assert math.isnan(record.output.history[0]["train_loss"]) and record.output.history[0]["note"] == "x"


def test_outputs_read_by_field_name_and_parsed_from_dicts(tmp_path: Path) -> None:
    predict = _outputs(tmp_path)[3]
    assert predict["predictions"] == tmp_path / "pred" and predict.get("violations") == predict.violations
    assert predict.get("no_such_field", "default") == "default"
    with pytest.raises(KeyError):
        predict["no_such_field"]
    parsed = parse_output({"kind": "evaluate", "metrics": str(tmp_path / "m.csv"), "n_raters": 2})
    assert isinstance(parsed, EvaluateOutput) and parsed.metrics == tmp_path / "m.csv" and parsed.n_raters == 2
    assert load_output(None) is None and load_output("") is None


def test_paths_name_what_must_still_exist(tmp_path: Path) -> None:
    convert, split, train, predict, evaluate, report = _outputs(tmp_path)
    assert convert.paths() == [tmp_path / "ds"] and split.paths() == [tmp_path / "splits.json"]
    assert train.paths() == [tmp_path / "model"] and predict.paths() == [tmp_path / "pred"]
    assert evaluate.paths() == [tmp_path / "metrics.csv"] and report.paths() == [tmp_path / "report" / "index.html"]


def test_runs_are_recorded(store: Store) -> None:
    run_id = store.begin_run()
    store.end_run(run_id, executed=3, skipped=2, failed=1)
    (run,) = store.runs()
    assert (run["run_id"], run["executed"], run["skipped"], run["failed"]) == (run_id, 3, 2, 1)
    assert run["finished_at"] >= run["started_at"]


def test_read_only_store_reads_an_older_store_and_writes_nothing(tmp_path: Path) -> None:
    """`segarena plan` opens the store read-only: no store yet is None; an older store's missing columns read as NULL."""
    assert Store.open_read_only(tmp_path / "none.sqlite") is None
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the first release's table: no spec, attempts, assignment
        db.execute("CREATE TABLE jobs (key TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT "
                   "NULL, started_at REAL, finished_at REAL, duration_s REAL, exit_code INTEGER, reason TEXT, "
                   "log_path TEXT, output TEXT)")
        db.execute("INSERT INTO jobs (key, kind, name, status, started_at) VALUES ('k', 'split', 'split x', 'failed', 1)")
    before = path.read_bytes()
    store = Store.open_read_only(path)
    assert store is not None
    (record,) = store.all()
    assert (record.key, record.status, record.spec, record.attempts) == ("k", "failed", None, 1)
    assert store.by_name() == {"split x": record}
    store.close()
    assert path.read_bytes() == before  # not migrated
    Store(tmp_path / "new.sqlite").close()
    store = Store.open_read_only(tmp_path / "new.sqlite")
    assert store is not None and store.all() == []
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.start("k2", "split", "split y")
    store.close()
