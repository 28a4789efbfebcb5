"""Write a tiny 2018 Atrial Segmentation Challenge raw tree: real NRRD headers via pynrrd.

Layout: ``<root>/Training Set/<case>/{lgemri,laendo}.nrrd`` and ``<root>/Testing Set/<case>/lgemri.nrrd``.
Each case's expected arrays (z, y, x) and ITK/LPS geometry are returned so tests can compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nrrd
import numpy as np

SHAPE_ZYX = (6, 12, 14)  # LASC volumes have 88 slices; tiny here


@dataclass(frozen=True)
class LaCase:
    case: str
    folder: Path
    image: np.ndarray  # (z, y, x) uint8
    mask: np.ndarray | None  # (z, y, x) 0/1, None for a test case
    spacing_mm: tuple[float, float, float]  # ITK (x, y, z)
    origin_lps_mm: tuple[float, float, float]
    direction_lps: tuple[float, ...]  # row-major 3x3, columns are the axis directions


def _rotation_z(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])


def _volumes(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.meshgrid(*(np.arange(n) for n in SHAPE_ZYX), indexing="ij")
    cz, cy, cx = 2.5 + rng.uniform(-0.5, 0.5), 6 + rng.uniform(-1, 1), 7 + rng.uniform(-1, 1)
    mask = (((zz - cz) / 2.2) ** 2 + ((yy - cy) / 3.5) ** 2 + ((xx - cx) / 4.0) ** 2 <= 1).astype(np.uint8)
    image = (40 + 120 * mask + rng.integers(0, 30, SHAPE_ZYX)).astype(np.uint8)
    return image, mask


def _header(space: str, directions: np.ndarray, origin: np.ndarray) -> dict[str, object]:
    """directions: (3 axes, 3 space components), rows are the x, y, z axis vectors in ``space``."""
    return {
        "space": space,
        "space directions": directions,
        "space origin": origin,
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
    }


def _write(path: Path, array_zyx: np.ndarray, header: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nrrd.write(str(path), np.ascontiguousarray(array_zyx.transpose(2, 1, 0)), header)  # pynrrd: (x, y, z)


def _case(
    root: Path, split: str, name: str, seed: int, space: str, spacing: tuple[float, float, float],
    origin: tuple[float, float, float], rotation_deg: float, with_mask: bool, mask_255: bool = True,
) -> LaCase:
    folder = root / split / name
    image, mask = _volumes(seed)
    rotation = _rotation_z(rotation_deg)
    axes = (rotation * np.asarray(spacing)).T  # row k = axis k's vector = spacing_k * column k of rotation
    header = _header(space, axes, np.asarray(origin, dtype=float))
    _write(folder / "lgemri.nrrd", image, header)
    if with_mask:
        _write(folder / "laendo.nrrd", (mask * (255 if mask_255 else 1)).astype(np.uint8), header)
    flip = np.array([-1.0, -1.0, 1.0]) if space == "right-anterior-superior" else np.ones(3)
    direction = flip[:, None] * rotation  # columns: axis directions in LPS
    return LaCase(
        case=name, folder=folder, image=image, mask=mask if with_mask else None, spacing_mm=spacing,
        origin_lps_mm=tuple(float(v) for v in flip * np.asarray(origin)),
        direction_lps=tuple(float(v) for v in direction.ravel()),
    )


def write_la2018(root: Path) -> dict[str, LaCase]:
    """Three good training cases (LPS, rotated LPS, RAS header) and one test case."""
    cases = [
        _case(root, "Training Set", "0RZDK210BSMWAA6467LU", 1, "left-posterior-superior",
              (0.625, 0.625, 0.625), (-120.0, -80.5, 30.25), 0.0, True),
        _case(root, "Training Set", "1D7CUD1955YZPGK8XHJX", 2, "left-posterior-superior",
              (0.625, 0.7, 1.25), (10.0, 20.0, -5.0), 30.0, True),
        _case(root, "Training Set", "2XL2P3P6XWQ2L8MYJ1QF", 3, "right-anterior-superior",
              (0.6, 0.6, 0.8), (100.0, 50.0, 12.0), -15.0, True),
        _case(root, "Testing Set", "4URSJYI2QUH1T5S5PP47", 4, "left-posterior-superior",
              (0.625, 0.625, 0.625), (0.0, 0.0, 0.0), 0.0, False),
    ]
    return {c.case: c for c in cases}


def add_bad_cases(root: Path) -> dict[str, str]:
    """Add broken cases; returns case → the file the error must name."""
    bad: dict[str, str] = {}
    # a mask stored as 0/1 instead of 0/255 (value 1 is outside LASC's map)
    c = _case(root, "Training Set", "BADVALUES0000000000A", 5, "left-posterior-superior",
              (0.625, 0.625, 0.625), (0.0, 0.0, 0.0), 0.0, True, mask_255=False)
    bad[c.case] = str(c.folder / "laendo.nrrd")
    # a mask on a different grid (other origin)
    c = _case(root, "Training Set", "BADGRID0000000000000", 6, "left-posterior-superior",
              (0.625, 0.625, 0.625), (0.0, 0.0, 0.0), 0.0, True)
    _, mask = _volumes(6)
    shifted = _header("left-posterior-superior", np.diag([0.625, 0.625, 0.625]), np.array([5.0, 0.0, 0.0]))
    _write(c.folder / "laendo.nrrd", mask * 255, shifted)
    bad[c.case] = str(c.folder / "laendo.nrrd")
    # a truncated image (download cut short)
    c = _case(root, "Training Set", "TRUNCATED00000000000", 7, "left-posterior-superior",
              (0.625, 0.625, 0.625), (0.0, 0.0, 0.0), 0.0, True)
    path = c.folder / "lgemri.nrrd"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    bad[c.case] = str(path)
    return bad
