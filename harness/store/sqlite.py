"""The SQLite store (``<run_dir>/store.sqlite``)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.store.outputs import JobOutput, dump_output, load_output

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,          -- done | failed | degraded | running
    started_at REAL,
    finished_at REAL,
    duration_s REAL,
    exit_code INTEGER,
    reason TEXT,
    log_path TEXT,
    output TEXT                    -- JSON: what the job produced (paths, digests, ...)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    executed INTEGER DEFAULT 0,
    skipped INTEGER DEFAULT 0,
    failed INTEGER DEFAULT 0
);
"""

#: Statuses that let a later run skip the job.
COMPLETE = ("done",)


@dataclass(frozen=True)
class JobRecord:
    key: str
    kind: str
    name: str
    status: str
    started_at: float | None
    finished_at: float | None
    duration_s: float | None
    exit_code: int | None
    reason: str
    log_path: str
    output: JobOutput | None  # None: nothing recorded, or a stored output that no longer validates

    @property
    def is_complete(self) -> bool:
        """Whether a later run may skip the job: it finished and its output validates as its kind's model."""
        return self.status in COMPLETE and self.output is not None and self.output.kind == self.kind


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path))
        self._db.executescript(SCHEMA)
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def get(self, key: str) -> JobRecord | None:
        row = self._db.execute(
            "SELECT key, kind, name, status, started_at, finished_at, duration_s, exit_code, reason, log_path, output "
            "FROM jobs WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return JobRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] or "", row[9] or "",
                         load_output(row[10]))

    def all(self) -> list[JobRecord]:
        keys = [r[0] for r in self._db.execute("SELECT key FROM jobs ORDER BY started_at")]
        return [r for r in (self.get(k) for k in keys) if r is not None]

    def start(self, key: str, kind: str, name: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO jobs (key, kind, name, status, started_at) VALUES (?, ?, ?, 'running', ?)",
            (key, kind, name, time.time()),
        )
        self._db.commit()

    def finish(
        self,
        key: str,
        status: str,
        duration_s: float,
        exit_code: int | None = None,
        reason: str = "",
        log_path: Path | None = None,
        output: JobOutput | None = None,
    ) -> None:
        self._db.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, duration_s = ?, exit_code = ?, reason = ?, log_path = ?, "
            "output = ? WHERE key = ?",
            (status, time.time(), duration_s, exit_code, reason, str(log_path or ""), dump_output(output), key),
        )
        self._db.commit()

    def begin_run(self) -> int:
        cursor = self._db.execute("INSERT INTO runs (started_at) VALUES (?)", (time.time(),))
        self._db.commit()
        return int(cursor.lastrowid or 0)

    def end_run(self, run_id: int, executed: int, skipped: int, failed: int) -> None:
        self._db.execute(
            "UPDATE runs SET finished_at = ?, executed = ?, skipped = ?, failed = ? WHERE run_id = ?",
            (time.time(), executed, skipped, failed, run_id),
        )
        self._db.commit()

    def runs(self) -> list[dict[str, Any]]:
        cols = ("run_id", "started_at", "finished_at", "executed", "skipped", "failed")
        return [dict(zip(cols, row, strict=True)) for row in self._db.execute(f"SELECT {', '.join(cols)} FROM runs")]
