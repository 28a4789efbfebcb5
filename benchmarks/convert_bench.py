"""Conversion speed of the kaggle_dsb adapter next to this machine's I/O floor, in one run.

    .venv/bin/python benchmarks/convert_bench.py [--subjects 20 --slices 10 --frames 30 --size 256 --workers 2]

Builds a synthetic DSB-like tree (16-bit signed DICOM, written by the test
generator ``tests/datasets/raw_kaggle_dsb.py``), then times, with the same
number of worker processes (one subject per task):

- the floor: read every DICOM with pydicom (``dcmread`` + ``pixel_array``) and write
  the same outputs (one ``.nii.gz`` per subject and frame, through the same
  ``write_image`` and compression as the adapter), nothing else;
- the adapter: ``convert_dataset`` with every curation step.

Throughput is DICOM bytes read per second. The target is adapter >= 50% of the floor.
Floor and adapter runs alternate ``--repeats`` times and the fastest run of each
counts (the machine may be shared); CPU seconds are printed alongside.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pydicom

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "datasets"))

from raw_kaggle_dsb import write_bench_tree  # noqa: E402

from harness.common.images import Geometry, ScalarImage, write_image  # noqa: E402
from harness.datasets import DatasetRegistry, convert_dataset  # noqa: E402


def floor_subject(study: Path, out: Path) -> int:
    """Read all pixel data of one subject and write one .nii.gz per frame; nothing else."""
    slices = []
    for folder in sorted(study.iterdir()):
        slices.append([pydicom.dcmread(f).pixel_array for f in sorted(folder.glob("*.dcm"))])
    n_frames = len(slices[0])
    geometry = Geometry.identity((1.4, 1.4, 10.0))
    for t in range(n_frames):
        volume = np.stack([frames[t] for frames in slices])
        write_image(ScalarImage(volume, geometry), out / f"{study.parent.name}_f{t:02d}_0000.nii.gz")
    return n_frames


def run_floor(raw: Path, out: Path, workers: int) -> None:
    studies = sorted(raw.glob("train/*/study"))
    out.mkdir(parents=True)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(floor_subject, studies, [out] * len(studies)))


def run_adapter(raw: Path, out: Path, workers: int) -> None:
    summary = convert_dataset(DatasetRegistry().adapter("kaggle_dsb"), raw, out, workers=workers)
    if summary.n_failed_subjects:
        raise SystemExit(f"benchmark conversion failed for {summary.n_failed_subjects} subject(s)")


def timed(run: Callable[[Path, Path, int], None], raw: Path, scratch: Path, workers: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process and its workers) of one run."""
    shutil.rmtree(scratch, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(raw, scratch, workers)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before, strict=True))
    shutil.rmtree(scratch, ignore_errors=True)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--slices", type=int, default=10)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: the system's)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="segarena_bench_", dir=args.tmp) as tmp:
        raw = Path(tmp) / "raw"
        n_bytes = write_bench_tree(raw, args.subjects, args.slices, args.frames, args.size)
        mb = n_bytes / 1e6
        n_files = args.subjects * args.slices * args.frames
        print(f"kaggle_dsb conversion benchmark: {args.subjects} subjects x {args.slices} slices x {args.frames} "
              f"frames of {args.size}x{args.size} int16 ({n_files} DICOM files, {mb:.1f} MB), {args.workers} workers")
        runs: dict[str, list[tuple[float, float]]] = {"floor": [], "adapter": []}
        for _ in range(args.repeats):  # interleaved, so a busy spell on a shared machine hits both alike
            runs["floor"].append(timed(run_floor, raw, Path(tmp) / "floor", args.workers))
            runs["adapter"].append(timed(run_adapter, raw, Path(tmp) / "out", args.workers))
    (floor_s, floor_cpu), (adapter_s, adapter_cpu) = min(runs["floor"]), min(runs["adapter"])
    floor_rate, adapter_rate = mb / floor_s, mb / adapter_s
    print(f"I/O floor (pydicom read + .nii.gz write): {floor_s:7.2f} s  {floor_rate:7.1f} MB/s  ({floor_cpu:.1f} CPU s)")
    print(f"kaggle_dsb adapter (convert_dataset):     {adapter_s:7.2f} s  {adapter_rate:7.1f} MB/s  "
          f"({adapter_cpu:.1f} CPU s)")
    ratio = adapter_rate / floor_rate
    print(f"adapter / floor: {100 * ratio:.0f}% (target >= 50%); best of {args.repeats} interleaved runs each")
    print(f"by CPU time (insensitive to other load): {100 * floor_cpu / adapter_cpu:.0f}%")
    return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
