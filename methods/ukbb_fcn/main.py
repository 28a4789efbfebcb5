"""UK Biobank cardiac FCN (Bai et al., JCMR 2018): train and predict under the SegArena contract, and convert
the authors' TensorFlow checkpoint.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR
    main.py convert --checkpoint PREFIX --out FILE      (needs TensorFlow: the `convert` extra)

Runs inside the method's container (or as a local subprocess): train and predict import torch, SimpleITK,
numpy, the method kit (``segarena_kit``) and the package ``ukbb_fcn/`` beside this file, never the harness
and never TensorFlow. See README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Its own package, then the method kit: shipped beside this file (image, job copy), in ../_kit in the source tree.
sys.path[:0] = [str(HERE), str(HERE.parent / "_kit")]

from segarena_kit import run_package  # noqa: E402


def convert(args: Any, device: Any) -> None:
    import json

    from ukbb_fcn.convert import convert_checkpoint

    print(json.dumps(convert_checkpoint(args.checkpoint, args.out), indent=2))


def add_convert(sub: Any) -> None:
    c = sub.add_parser("convert", help="the authors' TensorFlow checkpoint -> a weights file for an init regime")
    c.add_argument("--checkpoint", required=True, type=Path, help="checkpoint prefix, e.g. trained_model/FCN_sa")
    c.add_argument("--out", required=True, type=Path, help="the state dict to write, e.g. ukbb_fcn_sa.pt")


if __name__ == "__main__":
    sys.exit(run_package("ukbb_fcn", commands={"convert": convert}, add_commands=add_convert, without_torch=("convert",)))
