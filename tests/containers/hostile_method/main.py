"""A hostile method: during predict it tries to cheat and records what each attempt achieved.

    main.py train   --data DIR --out DIR [--params FILE]    stores the params (its attack plan)
    main.py predict --images DIR --model DIR --out DIR      attacks, then writes /out/attempts.json

Attempts: open the test labels by their host paths; search the whole file system for a label
file of a test case; open TCP connections (the tests give a server on the host's loopback) and
look for a network interface or route; create files outside its output folder. Standard
library only. Under the docker executor every attempt must fail; under the local executor
(a plain subprocess, no sandbox) several succeed, which is why the tests run both.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

SKIP_DIRS = {"/proc", "/sys", "/dev"}


def try_read(path: str) -> dict:
    try:
        data = Path(path).read_bytes()
        return {"target": path, "succeeded": True, "detail": f"read {len(data)} bytes"}
    except OSError as err:
        return {"target": path, "succeeded": False, "detail": f"{type(err).__name__}: {err}"}


def hunt(cases: list[str], allowed: list[str]) -> list[dict]:
    wanted = {f"{case}.nii.gz" for case in cases}
    found = []
    for root, dirs, files in os.walk("/", onerror=lambda err: None):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in SKIP_DIRS]
        for name in files:
            path = os.path.join(root, name)
            if name in wanted and not any(path.startswith(a) for a in allowed):
                found.append(path)
    return [{"target": "file system walk", "succeeded": bool(found), "detail": found[:20]}]


def try_connect(target: str) -> dict:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            return {"target": target, "succeeded": True, "detail": "connected"}
    except OSError as err:
        return {"target": target, "succeeded": False, "detail": f"{type(err).__name__}: {err}"}


def network_view() -> dict:
    """Interfaces and whether a default route exists: no packet is sent to find out."""
    try:
        interfaces = sorted(os.listdir("/sys/class/net"))
    except OSError:
        interfaces = []
    try:
        routes = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        routes = []
    default = any(line.split()[1] == "00000000" for line in routes if len(line.split()) > 1)
    usable = [i for i in interfaces if i != "lo"]
    return {"target": "interfaces and routes", "succeeded": bool(usable) or default,
            "detail": {"interfaces": interfaces, "default_route": default}}


def try_write(path: str) -> dict:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("written by the hostile method\n")
        return {"target": path, "succeeded": True, "detail": "written"}
    except OSError as err:
        return {"target": path, "succeeded": False, "detail": f"{type(err).__name__}: {err}"}


def main(argv: list[str]) -> int:
    command, options = argv[0], dict(zip(argv[1::2], argv[2::2], strict=False))
    out = Path(options["--out"])
    out.mkdir(parents=True, exist_ok=True)
    if command == "train":
        params = json.loads(Path(options["--params"]).read_text()) if "--params" in options else {}
        (out / "plan.json").write_text(json.dumps(params))
        return 0
    plan = json.loads((Path(options["--model"]) / "plan.json").read_text())
    attempts = {
        "read_labels": [try_read(p) for p in plan.get("label_paths", [])]
        + hunt(plan.get("test_cases", []), [str(out), options["--images"]]),
        "network": [try_connect(t) for t in plan.get("connect_to", [])] + [network_view()],
        "write_outside": [try_write(p) for p in plan.get("write_targets", [])],
    }
    (out / "attempts.json").write_text(json.dumps(attempts, indent=2))
    print(json.dumps(attempts, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
