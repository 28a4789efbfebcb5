"""Shared fixtures: an isolated cache per session, offline model hubs, a tiny benchmark."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["SEGARENA_CACHE"] = str(tmp_path_factory.mktemp("segarena-cache"))
    os.environ["HF_HUB_OFFLINE"] = "1"


def write_benchmark_file(folder: Path, body: str, name: str = "tiny") -> Path:
    """A benchmark file ``<folder>/<name>.yaml``: the fixture methods as a plugin, its report and run folder in
    ``folder``; the body is YAML appended to that header."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            schema_version: 1
            name: {name}
            plugins:
              methods: [{FIXTURES / 'methods'}]
            report:
              out: {folder / 'report'}
            run_dir: {folder / 'run'}
            """
        )
        + textwrap.dedent(body)
    )
    return path


@pytest.fixture
def write_benchmark(tmp_path: Path) -> Callable[..., Path]:
    """Write a small benchmark file into ``tmp_path`` (:func:`write_benchmark_file`)."""

    def write(body: str, name: str = "tiny") -> Path:
        return write_benchmark_file(tmp_path, body, name)

    return write


TINY_DEMO = """\
datasets:
  - name: demo_cine
    options: {subjects: 4, frames: 2}
factors:
  split: {kind: holdout, test_fraction: 0.25}
"""


#: Skip reasons that mean "a correctness proof could not run" (an oracle, the browser, reference data).
#: Under SEGARENA_STRICT_SKIPS=1 (set by .ci/run) such a skip fails the test instead, so CI cannot go
#: green without them; locally they stay skips with their reason.
_MISSING_PROOF = ("could not import", "no module named", "not installed", "not found")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or os.environ.get("SEGARENA_STRICT_SKIPS") != "1":
        return
    if item.get_closest_marker("docker") or item.get_closest_marker("gpu"):
        return  # the engine and devices are the machine's, reported by .ci/run itself
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    if any(marker in reason.lower() for marker in _MISSING_PROOF):
        report.outcome = "failed"
        report.longrepr = f"skipped in strict mode (SEGARENA_STRICT_SKIPS=1), a proof did not run: {reason}"
