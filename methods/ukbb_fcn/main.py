"""UK Biobank cardiac FCN (Bai et al., JCMR 2018): train and predict under the SegArena contract, and convert
the authors' TensorFlow checkpoint.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR
    main.py convert --checkpoint PREFIX --out FILE      (needs TensorFlow: the `convert` extra)

Runs inside the method's container (or as a local subprocess): train and predict import torch, SimpleITK,
numpy and the package ``ukbb_fcn/`` beside this file, never the harness and never TensorFlow. See README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def configure() -> None:
    """Log lines to stdout (the job's log); torch threads from SEGARENA_THREADS (default: all cores)."""
    import torch

    logging.basicConfig(level=logging.INFO, format="[ukbb_fcn %(asctime)s] %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout, force=True)
    torch.set_num_threads(int(os.environ.get("SEGARENA_THREADS", os.cpu_count() or 1)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ukbb_fcn")
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
    c = sub.add_parser("convert", help="the authors' TensorFlow checkpoint -> a weights file for an init regime")
    c.add_argument("--checkpoint", required=True, type=Path, help="checkpoint prefix, e.g. trained_model/FCN_sa")
    c.add_argument("--out", required=True, type=Path, help="the state dict to write, e.g. ukbb_fcn_sa.pt")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from ukbb_fcn.errors import MethodError

    configure()
    try:
        if args.command == "train":
            import torch
            from ukbb_fcn.params import load_params
            from ukbb_fcn.train import train

            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            train(args.data, args.out, args.val, args.init, load_params(args.params), device)
        elif args.command == "predict":
            import torch
            from ukbb_fcn.predict import predict_folder

            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            predict_folder(args.images, args.model, args.out, device)
        else:
            from ukbb_fcn.convert import convert_checkpoint

            print(json.dumps(convert_checkpoint(args.checkpoint, args.out), indent=2))
    except MethodError as err:
        print(f"ukbb_fcn {args.command}: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
