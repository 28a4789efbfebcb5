"""Worker pools that die with the harness: the initializer every ``ProcessPoolExecutor`` of the harness gets."""

from __future__ import annotations

import ctypes
import signal
import sys

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
