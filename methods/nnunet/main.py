"""nnU-Net v2 under the SegArena contract: plan, preprocess, train fold 0 on SegArena's split, predict.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR

Runs inside the method's container (or as a local subprocess): it imports
nnunetv2, torch, numpy, the method kit (``segarena_kit``: its command line and
errors; nnU-Net's processes and threads are set here, before torch loads) and its
own package ``segarena_nnunet/`` beside this file, never the harness. The seed comes from ``SEGARENA_SEED``, the thread
budget from ``SEGARENA_THREADS``; a GPU is used when torch sees one. See README.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Its own package, then the method kit: shipped beside this file (image, job copy), in ../_kit in the source tree.
sys.path[:0] = [str(HERE), str(HERE.parent / "_kit")]

from segarena_kit import MethodError, contract_parser  # noqa: E402

log = logging.getLogger("nnunet")


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
    args = contract_parser("nnunet").parse_args(argv)
    # Our messages at INFO; other libraries' (distutils lists every file nnU-Net copies) at WARNING.
    logging.basicConfig(level=logging.WARNING, format="[nnunet %(asctime)s] %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout, force=True)
    log.setLevel(logging.INFO)

    try:
        run(args)
    except MethodError as err:
        print(f"nnunet {args.command}: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
