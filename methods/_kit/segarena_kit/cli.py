"""The contract's command line (containers/CONTRACT.md), logging, threads and device of a torch method.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR [--params FILE (ignored)]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from segarena_kit.errors import MethodError

#: A command: the parsed arguments and the torch device (``None`` for a command that does not want torch).
Command = Callable[[argparse.Namespace, Any], None]


def contract_parser(name: str, add_commands: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    """``train`` and ``predict`` with the contract's arguments; ``add_commands(subparsers)`` adds a method's own."""
    parser = argparse.ArgumentParser(prog=name)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train on --data (imagesTr/labelsTr) into the model folder --out")
    train.add_argument("--data", required=True, type=Path)
    train.add_argument("--out", required=True, type=Path)
    train.add_argument("--val", type=Path)
    train.add_argument("--init", type=Path)
    train.add_argument("--params", type=Path)
    predict = sub.add_parser("predict", help="segment every case of --images with the model --model into --out")
    predict.add_argument("--images", required=True, type=Path)
    predict.add_argument("--model", required=True, type=Path)
    predict.add_argument("--out", required=True, type=Path)
    predict.add_argument("--params", type=Path,
                         help="accepted and ignored: predict uses the params the model was trained with")
    if add_commands is not None:
        add_commands(sub)
    return parser


def configure(name: str, *, torch_threads: bool = True) -> None:
    """Log lines to stdout (the job's log) as ``[name HH:MM:SS]``; torch threads from SEGARENA_THREADS."""
    # Libraries that read the user name at import (MONAI: getpass.getuser()) fail for a container user without
    # a passwd entry (the docker executor's uid): give them one through the variables getpass reads first.
    if not any(os.environ.get(k) for k in ("LOGNAME", "USER", "LNAME", "USERNAME")):
        os.environ["USER"] = "segarena"
    logging.basicConfig(level=logging.INFO, format=f"[{name} %(asctime)s] %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout, force=True)
    if torch_threads:
        import torch

        torch.set_num_threads(int(os.environ.get("SEGARENA_THREADS", os.cpu_count() or 1)))


def device() -> Any:
    """The GPU the executor gave (``cuda``), else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run_method(name: str, commands: Mapping[str, Command], argv: list[str] | None = None, *,
               add_commands: Callable[[Any], None] | None = None, without_torch: tuple[str, ...] = ()) -> int:
    """Parse ``argv`` (the contract's commands, plus ``add_commands``'), set up logging and torch (not for the
    commands in ``without_torch``: they get ``device=None``), run ``commands[<command>]``. A MethodError is one
    line on stderr and its exit status (2: bad input or params, 1: the run failed), anything else a traceback."""
    args = contract_parser(name, add_commands).parse_args(argv)
    uses_torch = args.command not in without_torch
    configure(name, torch_threads=uses_torch)
    try:
        commands[args.command](args, device() if uses_torch else None)
    except MethodError as err:
        print(f"{name} {args.command}: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code
    return 0


def run_package(package: str, argv: list[str] | None = None, *, commands: Mapping[str, Command] | None = None,
                add_commands: Callable[[Any], None] | None = None, without_torch: tuple[str, ...] = ()) -> int:
    """:func:`run_method` for a method laid out as the in-repo ones are, a package ``package/`` beside
    ``main.py`` with ``params.load_params(path)``, ``train.train(data, out, val, init, params, device)`` and
    ``predict.predict_folder(images, model, out, device)`` (each imported when its command runs); ``commands``
    adds or replaces commands."""
    import importlib

    def train(args: argparse.Namespace, device: Any) -> None:
        params = importlib.import_module(f"{package}.params").load_params(args.params)
        importlib.import_module(f"{package}.train").train(args.data, args.out, args.val, args.init, params, device)

    def predict(args: argparse.Namespace, device: Any) -> None:
        importlib.import_module(f"{package}.predict").predict_folder(args.images, args.model, args.out, device)

    return run_method(package, {"train": train, "predict": predict, **(commands or {})}, argv,
                      add_commands=add_commands, without_torch=without_torch)
