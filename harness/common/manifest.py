"""A folder's manifest: the sha256 and size of every file, written last, so a half-written or
changed folder is recognised (the dataset cache redoes such an entry; ``validate-dataset`` reports it)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST = ".segarena-manifest.json"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if (p.is_file() or p.is_symlink()) and p.name != MANIFEST)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: Path) -> Path:
    """Record every file under ``folder``; call it after the last other file is written."""
    files = {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": file_sha256(p)}
             for p in _files(folder)}
    path = folder / MANIFEST
    tmp = folder / (MANIFEST + ".tmp")
    with tmp.open("w") as handle:
        json.dump({"files": files}, handle, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    return path


def has_manifest(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def verify_manifest(folder: Path, check_hashes: bool = True) -> list[str]:
    """Return what differs from the manifest (empty: the folder is exactly as written)."""
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{path}: missing (the folder was not completely written)"]
    try:
        files = json.loads(path.read_text())["files"]
        assert isinstance(files, dict)
    except (json.JSONDecodeError, KeyError, TypeError, AssertionError) as err:
        return [f"{path}: unreadable ({err})"]
    problems: list[str] = []
    for name, info in sorted(files.items()):
        file = folder / name
        if not file.is_file():
            problems.append(f"{file}: listed in {MANIFEST} but missing")
        elif file.stat().st_size != info.get("size"):
            problems.append(f"{file}: {file.stat().st_size} bytes, {MANIFEST} recorded {info.get('size')}")
        elif check_hashes and file_sha256(file) != info.get("sha256"):
            problems.append(f"{file}: content differs from the sha256 {MANIFEST} recorded")
    listed = set(files)
    for file in _files(folder):
        if file.relative_to(folder).as_posix() not in listed:
            problems.append(f"{file}: not written by the conversion (not in {MANIFEST})")
    return problems
