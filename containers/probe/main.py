"""Engine probe: a stdlib-only method whose train step does one thing, chosen by ``behaviour``.

    main.py train --data DIR --out DIR --params FILE     noop | fail | sleep | oom | identity
    main.py predict --images DIR --model DIR --out DIR    writes nothing (not a real method)

Used by the docker tier's tests and by benchmarks/container_overhead.py (``noop``: the
per-job cost of a container, start to exit).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def identity(out: Path) -> None:
    tmp_ok = True
    try:
        Path("/tmp/probe").write_text("scratch")
    except OSError:
        tmp_ok = False
    root_ok = True
    try:
        Path("/probe-root-write").write_text("x")
    except OSError:
        root_ok = False
    (out / "identity.json").write_text(json.dumps({
        "uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd(), "tmp_writable": tmp_ok,
        "root_writable": root_ok, "env": {k: v for k, v in os.environ.items() if k.startswith(("SEGARENA_", "CUDA_", "HOME"))},
        "argv": sys.argv[1:],
    }, indent=2))


def main(argv: list[str]) -> int:
    command, options = argv[0], dict(zip(argv[1::2], argv[2::2], strict=False))
    if command != "train":
        return 0
    params = json.loads(Path(options["--params"]).read_text()) if "--params" in options else {}
    behaviour = params.get("behaviour", "noop")
    out = Path(options["--out"])
    print(f"probe: {behaviour}", flush=True)
    if behaviour == "fail":
        print("probe: failing on purpose", file=sys.stderr, flush=True)
        return 3
    if behaviour == "sleep":
        time.sleep(float(params.get("seconds", 600)))
    elif behaviour == "oom":
        hog = []
        while True:
            hog.append(bytearray(64 * 1024 * 1024))
            hog[-1][:: 4096] = b"x" * len(hog[-1][:: 4096])  # touch every page
    elif behaviour == "identity":
        identity(out)
    (out / "done").write_text(behaviour)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
