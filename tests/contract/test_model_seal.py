"""The model folder is sealed after training (sha256 of every file) and checked before predict."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from harness.config import load_benchmark
from harness.contract.seal import check_model_seal, seal_model
from harness.errors import JobFailedError
from harness.executors.isolation import sha256_file
from harness.runner import run_benchmark
from tests.conftest import TINY_DEMO


def test_seal_names_changed_added_and_removed_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "model.pt").write_bytes(b"w")
    (tmp_path / "sub" / "config.json").write_text("{}")
    seal = seal_model(tmp_path)
    assert seal == {"model.pt": sha256_file(tmp_path / "model.pt"), "sub/config.json": sha256_file(tmp_path / "sub" / "config.json")}
    check_model_seal(tmp_path, seal, "before predict")  # unchanged: passes
    (tmp_path / "model.pt").write_bytes(b"other")
    (tmp_path / "extra.bin").write_bytes(b"")
    (tmp_path / "sub" / "config.json").unlink()
    with pytest.raises(JobFailedError) as raised:
        check_model_seal(tmp_path, seal, "before predict")
    message = str(raised.value)
    assert "changed model.pt" in message and "added extra.bin" in message and "removed sub/config.json" in message
    assert str(tmp_path) in message and "trains it again" in message


def test_a_model_changed_after_training_fails_its_predict_job(write_benchmark) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: echo_init\n")
    first = run_benchmark(load_benchmark(path))
    assert first.ok
    with sqlite3.connect(first.run_dir / "store.sqlite") as db:
        (output,) = [json.loads(o) for (o,) in db.execute("SELECT output FROM jobs WHERE kind = 'train'")]
    model = Path(output["model"])
    assert set(output["model_manifest"]) == {"init_seen.json", "model.pt"}

    (model / "model.pt").write_bytes(b"swapped weights")
    (predictions,) = (first.run_dir / "jobs" / "predict").glob("*/predictions")
    shutil.rmtree(predictions)  # so the next run predicts again from the (changed) model
    again = run_benchmark(load_benchmark(path))
    (name, reason), = again.failed
    assert name.startswith("predict echo_init")
    assert "changed model.pt" in reason and "changed after training" in reason and str(model) in reason
    assert "train echo_init on demo_cine regime scratch subset all fold 0 seed 0" in again.skipped
