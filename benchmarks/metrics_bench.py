"""Speed of the SegArena evaluator against medpy and DeepMind's surface-distance, same convention, same values.

Run: ``.venv/bin/python benchmarks/metrics_bench.py`` (needs the test extras:
medpy, surface-distance). Two synthetic cases:

(a) cine: a 10×256×256 short-axis stack, 3 labels (LV, MYO, RV), spacing (10, 1.25, 1.25) mm;
(b) atrium: an 88×640×640 left-atrium-like volume, 1 label, spacing 0.625 mm isotropic.

For each case it times the full set of distance metrics (HD, HD95, ASSD) per
case: medpy's ``hd``, ``hd95`` and ``assd`` per label against SegArena's
``medpy`` convention, and surface-distance's ``compute_surface_distances``
with ``compute_robust_hausdorff`` (100 and 95) and ``compute_average_surface_distance``
against SegArena's ``deepmind`` convention. It asserts that the values agree
to 1e-6 and prints seconds per case (best of 7 runs; 1 for medpy) and the speed-up. ``--quick`` skips medpy
on the atrium case (about a minute of medpy time).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from harness.metrics import MetricsSettings, evaluate_case

DISTANCE_METRICS = ["hd_mm", "hd95_mm", "assd_mm"]
REPEATS = 7  # best of this many runs (medpy: 1 run); the machine may be shared


def make_cine(seed: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[float, ...], dict[str, list[int]]]:
    """Reference and prediction of a synthetic short-axis cine frame (LV=1, MYO=2, RV=3)."""
    rng = np.random.default_rng(seed)
    shape = (10, 256, 256)
    z, y, x = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")

    def heart(shift: float, wobble: np.ndarray) -> np.ndarray:
        labels = np.zeros(shape, dtype=np.uint8)
        taper = 1.0 - 0.06 * z  # the ventricles narrow towards the apex
        radius = np.hypot(y - 120 - shift, x - 130) + wobble
        lv, myo = radius < 22 * taper, radius < 30 * taper
        rv = (np.hypot(y - 118, x - 92 - shift) < 32 * taper) & ~myo
        labels[myo], labels[lv], labels[rv] = 2, 1, 3
        labels[9] = 0  # below the apex
        return labels

    no_wobble = np.zeros(shape)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=(0.5, 6, 6)) * 20
    return heart(0.0, no_wobble), heart(1.5, noise), (10.0, 1.25, 1.25), {"LV": [1], "MYO": [2], "RV": [3]}


def make_atrium(seed: int = 1) -> tuple[np.ndarray, np.ndarray, tuple[float, ...], dict[str, list[int]]]:
    """Reference and prediction of a left-atrium-like body with four pulmonary veins (label 1)."""
    rng = np.random.default_rng(seed)
    shape = (88, 640, 640)
    box = (slice(10, 80), slice(200, 440), slice(200, 440))
    z, y, x = np.meshgrid(*[np.arange(s.start, s.stop, dtype=np.float32) for s in box], indexing="ij")
    body = ((z - 44) / 24) ** 2 + ((y - 320) / 70) ** 2 + ((x - 315) / 60) ** 2 <= 1
    for dy, dx in ((-40, -60), (-40, 60), (40, -60), (40, 60)):  # veins: tubes leaving the body
        body |= (np.hypot(y - 320 - dy, x - 315 - dx) < 9) & (np.abs(z - 40) < 18)
    reference = np.zeros(shape, dtype=np.uint8)
    reference[box] = body
    # the prediction: the surface moved in and out by smooth noise of about ±2 voxels, plus a spurious blob
    signed = ndimage.distance_transform_edt(~body) - ndimage.distance_transform_edt(body)
    bumps = ndimage.gaussian_filter(rng.standard_normal(body.shape).astype(np.float32), sigma=6)
    blob = ((z - 30) / 5) ** 2 + ((y - 400) / 8) ** 2 + ((x - 250) / 8) ** 2 <= 1
    prediction = np.zeros(shape, dtype=np.uint8)
    prediction[box] = (signed < 2.0 * bumps / bumps.std()) | blob
    return reference, prediction, (0.625, 0.625, 0.625), {"LA": [1]}


def timed(function: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def ours(convention: str, reference: np.ndarray, prediction: np.ndarray, spacing: tuple[float, ...],
         structures: dict[str, list[int]], names: list[str] = DISTANCE_METRICS) -> dict[tuple[str, str], float]:  # fmt: skip
    settings = MetricsSettings(convention=convention, names=names)
    rows = evaluate_case(reference, prediction, spacing, structures, settings)
    return {(r.label, r.metric): r.value for r in rows}


def medpy_values(reference: np.ndarray, prediction: np.ndarray, spacing: tuple[float, ...],
                 structures: dict[str, list[int]]) -> dict[tuple[str, str], float]:  # fmt: skip
    from medpy.metric import binary

    values = {}
    for name, labels in structures.items():
        ref, pred = np.isin(reference, labels), np.isin(prediction, labels)
        values[(name, "hd_mm")] = binary.hd(pred, ref, voxelspacing=spacing)
        values[(name, "hd95_mm")] = binary.hd95(pred, ref, voxelspacing=spacing)
        values[(name, "assd_mm")] = binary.assd(pred, ref, voxelspacing=spacing)
    return values


def surface_distance_values(reference: np.ndarray, prediction: np.ndarray, spacing: tuple[float, ...],
                            structures: dict[str, list[int]]) -> dict[tuple[str, str], float]:  # fmt: skip
    import surface_distance as sd

    values = {}
    for name, labels in structures.items():
        ref, pred = np.isin(reference, labels), np.isin(prediction, labels)
        distances = sd.compute_surface_distances(ref, pred, spacing)
        values[(name, "hd_mm")] = sd.compute_robust_hausdorff(distances, 100)
        values[(name, "hd95_mm")] = sd.compute_robust_hausdorff(distances, 95)
        areas = np.concatenate([distances["surfel_areas_gt"], distances["surfel_areas_pred"]])
        pooled = np.concatenate([distances["distances_gt_to_pred"], distances["distances_pred_to_gt"]])
        values[(name, "assd_mm")] = float(np.sum(pooled * areas) / np.sum(areas))
    return values


def assert_agree(ours_values: dict[tuple[str, str], float], theirs: dict[tuple[str, str], float], what: str) -> None:
    for key, value in theirs.items():
        assert abs(ours_values[key] - value) <= 1e-6 * max(1.0, abs(value)), (what, key, ours_values[key], value)


def run_case(title: str, case: tuple, run_medpy: bool) -> None:
    reference, prediction, spacing, structures = case
    print(f"\n{title}: shape {reference.shape}, spacing {spacing} mm, structures {list(structures)}")
    t_all, _ = timed(lambda: evaluate_case(reference, prediction, spacing, structures), repeat=REPEATS)
    print(f"  segarena, all 14 metrics:                 {t_all:8.3f} s per case")
    t_ours_md, v_ours_md = timed(lambda: ours("medpy", reference, prediction, spacing, structures), repeat=REPEATS)
    if run_medpy:
        t_medpy, v_medpy = timed(lambda: medpy_values(reference, prediction, spacing, structures))
        assert_agree(v_ours_md, v_medpy, "medpy")  # type: ignore[arg-type]
        print(f"  HD+HD95+ASSD medpy 0.5.2:                 {t_medpy:8.3f} s per case")
        print(f"  HD+HD95+ASSD segarena (medpy convention): {t_ours_md:8.3f} s per case  "
              f"-> {t_medpy / t_ours_md:6.1f}x faster (values agree to 1e-6)")  # fmt: skip
    else:
        print(f"  HD+HD95+ASSD segarena (medpy convention): {t_ours_md:8.3f} s per case  (medpy skipped: --quick)")
    t_ours_dm, v_ours_dm = timed(lambda: ours("deepmind", reference, prediction, spacing, structures), repeat=REPEATS)
    t_sd, v_sd = timed(lambda: surface_distance_values(reference, prediction, spacing, structures), repeat=REPEATS)
    assert_agree(v_ours_dm, v_sd, "surface-distance")  # type: ignore[arg-type]
    print(f"  HD+HD95+ASSD surface-distance 0.1:        {t_sd:8.3f} s per case")
    print(f"  HD+HD95+ASSD segarena (deepmind conv.):   {t_ours_dm:8.3f} s per case  "
          f"-> {t_sd / t_ours_dm:6.1f}x faster (values agree to 1e-6)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip medpy on the large atrium case")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import medpy.metric.binary  # noqa: F401  (imported before timing)
    import surface_distance  # noqa: F401

    run_case("(a) cine", make_cine(), run_medpy=True)
    run_case("(b) atrium", make_atrium(), run_medpy=not args.quick)


if __name__ == "__main__":
    main()
