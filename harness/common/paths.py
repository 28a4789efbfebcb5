"""The one place that decides where the harness may write, and how a folder it writes is put in place.

Rules (DESIGN.md, "Trust"): ids are names, never paths (:func:`resolve_within`); an output
folder never is, or contains, the filesystem root, the home folder, the SegArena checkout or
an input (:func:`check_output_folder`); a non-empty folder SegArena did not create is never
written into or deleted (only a folder that carries the :data:`MARKER` file is ever
replaced). Every folder is built in a unique staging folder beside its target
(:func:`make_staging`) while holding an ``fcntl`` lock on the target (:class:`FolderLock`),
then swapped in with one atomic rename (:func:`swap_in`).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from harness.errors import ConfigError

log = logging.getLogger(__name__)

MARKER = ".segarena-created"  # in every folder SegArena creates; only such a folder is ever replaced
_STAGING = ".staging-"
_OLD = ".old-"


class UnsafePathError(ConfigError):
    """An id or output path would make the harness write outside its root or over files it did not create."""


def check_name(name: str, what: str = "id") -> str:
    """Return ``name`` if it is a plain file name (no separator, not ``.``/``..``), else raise."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UnsafePathError(
            f"{what} {name!r} is not a plain name: ids are names, never paths (expected letters, digits, "
            f"'-', '_' or '.', without '/' and not '.' or '..'); rename it"
        )
    return name


def resolve_within(root: Path, *names: str) -> Path:
    """``root / names[0] / names[1] ...``, each name checked by :func:`check_name`; never leaves ``root``."""
    base = root.resolve()
    path = base
    for name in names:
        path = path / check_name(name, "path component")
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafePathError(f"{path} resolves to {resolved}, outside {base} (a symbolic link?); remove the link")
    return resolved


def is_created_by_segarena(folder: Path) -> bool:
    """Whether ``folder`` carries the marker SegArena writes into every folder it creates."""
    return (folder / MARKER).is_file() and not (folder / MARKER).is_symlink()


