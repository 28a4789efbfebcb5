"""The private, read-only view a ``local`` job runs in, and the checks that it stayed unchanged.

For each job the local executor makes a fresh folder under the system temp dir (``TMPDIR``),
outside the run folder and the cache, holding copies (never hard links) of the job's inputs
(``data``, ``val``, ``images``, ``init``, ``model``, ``params``) and of the method's code (its card's
``code_files()``: the folder, and the method kit where the card asks for it): files ``0444``, folders ``0555``.
Each copied file is hashed while it is copied; after the job
the copies are hashed again, and a changed, added or removed input is a contract violation
(a root harness ignores the modes, so the hashes are what catches it). The method's ``out`` is a
writable folder in the view whose contents are moved back to where the store expects them.

This is no sandbox: a method can still read any file its user can read by absolute path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.contract.seal import compare_trees, hash_tree

#: The name prefix of a local job's private folder (the only kind of folder a rerun removes for a dead job).
SCRATCH_PREFIX = "segarena-job-"
_CHUNK = 1 << 20
FILE_MODE, DIR_MODE = 0o444, 0o555


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashing(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
    os.chmod(target, FILE_MODE)
    return digest.hexdigest()


def _copy_read_only(source: Path | Mapping[str, Path], target: Path) -> dict[str, str]:
    """Copy a file, a folder (following symlinks to their content) or a mapping of relative paths to files
    (a folder assembled from several places); returns the hashes of what was copied."""
    hashes: dict[str, str] = {}
    if isinstance(source, Mapping):
        target.mkdir()
        for relative, path in sorted(source.items()):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            hashes[relative] = _copy_hashing(path, target / relative)
    elif source.is_file():
        return {target.name: _copy_hashing(source, target)}
    else:
        target.mkdir()
        _copy_folder(source, target, hashes)
    for folder, _, _ in os.walk(target, topdown=False):
        os.chmod(folder, DIR_MODE)
    return hashes


def _copy_folder(source: Path, target: Path, hashes: dict[str, str]) -> None:
    for folder, dirs, files in os.walk(source):
        dirs.sort()
        here = target / Path(folder).relative_to(source)
        for name in dirs:
            (here / name).mkdir()
        for name in sorted(files):
            hashes[(here / name).relative_to(target).as_posix()] = _copy_hashing(Path(folder) / name, here / name)


@dataclass
class PrivateView:
    """One job's folder: ``paths`` maps each role to its private copy."""

    root: Path
    paths: dict[str, Path] = field(default_factory=dict)
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)  # input role → its files' hashes
    bytes_copied: int = 0

    def changed_inputs(self) -> list[str]:
        """Each changed, added or removed input file as ``<role> <what> <file>``; empty when untouched."""
        problems = []
        for role, expected in self.hashes.items():
            path = self.paths[role]
            actual = hash_tree(path) if path.exists() else {}
            if path.is_file():
                actual = {path.name: actual[path.name]}
            problems += [f"--{role}: {line}" for line in compare_trees(expected, actual)]
        return problems

    def return_outputs(self, out: Path) -> None:
        """Move what the method wrote to its private ``out`` into ``out`` (replacing same-named entries)."""
        private = self.paths["out"]
        out.mkdir(parents=True, exist_ok=True)
        for entry in sorted(private.iterdir()) if private.is_dir() else []:
            target = out / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            shutil.move(str(entry), str(target))

    def remove(self) -> None:
        """Delete the view, read-only modes included."""
        for folder, dirs, _ in os.walk(self.root):
            for name in dirs:
                path = Path(folder) / name
                if not path.is_symlink():
                    os.chmod(path, stat.S_IRWXU)
        os.chmod(self.root, stat.S_IRWXU)
        shutil.rmtree(self.root, ignore_errors=True)


def private_view_root(token: str) -> Path:
    """Where the view of the job with ``token`` lives: known before it exists, so the job's record
    (``running/<token>``) can name it first and a kill -9 at any point leaves nothing unrecorded."""
    return Path(tempfile.gettempdir()) / f"{SCRATCH_PREFIX}{token}"


def make_private_view(mounts: Mapping[str, Path | Mapping[str, Path]], root: Path | None = None) -> PrivateView:
    """Copy the inputs into a fresh folder (``root``, or a new temp folder); ``out`` starts as a copy of ``mounts['out']``.
    A mount is a file, a folder, or a mapping of relative paths to files (the method's code)."""
    if root is None:
        root = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    else:
        root.mkdir(mode=0o700)
    view = PrivateView(root)
    try:
        for role, source in mounts.items():
            name = "params.json" if role == "params" else role
            target = view.root / name
            if role == "out":
                target.mkdir()
                if isinstance(source, Path) and source.is_dir():
                    shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)
            else:
                view.hashes[role] = _copy_read_only(source, target)
                view.bytes_copied += sum(p.stat().st_size for p in ([target] if target.is_file() else
                                                                     target.rglob("*")) if p.is_file())
            view.paths[role] = target
    except BaseException:
        view.remove()
        raise
    return view
