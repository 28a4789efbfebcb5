"""VNet method (3D): train and predict under the SegArena contract.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR

Runs inside the method's container (or as a local subprocess): it imports
torch, MONAI, SimpleITK, scipy, numpy and its own
package ``vnet/`` beside this file, never the harness. See README.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

log = logging.getLogger("vnet")


def configure() -> None:
    """Log lines to stdout (the job's log); torch threads from SEGARENA_THREADS (default: all cores)."""
    # MONAI reads the user name at import (getpass.getuser()); a container user without a passwd entry
    # (the docker executor's uid) has none, so give it one through the environment getpass reads first.
    if not any(os.environ.get(k) for k in ("LOGNAME", "USER", "LNAME", "USERNAME")):
        os.environ["USER"] = "segarena"

    import torch

    logging.basicConfig(level=logging.INFO, format="[vnet %(asctime)s] %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout, force=True)
    torch.set_num_threads(int(os.environ.get("SEGARENA_THREADS", os.cpu_count() or 1)))


def device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vnet")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True, type=Path)
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--val", type=Path)
    t.add_argument("--init", type=Path)
    t.add_argument("--params", type=Path)
    p = sub.add_parser("predict")
    p.add_argument("--images", required=True, type=Path)
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--params", type=Path, help="accepted and ignored: predict uses the params the model was trained with")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from vnet.errors import MethodError

    configure()
    try:
        if args.command == "train":
            from vnet.params import load_params
            from vnet.train import train

            train(args.data, args.out, args.val, args.init, load_params(args.params), device())
        else:
            from vnet.predict import predict_folder

            predict_folder(args.images, args.model, args.out, device())
    except MethodError as err:
        print(f"vnet {args.command}: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
