"""Worker pools of the harness: started from a clean server process, dying with the harness (:func:`worker_pool`)."""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import multiprocessing
import multiprocessing.util
import pickle
import shutil
import signal
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Worker-pool initializer: the kernel SIGKILLs this process when its parent dies (Linux; no-op elsewhere).

    Without it, the convert and evaluate workers of a ``kill -9``'d harness stay blocked on their
    queue for good (seen: ~160 MB each).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the pool lives on after a kill -9, as before
        return


# -- pools ------------------------------------------------------------------------------------------------
#: Imported once by the pool's server process, so each worker starts with them (never a harness module:
#: callers name theirs in ``preload``).
_PRELOAD = ["numpy", "SimpleITK", "scipy.ndimage"]
_payload: object = None


def worker_pool(workers: int, payload: object = None, preload: tuple[str, ...] = ()) -> ProcessPoolExecutor:
    """A process pool whose workers are forked from a clean server process, never from the harness itself.

    The harness runs jobs in threads (``harness.runner.scheduler``); a child forked from a threaded process
    inherits every lock another thread held at that moment, in Python (module import locks) and in C++
    (SimpleITK/ITK): seen as evaluate workers that hung for good in their first ``ReadImage``. The
    ``forkserver`` start method forks workers from a single-threaded server instead. Each worker gets
    the harness's ``sys.path`` and its synthetic packages (``segarena_datasets``, see
    harness.datasets.package), dies with its parent (:func:`die_with_parent`), and can read ``payload``
    (pickled once, e.g. a dataset adapter) with :func:`worker_payload`.
    """
    _short_socket_folder()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*_PRELOAD, *preload])  # no effect once the server runs: first caller's
    blob = pickle.dumps(payload) if payload is not None else b""
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(list(sys.path), _synthetic_packages(), blob))


#: The forkserver listens on ``<temp>/pymp-XXXX/listener-XXXX``; AF_UNIX paths hold at most 107 bytes.
_SOCKET_PATH_BUDGET = 60


def _short_socket_folder() -> None:
    """Under a long ``$TMPDIR`` (e.g. a test's or a job scheduler's), keep multiprocessing's folder under /tmp."""
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    if "tempdir" in config or len(tempfile.gettempdir()) <= _SOCKET_PATH_BUDGET:
        return  # already chosen (the server may be running), or short enough
    folder = tempfile.mkdtemp(prefix="pymp-", dir="/tmp")
    config["tempdir"] = folder
    multiprocessing.util.Finalize(None, shutil.rmtree, args=[folder, True], exitpriority=-100)


def worker_payload() -> object:
    """The ``payload`` given to :func:`worker_pool`, inside one of its workers."""
    return _payload


def _synthetic_packages() -> dict[str, list[str]]:
    """Top-level packages made in memory (no file, a plain-list ``__path__``): name -> their ``__path__``.

    Packages the import system found have an ``__init__.py`` origin or a ``_NamespacePath``; a worker finds
    those itself.
    """
    found = {}
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if "." not in name and spec is not None and spec.origin is None \
                and isinstance(getattr(module, "__path__", None), list):
            found[name] = list(module.__path__)
    return found


def _start_worker(path: list[str], packages: dict[str, list[str]], blob: bytes) -> None:
    global _payload
    die_with_parent()
    sys.path[:] = path
    for name, paths in packages.items():
        if name not in sys.modules:
            module = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(name, None, is_package=True))
            module.__path__ = list(paths)
            sys.modules[name] = module
    importlib.invalidate_caches()
    if blob:
        _payload = pickle.loads(blob)  # noqa: S301 - pickled by this harness a moment ago
