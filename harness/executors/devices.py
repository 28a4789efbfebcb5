"""GPU devices: the ids an executor may hand out, and what is known about each (for the provenance).

``executor.gpus`` is a count (devices ``0 .. N-1``) or a list of ids (``["0", "2"]``, or UUIDs); each GPU
job holds its own for its whole duration (``harness.runner.resources``). What a device is (model, memory,
driver, CUDA) comes from ``nvidia-smi`` where it is installed; elsewhere the provenance says it is not
visible rather than guessing.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any

from harness.errors import ConfigError

_QUERY = "index,uuid,name,memory.total,driver_version"


def gpu_ids(gpus: int | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The device ids of an ``executor.gpus`` setting; a repeated id is a configuration error."""
    if not gpus:
        return ()
    if isinstance(gpus, int):
        return tuple(str(i) for i in range(gpus))
    ids = tuple(str(g).strip() for g in gpus)
    repeated = sorted({g for g in ids if ids.count(g) > 1})
    if repeated or any(not g for g in ids):
        raise ConfigError(f"executor.gpus: each device once and non-empty ({', '.join(repeated) or 'empty id'})")
    return ids


@functools.lru_cache(maxsize=1)
def _nvidia_smi() -> tuple[dict[str, dict[str, str]], str]:
    """Every GPU ``nvidia-smi`` lists, by index and by uuid, and the CUDA version it reports ("" if none)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return {}, ""
    try:
        listing = subprocess.run([exe, f"--query-gpu={_QUERY}", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout
        header = subprocess.run([exe], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return {}, ""
    devices: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 5:
            continue
        info = {"index": parts[0], "uuid": parts[1], "name": parts[2], "memory_mib": parts[3], "driver": parts[4]}
        devices[parts[0]] = devices[parts[1]] = info
    cuda = header.split("CUDA Version:")[1].split()[0] if "CUDA Version:" in header else ""
    return devices, cuda


def describe_devices(ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """What is known about each assigned device: model, memory, driver, CUDA; ``visible: False`` if nothing is."""
    known, cuda = _nvidia_smi()
    described = []
    for device in ids:
        info = known.get(device)
        if info is None:
            described.append({"id": device, "visible": False,
                              "note": "nvidia-smi is not installed" if not known else "not listed by nvidia-smi"})
        else:
            described.append({"id": device, "visible": True, **info, "cuda": cuda})
    return described
