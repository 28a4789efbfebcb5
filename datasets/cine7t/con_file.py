"""Read a Medis QMass ``.con`` contour export.

Structure (facts in ``shared/notes/formats.md`` section 1): CRLF text; header
lines ``key=value`` under ``[SECTION]`` lines; any number of blocks

    [XYCONTOUR]
    <slice> <frame> <type> 1.0      0-based slice and frame, contour type
    <n>                             number of points
    <x> <y>                         n lines, sub-pixel pixel coordinates (x = column)
    103                             then lines up to the next section are ignored
    0 0

The reader trusts ``<n>`` (as the independent readers do), never the trailing
lines. Header bytes that are not UTF-8 are dropped. Section names are not
interpreted: header keys are collected from every section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import InputDataError

LV_ENDO, LV_EPI, RV_EPI, RV_ENDO = 0, 1, 2, 5
TYPE_NAMES = {LV_ENDO: "LV endocardium", LV_EPI: "LV epicardium", RV_EPI: "RV epicardium", RV_ENDO: "RV endocardium"}
_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_RESOLUTION = re.compile(r"^\s*(?P<columns>\d+)\s*x\s*(?P<rows>\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ConContour:
    slice: int  # 0-based, in the .con file's own slice order
    frame: int  # 0-based cine frame
    type: int
    points_xy: np.ndarray  # (n, 2): x = column, y = row, pixels
    line: int  # 1-based line of the block's [XYCONTOUR]


@dataclass(frozen=True)
class ConFile:
    path: Path
    header: dict[str, str]
    contours: tuple[ConContour, ...]

    @property
    def image_resolution(self) -> tuple[int, int] | None:
        """(columns, rows) from ``Image_resolution=<columns>x<rows>``."""
        value = self.header.get("image_resolution")
        if value is None:
            return None
        match = _RESOLUTION.match(value)
        if not match:
            raise InputDataError(f"{self.path}: Image_resolution={value!r} is not <columns>x<rows>")
        return int(match["columns"]), int(match["rows"])

    def _phase(self, key: str) -> int | None:
        value = self.header.get(key, "").strip()
        if not value:
            return None
        try:
            return int(float(value))
        except ValueError as err:
            raise InputDataError(f"{self.path}: {key}={value!r} is not a frame number") from err

    @property
    def ed_frame(self) -> int | None:
        return self._phase("manual_lv_ed_phase")

    @property
    def es_frame(self) -> int | None:
        return self._phase("manual_lv_es_phase")


def _ints(fields: list[str]) -> list[int] | None:
    try:
        return [int(float(f)) for f in fields if float(f) == int(float(f))]
    except ValueError:
        return None


def read_con(path: Path) -> ConFile:
    """Parse one ``.con`` file; any structural problem raises InputDataError naming the file and line."""
    try:
        text = path.read_bytes().decode("utf-8", errors="ignore")
    except OSError as err:
        raise InputDataError(f"contour file {path}: cannot be read ({err})") from err
    lines = text.splitlines()  # CRLF, LF or CR
    header: dict[str, str] = {}
    contours: list[ConContour] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        section = _SECTION.match(line)
        if section and section["name"].strip().upper() == "XYCONTOUR":
            contour, index = _read_block(path, lines, index)
            contours.append(contour)
            continue
        if not section and "=" in line:
            key, _, value = line.partition("=")
            header.setdefault(key.strip().lower(), value.strip())
        index += 1
    if not header and not contours:
        raise InputDataError(f"contour file {path}: no `key=value` header and no [XYCONTOUR] block: not a Medis .con file")
    return ConFile(path, header, tuple(contours))


def _read_block(path: Path, lines: list[str], start: int) -> tuple[ConContour, int]:
    """Read the block whose ``[XYCONTOUR]`` is ``lines[start]``; return it and the index after it."""
    where = f"contour file {path.name} ({path})"
    if start + 2 >= len(lines):
        raise InputDataError(f"{where}: the [XYCONTOUR] block on line {start + 1} is cut off")
    fields = lines[start + 1].split()
    numbers = _ints(fields[:3]) if len(fields) >= 3 else None
    if numbers is None or len(numbers) != 3 or min(numbers) < 0:
        raise InputDataError(
            f"{where}: line {start + 2} should be `slice frame type 1.0` (non-negative integers), found {lines[start + 1]!r}"
        )
    slice_index, frame, kind = numbers
    try:
        n_points = int(lines[start + 2].strip())
    except ValueError as err:
        raise InputDataError(f"{where}: line {start + 3} should be the number of points, found {lines[start + 2]!r}") from err
    if n_points < 0:
        raise InputDataError(f"{where}: line {start + 3} declares {n_points} points")
    points = np.empty((n_points, 2), dtype=float)
    for k in range(n_points):
        number = start + 3 + k
        if number >= len(lines) or _SECTION.match(lines[number]):
            raise InputDataError(
                f"{where}: the [XYCONTOUR] block on line {start + 1} declares {n_points} points but only {k} follow"
            )
        values = lines[number].split()
        if len(values) % 2:
            raise InputDataError(
                f"{where} has an odd number of coordinates on line {number + 1} ({lines[number].strip()!r}); "
                "expected one `x y` pair per line"
            )
        if len(values) != 2:
            raise InputDataError(f"{where}: line {number + 1} holds {len(values)} numbers, expected one `x y` pair")
        try:
            points[k] = (float(values[0]), float(values[1]))
        except ValueError as err:
            raise InputDataError(f"{where}: line {number + 1} is not numeric: {lines[number].strip()!r}") from err
    if not np.all(np.isfinite(points)):
        raise InputDataError(f"{where}: the block on line {start + 1} holds a non-finite coordinate")
    index = start + 3 + n_points
    while index < len(lines) and not _SECTION.match(lines[index]):  # trailing `103` / `0 0` lines
        index += 1
    return ConContour(slice_index, frame, kind, points, start + 1), index
