"""Build the FCN and start its weights: scratch, the authors' published weights, or a fine-tune.

The ``--init DIR`` contract (the harness's transfer regimes, containers/CONTRACT.md): DIR holds ``init.json``
= ``{"kind": "imagenet" | "finetune", "file": NAME}`` and the file NAME.

- ``imagenet`` with a file (a regime ``init: imagenet`` with ``weights: FILE``): FILE is a full ukbb_fcn
  state dict, i.e. the authors' TensorFlow checkpoint converted by ``main.py convert`` (README.md). The
  network has no ImageNet encoder; "imagenet" is the contract's name for "published weights from a file".
  Every tensor must be there with its shape (strict): a partial or foreign file is refused, naming keys.
- ``finetune``: NAME is another ukbb_fcn job's ``model.pt``; loaded strictly as well.
- ``imagenet`` without a file ("the library's published weights") has no meaning here: refused with the
  command that makes a weights file.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import torch
from segarena_kit import MethodError, common_format

from ukbb_fcn.network import UKBBFCN

log = logging.getLogger("ukbb_fcn")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a file that is not a checkpoint
        raise MethodError(f"--init: cannot read {path} as a torch state dict ({type(err).__name__}: {err})") from err
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise MethodError(f"--init: {path} is not a state dict of tensors")
    return {str(k): v for k, v in raw.items()}


def load_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load every tensor; a missing, extra or mis-shaped one is an error naming it."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shapes = sorted(f"{k} {tuple(state[k].shape)} (expected {tuple(own[k].shape)})"
                    for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or extra or shapes:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
        if extra:
            parts.append(f"unknown {', '.join(extra[:8])}{' ...' if len(extra) > 8 else ''}")
        if shapes:
            parts.append(f"wrong shape {', '.join(shapes[:4])}")
        raise MethodError(f"--init: {path} does not fit the UK Biobank FCN ({'; '.join(parts)}); give a file written "
                          "by `main.py convert` or a ukbb_fcn model.pt with the same base_filters")
    model.load_state_dict(state, strict=True)


def read_init_json(folder: Path) -> tuple[str, Path]:
    kind, path = common_format.read_init_json(folder, without_file=(
        "ukbb_fcn has no library weights to fetch; convert the authors' checkpoint (python methods/ukbb_fcn/main.py "
        "convert --checkpoint .../FCN_sa --out ukbb_fcn_sa.pt) and give it as the regime's `weights:` file"))
    assert path is not None
    return kind, path


def create_model(params: dict[str, Any], init_dir: Path | None) -> tuple[UKBBFCN, dict[str, Any]]:
    """The network and a record of what it started from (``config.json``'s ``init``)."""
    model = UKBBFCN(int(params["base_filters"]))
    if init_dir is None:
        return model, {"kind": "scratch"}
    kind, path = read_init_json(init_dir)
    load_strict(model, load_state_file(path), path)
    source = "published weights (converted checkpoint)" if kind == "imagenet" else "fine-tune of a ukbb_fcn model"
    log.info("--init %s: loaded all %d tensors of %s (%s)", init_dir, len(model.state_dict()), path.name, source)
    return model, {"kind": kind, "file": path.name, "sha256": sha256_file(path), "source": source}
