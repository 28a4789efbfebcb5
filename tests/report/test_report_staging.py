"""The report site is swapped in whole: a kill mid-render leaves the old complete site."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.common.paths import MARKER, UnsafePathError
from harness.config import load_benchmark
from harness.report.site import SiteWriter
from harness.runner import render_from_store, run_benchmark
from tests.conftest import FIXTURES, TINY_DEMO


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".staging-" in p.name or ".old-" in p.name)


def test_nothing_changes_until_commit_then_the_whole_site_at_once(tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = SiteWriter(out)
    (first.folder / "index.html").write_text("one")
    (first.folder / "metrics.csv").write_text("one")
    assert not out.exists()
    first.commit()
    second = SiteWriter(out)
    (second.folder / "metrics.csv").write_text("two")
    assert (out / "metrics.csv").read_text() == "one" and (out / "index.html").read_text() == "one"
    (second.folder / "index.html").write_text("two")
    second.commit()
    assert (out / "metrics.csv").read_text() == "two" and (out / "index.html").read_text() == "two"
    assert (out / MARKER).is_file() and _leftovers(tmp_path) == []


def test_an_abandoned_render_leaves_the_old_site_and_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "site"
    site = SiteWriter(out)
    (site.folder / "index.html").write_text("old")
    site.commit()
    abandoned = SiteWriter(out)
    (abandoned.folder / "index.html").write_text("half")
    del abandoned
    gc.collect()
    assert (out / "index.html").read_text() == "old" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["/", "home"])
def test_report_out_may_not_be_root_or_home(where: str) -> None:
    with pytest.raises(UnsafePathError, match="never writes over"):
        SiteWriter(Path("/") if where == "/" else Path.home())


def test_report_out_holding_other_files_is_refused_and_untouched(tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("my homepage")
    with pytest.raises(UnsafePathError, match="did not create"):
        SiteWriter(tmp_path / "www")
    assert [p.name for p in (tmp_path / "www").iterdir()] == ["index.html"] and _leftovers(tmp_path) == []


def test_report_out_containing_the_run_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="a parent of"):
        SiteWriter(tmp_path, keep=[tmp_path / "run"])


def test_a_site_written_before_sites_were_marked_is_replaced(tmp_path: Path) -> None:
    old = tmp_path / "site"
    (old / "assets").mkdir(parents=True)
    (old / "index.html").write_text("old")
    (old / "report.json").write_text(json.dumps({"benchmark": "b", "generated": "x", "failures": [], "versions": {}}))
    site = SiteWriter(old)
    (site.folder / "index.html").write_text("new")
    site.commit()
    assert (old / "index.html").read_text() == "new"


_KILLED_RENDER = textwrap.dedent("""\
    import os, signal, sys
    from pathlib import Path
    import harness.report.render as render
    from harness.config import load_benchmark
    from harness.runner import render_from_store

    def killed():  # called after metrics.csv is written, before index.html
        assert any(Path(sys.argv[2]).glob(".site.staging-*/metrics.csv"))
        os.kill(os.getpid(), signal.SIGKILL)

    render._versions = killed
    render_from_store(load_benchmark(Path(sys.argv[1])))
""")


def test_kill_during_the_report_keeps_the_old_site_then_the_next_render_cleans_up(tmp_path: Path) -> None:
    bench_path = tmp_path / "b.yaml"
    bench_path.write_text(
        f"schema_version: 1\nname: staging\nplugins: {{methods: [{FIXTURES / 'methods'}]}}\n"
        f"report: {{out: {tmp_path / 'site'}}}\nrun_dir: {tmp_path / 'run'}\n" + TINY_DEMO
        + "methods:\n  - name: threshold_baseline\n"
    )
    summary = run_benchmark(load_benchmark(bench_path))
    assert summary.ok and summary.report is not None
    site = tmp_path / "site"
    before = {name: (site / name).read_bytes() for name in ("index.html", "metrics.csv", "report.json")}
    assert (site / MARKER).is_file() and _leftovers(tmp_path) == []

    killed = subprocess.run([sys.executable, "-c", _KILLED_RENDER, str(bench_path), str(tmp_path)],
                            capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert killed.returncode == -9, killed.stderr
    assert {name: (site / name).read_bytes() for name in before} == before  # the old site, complete
    assert len(_leftovers(tmp_path)) == 1  # the killed render's staging folder

    index, _shown, _pending = render_from_store(load_benchmark(bench_path))
    assert index == site / "index.html" and _leftovers(tmp_path) == []
    assert json.loads((site / "report.json").read_text())["generated"] != "" and (site / "metrics.csv").is_file()
    assert (site / "metrics.csv").read_bytes() == before["metrics.csv"]  # same results, one render's files
