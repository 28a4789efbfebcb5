"""MONAI SegResNet method (3D, multi-channel, regions): train and predict under the SegArena contract.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR

Runs inside the method's container (or as a local subprocess): it imports
torch, MONAI, SimpleITK, numpy, the method kit
(``segarena_kit``) and its own package ``segresnet/`` beside this file (``params``, ``train``, ``predict``: the
kit's ``run_package`` layout), never the harness. See README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Its own package, then the method kit: shipped beside this file (image, job copy), in ../_kit in the source tree.
sys.path[:0] = [str(HERE), str(HERE.parent / "_kit")]

from segarena_kit import run_package  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_package("segresnet"))
