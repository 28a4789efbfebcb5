"""``segarena report publish RUN_OR_BENCH DIR``: the site, complete, into a folder for a static host."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.common.paths import UnsafePathError
from harness.errors import InputDataError
from harness.report.publish import local_links, publish_site
from tests.cli.test_cli import segarena
from tests.report.test_report import report  # noqa: F401  (module fixture: a rendered tiny report)


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def test_the_same_site_from_the_benchmark_file_the_run_folder_and_the_site(report: Path, tmp_path: Path) -> None:  # noqa: F811
    site = report.parent
    bench_file = site.parent / "b.yaml"
    run = site.parent / "run"
    copies = [publish_site(source, tmp_path / name).folder
              for name, source in (("a", bench_file), ("b", run), ("c", site))]
    expected = files(site)
    assert {"index.html", "metrics.csv", "report.json", "assets/style.css", "assets/sort.js"} <= set(expected)
    assert any(name.startswith("images/") and name.endswith(".png") for name in expected)  # the overlays
    for copy in copies:
        assert files(copy) == expected
        links = local_links(copy / "index.html")
        assert links and all((copy / link).is_file() for link in links)


def test_a_folder_with_other_files_is_refused_unless_forced_and_nothing_is_lost(report: Path, tmp_path: Path) -> None:  # noqa: F811
    target = tmp_path / "www"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(UnsafePathError, match=r"www already holds 1 entries SegArena did not create \(keep.txt\)"):
        publish_site(report.parent, target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    result = publish_site(report.parent, target, force=True)
    assert (target / "index.html").is_file() and not (target / "keep.txt").exists()
    assert result.moved_aside is not None and (result.moved_aside / "keep.txt").read_text() == "mine"
    again = publish_site(report.parent, target)  # a folder published before is replaced without --force
    assert again.moved_aside is None and files(target) == files(report.parent)


def test_a_site_missing_a_linked_file_is_not_published(report: Path, tmp_path: Path) -> None:  # noqa: F811
    broken = tmp_path / "site"
    shutil.copytree(report.parent, broken)
    image = next(broken.glob("images/**/*.png"))
    image.unlink()
    with pytest.raises(InputDataError, match=r"links to files that are not in the site \(images/"):
        publish_site(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_command_line(report: Path, tmp_path: Path) -> None:  # noqa: F811
    result = segarena("report", "publish", str(report.parent), str(tmp_path / "pub"))
    assert result.returncode == 0, result.stderr
    assert "Published" in result.stdout and (tmp_path / "pub" / "index.html").is_file()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    refused = segarena("report", "publish", str(report.parent), str(tmp_path / "busy"))
    assert refused.returncode == 2 and "--force" in refused.stderr and "busy" in refused.stderr
    nothing = segarena("report", "publish", str(tmp_path / "nowhere"), str(tmp_path / "p2"))
    assert nothing.returncode == 2 and "does not exist" in nothing.stderr
    rendered = segarena("report", str(report.parent.parent / "b.yaml"), "--scheme", "rank_then_aggregate")
    assert rendered.returncode == 0, rendered.stderr  # `segarena report FILE` is still `report render FILE`
    assert "rank-then-aggregate" in report.read_text()
