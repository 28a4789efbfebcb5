"""Conversion never deletes what SegArena did not create, and two at once cannot corrupt the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.common import validate_dataset
from harness.common.manifest import MANIFEST
from harness.common.paths import MARKER, UnsafePathError, make_staging
from harness.datasets import DatasetRegistry, convert_dataset
from harness.datasets.cache import ensure_converted, entry_problems
from harness.errors import InputDataError

OPTIONS = {"subjects": 2, "frames": 2}


def _adapter():  # type: ignore[no-untyped-def]
    return DatasetRegistry().adapter("demo_cine", dict(OPTIONS))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True, timeout=300)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("convert-safety") / "raw"
    folder.mkdir()
    _adapter().prepare_raw(folder)
    return folder


def test_out_holding_unrelated_files_is_refused_and_kept(raw: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    before = _tree(mine)
    result = _cli("convert", "demo_cine", "--raw", str(raw), "--out", str(mine))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "did not create" in result.stderr and "--force" in result.stderr
    assert _tree(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging left, nothing computed


@pytest.mark.parametrize("which", ["raw", "parent of raw"])
def test_out_equal_to_or_containing_the_raw_input_is_refused(raw: Path, which: str) -> None:
    before = _tree(raw)
    with pytest.raises(UnsafePathError, match="the input"):
        convert_dataset(_adapter(), raw, raw if which == "raw" else raw.parent)
    assert _tree(raw) == before


def test_force_moves_the_old_contents_aside_and_deletes_nothing(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    summary = convert_dataset(_adapter(), raw, out, force=True)
    assert summary.n_cases == 4 and summary.moved_aside is not None
    assert (summary.moved_aside / "notes.txt").read_text() == "mine"
    assert (out / MARKER).is_file() and not (out / "notes.txt").exists()
    assert validate_dataset(out) == []


def test_reconverting_replaces_its_own_folder_and_leaves_no_staging(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert_dataset(_adapter(), raw, out)
    stale = make_staging(out, "dataset")  # what a kill -9 during a conversion leaves
    summary = convert_dataset(_adapter(), raw, out)
    assert summary.n_cases == 4 and not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def _unreadable_raw(tmp_path: Path, n_subjects: int = 2, n_frames: int = 2) -> Path:
    """A demo_cine raw folder whose info.csv matches the options (so it is not generated again) but
    whose image files are not NIfTI: every subject fails."""
    broken = tmp_path / "broken-raw"
    broken.mkdir()
    rows = ["subject,n_frames,ed_frame,es_frame,seed,domain"]
    for i in range(n_subjects):
        rows.append(f"demo{i:03d},{n_frames},0,1,{20261122 + i},standard")
        (broken / f"demo{i:03d}").mkdir()
        (broken / f"demo{i:03d}" / "cine.nii.gz").write_bytes(b"not a nifti file")
        (broken / f"demo{i:03d}" / "labels.nii.gz").write_bytes(b"not a nifti file")
    (broken / "info.csv").write_text("\n".join(rows) + "\n")
    return broken


def test_zero_converted_cases_fails_naming_raw_and_log_and_keeps_the_old_output(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert_dataset(_adapter(), raw, out)
    before = _tree(out)
    broken = _unreadable_raw(tmp_path)
    with pytest.raises(InputDataError, match="no case of dataset 'demo_cine' was converted") as caught:
        convert_dataset(_adapter(), broken, out)
    log = tmp_path / "out.conversion_log.csv"
    assert str(broken) in str(caught.value) and str(log) in str(caught.value)
    assert "demo000" in log.read_text() and "demo001" in log.read_text()
    assert _tree(out) == before


def test_cli_exits_2_when_nothing_converted(tmp_path: Path) -> None:
    broken = _unreadable_raw(tmp_path, n_subjects=16, n_frames=8)  # the CLI uses the default options
    result = _cli("convert", "demo_cine", "--raw", str(broken), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(broken) in result.stderr and "conversion_log" in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_bad_out_is_a_clear_error_not_a_traceback(raw: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = _cli("convert", "demo_cine", "--raw", str(raw), "--out", str(tmp_path / "file" / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr and "cannot create" in result.stderr


def test_validate_dataset_reports_an_empty_dataset(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert_dataset(_adapter(), raw, out)
    header = (out / "cases.csv").read_text().splitlines()[0]
    (out / "cases.csv").write_text(header + "\n")
    (out / "dataset.json").write_text(json.dumps({**json.loads((out / "dataset.json").read_text()), "numTraining": 0}))
    for folder in ("imagesTr", "labelsTr", "imagesTs"):
        for path in (out / folder).iterdir():
            path.unlink()
    (out / MANIFEST).unlink()
    problems = [str(p) for p in validate_dataset(out)]
    assert any("lists no cases" in p for p in problems)
    result = _cli("validate-dataset", str(out), "--quick")
    assert result.returncode == 2 and "lists no cases" in result.stdout


def test_validate_dataset_reports_files_changed_since_conversion(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert_dataset(_adapter(), raw, out)
    image = next((out / "imagesTr").iterdir())
    image.write_bytes(image.read_bytes()[:-10])
    assert any("recorded" in p.message or "differs" in p.message for p in validate_dataset(out, check_pixels=False))


def test_a_corrupt_or_half_written_cache_entry_is_converted_again(raw: Path, tmp_path: Path) -> None:
    entry = tmp_path / "cache" / "datasets" / "demo-0123"
    first = ensure_converted(_adapter(), raw, entry)
    assert not first.reused and entry_problems(entry) == []
    assert ensure_converted(_adapter(), raw, entry).reused
    image = next((entry / "imagesTr").iterdir())
    image.write_bytes(image.read_bytes()[:-10])  # truncated, as a killed writer leaves it
    assert entry_problems(entry) != []
    again = ensure_converted(_adapter(), raw, entry)
    assert not again.reused and entry_problems(entry) == [] and validate_dataset(entry) == []
    (entry / MANIFEST).unlink()  # written last: its absence means the entry was never completed
    assert not ensure_converted(_adapter(), raw, entry).reused and entry_problems(entry) == []


def test_a_cache_entry_colliding_with_the_raw_input_is_refused(raw: Path) -> None:
    before = _tree(raw)
    with pytest.raises(UnsafePathError, match="the input"):
        ensure_converted(_adapter(), raw, raw)
    assert _tree(raw) == before


_CONVERT = textwrap.dedent("""\
    import json, sys, time
    from pathlib import Path
    from harness.datasets import DatasetRegistry
    from harness.datasets.cache import ensure_converted
    Path(sys.argv[3]).touch()
    while len(list(Path(sys.argv[3]).parent.glob("ready-*"))) < 2:
        time.sleep(0.01)
    entry = ensure_converted(DatasetRegistry().adapter("demo_cine", {"subjects": 4, "frames": 2}),
                             Path(sys.argv[1]), Path(sys.argv[2]), workers=1)
    print(json.dumps({"reused": entry.reused, "n_cases": entry.n_cases}))
