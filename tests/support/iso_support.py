"""Support for the local-isolation tests: the hostile fixture methods and processes seen through /proc."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.executors.processes import pids_with_token

FIXTURE_METHODS = Path(__file__).resolve().parents[1] / "fixtures" / "methods"


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def hostile_lines(log: Path) -> list[dict[str, Any]]:
    """The ``HOSTILE <json>`` records a hostile method printed into its log."""
    return [json.loads(line.removeprefix("HOSTILE ")) for line in log.read_text().splitlines()
            if line.startswith("HOSTILE ")]


def leftovers(token: str) -> list[int]:
    return [pid for pid in pids_with_token(token) if is_running(pid) and pid != os.getpid()]
