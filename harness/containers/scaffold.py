"""``segarena method new NAME``: a method folder that already honours the contract.

The scaffold's entry script trains nothing and predicts background everywhere, so
``segarena method verify NAME`` passes on it at once; its author then replaces the two
functions. Files: method.yaml, main.py, requirements.txt, Dockerfile, test_method.py, README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.containers.bases import load_bases
from harness.errors import ConfigError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

_CARD = """\
name: {name}
title: {name} (describe the method in one line)
citation: ""
entry: main.py
image: segarena/{image}
dockerfile: Dockerfile
dimensionality: 2d
needs_training: true
output: masks
resources:
  gpu: 1          # GPU-capable: each job gets its own device when the executor has one (CUDA_VISIBLE_DEVICES), else the CPU
  cpus: 1         # CPU slots a job holds; its threads are SEGARENA_THREADS
  memory_gb: 2
  time_limit_s: 3600
params:
  seed: {{type: int, default: 0, help: "overridden by the benchmark's seed factor when one is set"}}
"""

_MAIN = '''\
"""{name}: train and predict under the SegArena contract (containers/CONTRACT.md).

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR

This scaffold learns nothing and predicts background everywhere: replace ``train`` and
``predict``. Never import the harness here; read only the folders you are given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk


def device() -> str:
    """"cuda" when the harness gave this job a GPU (``CUDA_VISIBLE_DEVICES`` names it), else "cpu" (the fallback).

    With torch: ``torch.device("cuda" if torch.cuda.is_available() else "cpu")``, and
    ``torch.set_num_threads(int(os.environ.get("SEGARENA_THREADS", "1")))``.
    """
    return "cuda" if os.environ.get("CUDA_VISIBLE_DEVICES", "") not in ("", "-1") else "cpu"


def train(args: argparse.Namespace) -> None:
    print(f"{name}: device {{device()}}, {{os.environ.get('SEGARENA_THREADS', '1')}} thread(s)", flush=True)
    params = json.loads(Path(args.params).read_text()) if args.params else {{}}
    params["seed"] = int(os.environ.get("SEGARENA_SEED", params.get("seed", 0)))
    meta = json.loads((Path(args.data) / "dataset.json").read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # A real method trains on args.data/imagesTr + labelsTr here and saves its weights in out.
    (out / "model.json").write_text(json.dumps({{"params": params, "labels": meta["labels"]}}, indent=2))
    print(f"{name}: trained on {{meta['numTraining']}} cases", flush=True)


def predict(args: argparse.Namespace) -> None:
    images, out = Path(args.images), Path(args.out)
    ending = json.loads((images / "dataset.json").read_text())["file_ending"]
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(images.glob(f"*_0000{{ending}}")):
        case = path.name[: -len(ending) - 5]
        image = sitk.ReadImage(str(path))
        mask = np.zeros(sitk.GetArrayFromImage(image).shape, np.uint8)  # a real method predicts labels here
        result = sitk.GetImageFromArray(mask)
        result.CopyInformation(image)  # same geometry as the image: the contract checks it
        sitk.WriteImage(result, str(out / f"{{case}}{{ending}}"), useCompression=True)
        print(f"{name}: predicted {{case}}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="{name}")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--val")
    t.add_argument("--init")
    t.add_argument("--params")
    p = sub.add_parser("predict")
    p.add_argument("--images", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--params")
    args = parser.parse_args(argv)
    (train if args.command == "train" else predict)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

_REQUIREMENTS = """\
# Installed into the image (see Dockerfile); pin exact versions.
numpy==2.4.6
SimpleITK==2.5.7
"""

_DOCKERFILE = """\
# {name} under the SegArena contract (containers/CONTRACT.md).
# Build with `segarena containers build {name} [--wheelhouse DIR] [--base local]`: the context is this
# folder plus wheelhouse/ (empty: pip uses the index; wheels: offline, --no-index).
# For PyTorch, use the torch base of containers/bases.yaml instead; for MONAI, the torch-monai base.
ARG BASE_IMAGE={base}

# 1. The method's packages, in a venv that still sees the base's packages;
#    the folder's code minus the wheelhouse is what stage 2 copies.
FROM ${{BASE_IMAGE}} AS deps
COPY . /build/
RUN python3 -m venv --system-site-packages /opt/method \\
 && /opt/method/bin/python -m pip install --no-cache-dir --disable-pip-version-check \\
      $(ls /build/wheelhouse/*.whl >/dev/null 2>&1 && echo --no-index --find-links /build/wheelhouse) \\
      -r /build/requirements.txt \\
 && rm -rf /build/wheelhouse /build/Dockerfile

# 2. The image: the base, that venv and the code; no wheelhouse layer.
FROM ${{BASE_IMAGE}}
COPY --from=deps /opt/method /opt/method
COPY --from=deps /build /opt/method/code
ENV PATH=/opt/method/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["/opt/method/bin/python", "/opt/method/code/main.py"]
"""

_TEST = '''\
"""{name} honours the contract on synthetic cases (run: pytest {folder}/test_method.py)."""

from __future__ import annotations

import subprocess
import sys


def test_verify_local() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "harness.cli.main", "method", "verify", "{name}", "--executor", "local",
         "--methods-dir", "{into}"],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
'''

_README = """\
# {name}

A SegArena method: `method.yaml` (its card), `main.py` (the entry point run as
`main.py train|predict ...` inside the container), `requirements.txt` and `Dockerfile`.

    segarena method verify {name}                        # local subprocess
    segarena containers build {name} && segarena method verify {name} --executor docker
"""


def scaffold_method(name: str, into: Path) -> Path:
    """Write a new method folder ``into/name``; refuses to overwrite an existing one."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"method name {name!r}: use 2-41 lower-case letters, digits and underscores, "
                          "starting with a letter (variants are parameters, not names)")
    folder = into / name
    if folder.exists():
        raise ConfigError(f"{folder} already exists; choose another name or remove it")
    base = load_bases()["python"].official
    files = {
        "method.yaml": _CARD.format(name=name, image=name.replace("_", "-")),
        "main.py": _MAIN.format(name=name),
        "requirements.txt": _REQUIREMENTS,
        "Dockerfile": _DOCKERFILE.format(name=name, base=base),
        "test_method.py": _TEST.format(name=name, folder=folder, into=into.resolve()),
        "README.md": _README.format(name=name),
    }
    folder.mkdir(parents=True)
    for file_name, text in files.items():
        (folder / file_name).write_text(text)
    return folder