""")


def test_two_processes_converting_the_same_entry_at_once_both_succeed(tmp_path: Path) -> None:
    """The same cache entry (generated raw data included) from two processes started together."""
    raw, entry = tmp_path / "raw", tmp_path / "cache" / "datasets" / "demo_cine-4x2"
    (tmp_path / "sync").mkdir()
    env = {**os.environ, "SEGARENA_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", _CONVERT, str(raw), str(entry), str(tmp_path / "sync" / f"ready-{i}")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    results = sorted((json.loads(out) for out, _ in outputs), key=lambda r: r["reused"])
    assert results == [{"reused": False, "n_cases": 8}, {"reused": True, "n_cases": 8}]
    assert entry_problems(entry) == [] and validate_dataset(entry) == []
    assert sorted(p.name for p in entry.parent.iterdir()) == [".demo_cine-4x2.lock", "demo_cine-4x2"]


def test_run_convert_refuses_a_dataset_id_that_is_a_path(write_benchmark, tmp_path: Path) -> None:
    """Whatever the config layer lets through, the write side never leaves the cache."""
    from harness.config import load_benchmark
    from harness.methods import MethodRegistry
    from harness.plan.jobs import Job
    from harness.runner import steps
    from harness.settings import cache_dir
    from tests.conftest import TINY_DEMO

    bench = load_benchmark(write_benchmark(TINY_DEMO + "methods:\n  - name: threshold_baseline\n"))
    hostile = bench.datasets[0].model_copy(update={"id": "../../paths-escape/y"})
    bench = bench.model_copy(update={"datasets": [hostile]})
    ctx = steps.Context(bench, DatasetRegistry(), MethodRegistry(), None, tmp_path / "run", {})  # type: ignore[arg-type]
    job = Job("0" * 64, "convert", "convert hostile", (), {"dataset_index": 0, "dataset": hostile.key})
    with pytest.raises(UnsafePathError, match="not a plain name"):
        steps.run_convert(ctx, job, lambda total, advance: None)
    assert not (cache_dir().parent / "paths-escape").exists() and not (cache_dir() / "paths-escape").exists()
