"""Job outputs are typed: a stored row an older harness wrote that does not validate is redone, never a crash."""

from __future__ import annotations

import sqlite3

from harness.config import load_benchmark
from harness.runner import render_from_store, run_benchmark
from harness.store import Store, TrainOutput
from tests.conftest import TINY_DEMO

BODY = TINY_DEMO + "methods:\n  - name: threshold_baseline\n"
TRAIN = "train threshold_baseline on demo_cine regime scratch subset all fold 0 seed 0"


def test_an_invalid_stored_output_reruns_that_job_and_what_depends_on_it(write_benchmark) -> None:
    first = run_benchmark(load_benchmark(write_benchmark(BODY)))
    assert first.ok and first.report is not None
    metrics = (first.report.parent / "metrics.csv").read_text()
    store = Store(first.run_dir / "store.sqlite")
    (record,) = [r for r in store.all() if r.name == TRAIN]
    assert isinstance(record.output, TrainOutput) and record.output.model_manifest
    store.close()
    with sqlite3.connect(first.run_dir / "store.sqlite") as db:  # what a harness without model seals wrote
        db.execute("UPDATE jobs SET output = ? WHERE name = ?", ('{"kind": "train", "model": "/gone"}', TRAIN))

    second = run_benchmark(load_benchmark(write_benchmark(BODY)))
    # like make: what was built on the redone job is redone too (never a prediction of an earlier model)
    assert second.ok and sorted(second.executed) == sorted([TRAIN, TRAIN.replace("train", "predict", 1),
                                                            TRAIN.replace("train", "evaluate", 1), "report tiny"])
    assert second.skipped == ["convert demo_cine", "split demo_cine"]
    assert second.report is not None and (second.report.parent / "metrics.csv").read_text() == metrics

    index, shown, pending = render_from_store(load_benchmark(write_benchmark(BODY)))
    assert index == second.report and pending == 0 and shown == 5  # convert, split, train, predict, evaluate
    assert (index.parent / "metrics.csv").read_text() == metrics
