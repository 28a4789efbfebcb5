"""Jobs, keyed by a content hash of everything that determines their output."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

JobKind = Literal["convert", "split", "train", "predict", "evaluate", "report"]

#: Bump when the evaluator's numbers change, so stored evaluations are recomputed.
EVALUATOR_VERSION = "1"


@functools.lru_cache(maxsize=1)
def report_code() -> str:
    """Hash of the report renderer's files (code, templates, assets): a new SegArena renders the report again.

    Read from the files, not imported (the planner does not import the report package).
    """
    folder = Path(__file__).resolve().parents[1] / "report"
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return hash_files(files)


def _default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"cannot hash {type(value).__name__}")


def content_key(kind: str, payload: dict[str, Any]) -> str:
    """SHA-256 of the job kind and its canonical JSON payload."""
    text = json.dumps({"kind": kind, **payload}, sort_keys=True, default=_default)
    return hashlib.sha256(text.encode()).hexdigest()


def input_digests(payload: dict[str, Any]) -> dict[str, str]:
    """A short digest of each part of a key's payload: which part changed when a job's key did."""
    return {name: hashlib.sha256(json.dumps(value, sort_keys=True, default=_default).encode()).hexdigest()[:16]
            for name, value in payload.items()}


def keyed(kind: str, payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The key of a payload (:func:`content_key`) and the digests of its parts (:func:`input_digests`)."""
    return content_key(kind, payload), input_digests(payload)


def fingerprint_tree(root: Path) -> str:
    """Cheap fingerprint of a raw folder: relative paths, sizes and modification times."""
    digest = hashlib.sha256()
    if not root.exists():
        return "missing"
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Job:
    key: str
    kind: JobKind
    name: str  # human-readable, e.g. "train unet2d on demo_cine fold 0 seed 0"
    deps: tuple[str, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)
    #: A digest of each part of the payload the key hashes (``input_digests``), so that a changed key can
    #: be traced to what changed in it (code, a folder's fingerprint, settings) even when the spec is the same.
    inputs: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def short(self) -> str:
        return self.key[:12]

    def identity(self) -> dict[str, Any]:
        """What the store records when the job starts, as JSON data: its spec, its dependencies' keys and the
        digests of its key's parts.

        ``segarena plan`` (``harness.runner.explain``) compares it with the job of the same name in the current
        plan to say why a job would run again (params changed, upstream changed, what else changed).
        """
        return json.loads(json.dumps({"spec": self.spec, "deps": list(self.deps), "inputs": self.inputs},
                                     sort_keys=True, default=_default))
