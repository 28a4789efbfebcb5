"""Read one Sunnybrook contour text file: one ``x y`` point per line, pixel units."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.errors import InputDataError


def read_contour_points(path: Path) -> np.ndarray:
    """The polygon's vertices as an ``(n, 2)`` array of ``x`` (column), ``y`` (row).

    Blank lines are skipped. A line that does not hold exactly two numbers is
    an error naming the file and the line.
    """
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as err:
        raise InputDataError(f"contour file {path}: cannot be read ({err})") from err
    points: list[tuple[float, float]] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.replace(",", " ").split()
        if not fields:
            continue
        try:
            values = [float(v) for v in fields]
        except ValueError as err:
            raise InputDataError(
                f"contour file {path.name} ({path}): line {line_number} is not numeric: {line.strip()!r}"
            ) from err
        if len(values) % 2:
            raise InputDataError(
                f"contour file {path.name} ({path}) has an odd number of coordinates on line {line_number} "
                f"({line.strip()!r}); expected one `x y` pair per line"
            )
        if len(values) != 2:
            raise InputDataError(
                f"contour file {path.name} ({path}): line {line_number} holds {len(values)} numbers, expected one "
                "`x y` pair per line"
            )
        if not all(np.isfinite(values)):
            raise InputDataError(f"contour file {path.name} ({path}): line {line_number} holds a non-finite value")
        points.append((values[0], values[1]))
    return np.array(points, dtype=float).reshape(-1, 2)