def mark_created(folder: Path, kind: str) -> None:
    """Write the marker that lets SegArena replace ``folder`` later."""
    text = json.dumps({"created_by": "segarena", "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    (folder / MARKER).write_text(text + "\n")


def protected_folders() -> list[Path]:
    """Folders no output may be or contain: the filesystem root, the home folder, the checkout, the cache."""
    from harness.settings import cache_dir, repo_root

    out = [Path("/")]
    try:
        out.append(Path.home().resolve())
    except RuntimeError:  # no home folder known
        pass
    out.append(repo_root().resolve())
    out.append(cache_dir().resolve())
    return out


def check_output_folder(
    out: Path,
    what: str,
    *,
    inputs: Sequence[Path] = (),
    keep: Sequence[Path] = (),
    force: bool = False,
    force_hint: str = "",
    recognise: Callable[[Path], bool] | None = None,
) -> Path:
    """Check that SegArena may put a folder at ``out``; return its resolved path.

    Refused: ``out`` equal to or containing a protected folder, one of ``keep`` or one of
    ``inputs`` (an input is named as such in the message); an existing non-folder; an existing
    non-empty folder SegArena did not create (no marker, and ``recognise`` does not claim
    it) unless ``force`` (then :func:`swap_in` moves its contents aside, deleting nothing).
    """
    target = out.expanduser().resolve()
    for folder in protected_folders() + [p.expanduser().resolve() for p in keep]:
        if target == folder or target in folder.parents:
            raise UnsafePathError(
                f"{what} {out} is {'' if target == folder else 'a parent of '}{folder}, which SegArena never "
                f"writes over; choose a new folder of its own, e.g. {folder / 'segarena-out'}"
            )
    for source in inputs:
        source = source.expanduser().resolve()
        if target == source or target in source.parents:
            relation = "is" if target == source else "contains"
            raise UnsafePathError(
                f"{what} {out} {relation} the input {source}; writing there would change or delete the input. "
                f"Choose a folder outside it, e.g. {source.parent / (source.name + '-converted')}"
            )
    if target.exists() and not target.is_dir():
        raise UnsafePathError(f"{what} {out} exists and is not a folder; choose a folder path")
    if target.is_dir() and any(target.iterdir()) and not is_created_by_segarena(target):
        if recognise is not None and recognise(target):
            return target
        if not force:
            names = sorted(p.name for p in target.iterdir())
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise UnsafePathError(
                f"{what} {out} already holds {len(names)} entries SegArena did not create ({shown}); "
                f"SegArena never writes into or deletes such a folder. Choose a new or empty folder"
                + (f", or {force_hint}" if force_hint else "")
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UnsafePathError(f"{what} {out}: cannot create its parent folder {target.parent} ({err.strerror})") from err
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise UnsafePathError(f"{what} {out}: its parent folder {target.parent} is not writable; choose another folder")
    return target


class FolderLock:
    """An exclusive ``fcntl.flock`` on ``.<name>.lock`` beside ``target`` (released at exit or process death)."""

    def __init__(self, target: Path) -> None:
        self.path = target.parent / f".{target.name}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting while another process holds it."""
        if not self._lock(blocking=False):
            log.info("waiting for another SegArena process that writes %s", self.path.parent / self.path.name[1:-5])
            self._lock(blocking=True)

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False if another process holds it."""
        return self._lock(blocking=False)

    def _lock(self, blocking: bool) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # the holder, for messages (see holder())
        self._fd = fd
        return True

    def holder(self) -> str:
        """The pid the current holder wrote (for messages), or "?"."""
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@contextmanager
def folder_lock(target: Path) -> Iterator[None]:
    """Hold the lock of ``target`` for the ``with`` block."""
    lock = FolderLock(target)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def remove_stale_staging(target: Path) -> None:
    """Delete staging and old copies of ``target`` left by a killed process (call with its lock held)."""
    for prefix in (_STAGING, _OLD):
        for path in target.parent.glob(f".{target.name}{prefix}*"):
            if path.is_dir() and not path.is_symlink() and is_created_by_segarena(path):
                log.info("removing %s, left over by an interrupted run", path)
                shutil.rmtree(path, ignore_errors=True)


def make_staging(target: Path, kind: str) -> Path:
    """A new, unique, marked folder beside ``target`` (same filesystem, so :func:`swap_in` is one rename)."""
    staging = _unique_folder(target, _STAGING)
    mark_created(staging, kind)
    return staging


def _unique_folder(target: Path, infix: str) -> Path:
    """Create ``.<name><infix><random>`` beside ``target`` (like mkdtemp, but with the umask's mode)."""
    for _ in range(100):
        path = target.parent / f".{target.name}{infix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            raise UnsafePathError(f"cannot create a folder beside {target} ({err.strerror})") from err
        return path
    raise UnsafePathError(f"cannot create a unique folder beside {target}")


def discard_staging(staging: Path) -> None:
    """Delete a staging folder (only if it carries the marker)."""
    if staging.is_dir() and is_created_by_segarena(staging):
        shutil.rmtree(staging, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux renameat2 RENAME_EXCHANGE); False if unsupported here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def swap_in(staging: Path, target: Path, *, force: bool = False, recognise: Callable[[Path], bool] | None = None) -> Path | None:
    """Put the complete ``staging`` folder at ``target`` in one atomic step (call with its lock held).

    An old ``target`` that SegArena created (or ``recognise`` claims) is deleted after the swap;
    one it did not create is moved aside to ``<target>.replaced-<time>`` when ``force`` (its path is
    returned) and otherwise left alone, with ``staging`` kept and named in the error.
    """
    if not target.exists():
        os.rename(staging, target)
        return None
    if target.is_dir() and not any(target.iterdir()):
        os.rmdir(target)
        os.rename(staging, target)
        return None
    if is_created_by_segarena(target) or (recognise is not None and recognise(target)):
        if _exchange(staging, target):
            shutil.rmtree(staging)  # now the old folder
        else:
            old = _unique_folder(target, _OLD)
            os.rmdir(old)
            os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old)
        return None
    if force:
        aside = target.with_name(f"{target.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
        while aside.exists():
            aside = aside.with_name(aside.name + "-1")
        os.rename(target, aside)
        os.rename(staging, target)
        log.warning("moved the former contents of %s to %s", target, aside)
        return aside
    raise UnsafePathError(
        f"{target} now holds files SegArena did not create (another program wrote there meanwhile); "
        f"nothing was replaced, the new results are in {staging}"
    )
