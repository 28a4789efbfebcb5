"""nnU-Net v2 under the SegArena contract: plan, preprocess, train fold 0 on SegArena's split, predict.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR

Runs inside the method's container (or as a local subprocess): it imports
nnunetv2, torch, numpy and its own package ``segarena_nnunet/`` beside this
file, never the harness. The seed comes from ``SEGARENA_SEED``, the thread
budget from ``SEGARENA_THREADS``; a GPU is used when torch sees one. See README.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

log = logging.getLogger("nnunet")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nnunet")
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


def run(args: argparse.Namespace) -> None:
    from segarena_nnunet.workspace import configure_processes, thread_count

    threads = thread_count()
    if args.command == "train":
        from segarena_nnunet.params import load_params, seed_from_environment

        params = load_params(args.params)
        seed = seed_from_environment()
        configure_processes(1 if params["fast_cpu"] else threads)
    else:
        from segarena_nnunet.predict import read_model_config

        read_model_config(args.model)  # fail fast, before the heavy imports
        configure_processes(threads)  # at predict this is also nnU-Net's cap on torch threads
    import torch

    torch.set_num_threads(threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log.info("%s on %s with %d thread(s)", args.command, device, threads)
    if args.command == "train":
        from segarena_nnunet.train import train

        train(args.data, args.val, args.out, args.init, params, seed, device, threads)
    else:
        from segarena_nnunet.predict import predict_folder

        predict_folder(args.images, args.model, args.out, device, threads)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Our messages at INFO; other libraries' (distutils lists every file nnU-Net copies) at WARNING.
    logging.basicConfig(level=logging.WARNING, format="[nnunet %(asctime)s] %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout, force=True)
    log.setLevel(logging.INFO)
    from segarena_nnunet.errors import MethodError

    try:
        run(args)
    except MethodError as err:
        print(f"nnunet {args.command}: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
