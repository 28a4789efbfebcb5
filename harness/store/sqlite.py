"""The SQLite store (``<run_dir>/store.sqlite``)."""

from __future__ import annotations

import json
import sqlite3
import threading
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
    status TEXT NOT NULL,          -- done | failed | degraded | not_run | running | interrupted
    started_at REAL,
    finished_at REAL,
    duration_s REAL,
    exit_code INTEGER,
    reason TEXT,
    log_path TEXT,
    output TEXT,                   -- JSON: what the job produced (paths, digests, ...)
    spec TEXT,                     -- JSON: the job's spec when it started (what `segarena plan` compares)
    attempts INTEGER DEFAULT 1,    -- starts of the job in its last run (>1: retried after its node died)
    assignment TEXT                -- JSON: CPU slots, GPU devices, memory it held; where it ran
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
#: Columns added after the first release: added to an older store when it is opened.
_ADDED_COLUMNS = {"spec": "TEXT", "attempts": "INTEGER DEFAULT 1", "assignment": "TEXT"}
_COLUMNS = ("key, kind, name, status, started_at, finished_at, duration_s, exit_code, reason, log_path, output, "
            "spec, attempts, assignment")


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
    spec: dict[str, Any] | None = None
    attempts: int = 1
    assignment: dict[str, Any] | None = None

    @property
    def is_complete(self) -> bool:
        """Whether a later run may skip the job: it finished and its output validates as its kind's model."""
        return self.status in COMPLETE and self.output is not None and self.output.kind == self.kind


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Only the scheduling process writes, from its scheduling thread; worker threads (the report) only read.
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.RLock()
        self._columns = _COLUMNS
        self._db.executescript(SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for column, declaration in _ADDED_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {declaration}")
        self._db.commit()

    @classmethod
    def open_read_only(cls, path: Path) -> Store | None:
        """The store at ``path`` opened for reading only (``segarena plan``: no table is created or migrated,
        nothing is written while a run may be writing); None when there is no store there yet."""
        if not path.is_file():
            return None
        store = cls.__new__(cls)
        store.path = path
        store._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        store._lock = threading.RLock()
        present = {row[1] for row in store._db.execute("PRAGMA table_info(jobs)")}
        if not present:
            store._db.close()
            return None
        # an older store lacks the added columns: read them as NULL
        store._columns = ", ".join(c if c in present else "NULL" for c in _COLUMNS.split(", "))
        return store

    def close(self) -> None:
        self._db.close()

    def get(self, key: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {self._columns} FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else _record(row)

    def all(self) -> list[JobRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {self._columns} FROM jobs ORDER BY started_at").fetchall()
        return [_record(row) for row in rows]

    def by_name(self) -> dict[str, JobRecord]:
        """The latest record of each job name (an earlier version of a job whose key changed keeps its name)."""
        return {record.name: record for record in self.all() if record.started_at is not None}

    def start(self, key: str, kind: str, name: str, spec: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs (key, kind, name, status, started_at, spec) VALUES (?, ?, ?, 'running', ?, ?)",
                (key, kind, name, time.time(), None if spec is None else json.dumps(spec, sort_keys=True, default=str)),
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
        attempts: int = 1,
        assignment: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, duration_s = ?, exit_code = ?, reason = ?, log_path = ?, "
                "output = ?, attempts = ?, assignment = ? WHERE key = ?",
                (status, time.time(), duration_s, exit_code, reason, str(log_path or ""), dump_output(output), attempts,
                 None if assignment is None else json.dumps(assignment, sort_keys=True, default=str), key),
            )
            self._db.commit()

    def begin_run(self) -> int:
        with self._lock:
            cursor = self._db.execute("INSERT INTO runs (started_at) VALUES (?)", (time.time(),))
            self._db.commit()
        return int(cursor.lastrowid or 0)

    def end_run(self, run_id: int, executed: int, skipped: int, failed: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE runs SET finished_at = ?, executed = ?, skipped = ?, failed = ? WHERE run_id = ?",
                (time.time(), executed, skipped, failed, run_id),
            )
            self._db.commit()

    def runs(self) -> list[dict[str, Any]]:
        cols = ("run_id", "started_at", "finished_at", "executed", "skipped", "failed")
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(cols)} FROM runs").fetchall()
        return [dict(zip(cols, row, strict=True)) for row in rows]


def _json(text: str | None) -> Any:
    return None if not text else json.loads(text)


def _record(row: tuple[Any, ...]) -> JobRecord:
    return JobRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] or "", row[9] or "",
                     load_output(row[10]), _json(row[11]), int(row[12] or 1), _json(row[13]))
