"""harness.common.paths: ids are names, outputs never cover what SegArena did not create."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.common.paths import (
    MARKER,
    UnsafePathError,
    check_output_folder,
    folder_lock,
    make_staging,
    mark_created,
    remove_stale_staging,
    resolve_within,
    swap_in,
)
from harness.errors import ConfigError
from harness.settings import cache_dir, repo_root


@pytest.mark.parametrize("name", ["../../x/y", "..", ".", "a/b", "", "/etc", "a\\b", "x\0y"])
def test_resolve_within_rejects_ids_that_are_paths(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafePathError, match="not a plain name"):
        resolve_within(tmp_path, "datasets", name)


def test_resolve_within_accepts_names_and_stays_inside(tmp_path: Path) -> None:
    assert resolve_within(tmp_path, "datasets", "demo_cine-0123abcd") == tmp_path.resolve() / "datasets" / "demo_cine-0123abcd"
    assert issubclass(UnsafePathError, ConfigError)  # exit code 2, no traceback


def test_resolve_within_rejects_a_symlink_that_leaves_the_root(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "escape").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match="outside"):
        resolve_within(tmp_path / "root", "escape", "x")


@pytest.mark.parametrize("where", ["/", "home", "repo", "repo parent", "cache"])
def test_outputs_may_not_be_or_contain_root_home_the_checkout_or_the_cache(where: str) -> None:
    path = {"/": Path("/"), "home": Path.home(), "repo": repo_root(), "repo parent": repo_root().parent,
            "cache": cache_dir()}[where]
    with pytest.raises(UnsafePathError, match="never writes over"):
        check_output_folder(path, "report.out")


def test_outputs_may_not_touch_an_input(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for out, relation in ((raw, "is the input"), (tmp_path, "contains the input")):
        with pytest.raises(UnsafePathError, match=relation):
            check_output_folder(out, "output folder", inputs=[raw])
    assert check_output_folder(raw / "converted", "output folder", inputs=[raw]) == (raw / "converted").resolve()


def test_a_non_empty_folder_segarena_did_not_create_is_refused_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(UnsafePathError, match="did not create.*thesis.tex.*--force"):
        check_output_folder(tmp_path / "mine", "output folder", force_hint="pass --force")
    assert check_output_folder(tmp_path / "mine", "output folder", force=True) == (tmp_path / "mine").resolve()
    (tmp_path / "empty").mkdir()
    assert check_output_folder(tmp_path / "empty", "output folder") == (tmp_path / "empty").resolve()
    (tmp_path / "ours").mkdir()
    mark_created(tmp_path / "ours", "dataset")
    (tmp_path / "ours" / "x").write_text("")
    assert check_output_folder(tmp_path / "ours", "output folder") == (tmp_path / "ours").resolve()


def test_a_file_or_an_unwritable_place_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(UnsafePathError, match="not a folder"):
        check_output_folder(tmp_path / "f", "output folder")
    with pytest.raises(UnsafePathError, match="cannot create its parent"):
        check_output_folder(tmp_path / "f" / "sub" / "out", "output folder")


def _staged(target: Path, text: str) -> Path:
    staging = make_staging(target, "dataset")
    (staging / "data.txt").write_text(text)
    return staging


def test_swap_in_replaces_only_a_marked_folder_and_deletes_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "out"
    swap_in(_staged(target, "one"), target)
    assert (target / "data.txt").read_text() == "one" and (target / MARKER).is_file()
    swap_in(_staged(target, "two"), target)
    assert (target / "data.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the old copy and the staging are gone

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("theirs")
    staging = _staged(theirs, "new")
    with pytest.raises(UnsafePathError, match="nothing was replaced"):
        swap_in(staging, theirs)
    assert (theirs / "keep.txt").read_text() == "theirs" and (staging / "data.txt").is_file()
    aside = swap_in(staging, theirs, force=True)
    assert aside is not None and (aside / "keep.txt").read_text() == "theirs"
    assert (theirs / "data.txt").read_text() == "new"


def test_stale_staging_is_removed_only_if_segarena_made_it(tmp_path: Path) -> None:
    target = tmp_path / "out"
    ours = make_staging(target, "dataset")
    theirs = tmp_path / ".out.staging-mine"
    theirs.mkdir()
    remove_stale_staging(target)
    assert not ours.exists() and theirs.is_dir()


def test_folder_lock_excludes_another_process(tmp_path: Path) -> None:
    target = tmp_path / "out"
    probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('got')\n"
             "except BlockingIOError:\n    print('busy')")
    with folder_lock(target):
        held = subprocess.run([sys.executable, "-c", probe, str(tmp_path / ".out.lock")], capture_output=True, text=True)
    free = subprocess.run([sys.executable, "-c", probe, str(tmp_path / ".out.lock")], capture_output=True, text=True)
    assert held.stdout.strip() == "busy" and free.stdout.strip() == "got"
