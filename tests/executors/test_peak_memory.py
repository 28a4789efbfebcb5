"""The harness measures a job's peak memory itself: the sum over the method's process tree (local)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.executors.base import Invocation
from harness.executors.local import LocalExecutor
from harness.executors.memory import _container_usage
from harness.methods import MethodRegistry
from tests.conftest import FIXTURES


def run_hog(tmp_path: Path, mb: int, child_mb: int) -> float | None:
    card = MethodRegistry([FIXTURES / "methods"]).card("memory_hog")
    tmp_path.mkdir(parents=True)
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"mb": mb, "child_mb": child_mb, "hold_s": 1.5}))
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    result = LocalExecutor(threads=1).run(Invocation(card, "train", {"data": data, "out": out, "params": params},
                                                     {}, 60, tmp_path / "train.log"))
    assert result.ok, result.reason
    return result.provenance["peak_memory_mb"]


def test_local_peak_memory_sums_the_process_tree(tmp_path: Path) -> None:
    alone = run_hog(tmp_path / "a", 150, 0)
    both = run_hog(tmp_path / "b", 150, 120)
    assert alone is not None and both is not None
    assert 150 <= alone < 150 + 120  # the held block plus the interpreter, not the child it did not start
    assert both >= alone + 0.9 * 120  # the child's block counts too


def test_container_stats_under_cgroup_v1_and_v2() -> None:
    assert _container_usage({"memory_stats": {"max_usage": 5 * 2**20, "usage": 2**20}}) == 5 * 2**20  # v1 peak
    v2 = {"memory_stats": {"usage": 300, "stats": {"inactive_file": 100}}}
    assert _container_usage(v2) == 200  # v2: usage without the reclaimable page cache
    assert _container_usage({}) == 0


@pytest.mark.parametrize("value", [None])
def test_nothing_measured_is_none_not_zero(value: object) -> None:
    from harness.executors.memory import ProcessTreeSampler

    sampler = ProcessTreeSampler("no-such-token")
    assert sampler.sample() == 0 and sampler.peak_mb is value
