"""Overlays: a test case's image with the reference and prediction contours, as PNG files beside index.html.

For each case the axial slice with the most reference voxels (the prediction's when the reference is empty;
the middle slice when both are) is drawn at the in-plane aspect ratio of the voxel spacing; a volume of 16
slices or more (a 3D dataset) also gets the sagittal and coronal planes through the same structure, at their
own aspect ratios. Reference contours are solid, predictions dashed, one colour per structure.
Drawing is deterministic (Agg, fixed size, no date in the PNG): the same results give the same files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.report.inputs import OverlayCase
from harness.report.viewmodel import slug

COLOURS = ("#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de", "#ff9500", "#5ac8fa", "#ff2d55")
VOLUME_MIN_SLICES = 16


@dataclass(frozen=True)
class Overlay:
    """One drawn case: the PNG path relative to the site, and what the page says about it."""

    dataset: str
    entry: str
    case: str
    role: str
    value: float
    metric: str
    src: str
    views: str  # "axial slice 5" / "axial 40, sagittal 88, coronal 71"
    width: int
    height: int


def _read(path: str) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Array (z, y, x) and spacing (z, y, x) of a NIfTI file."""
    import SimpleITK as sitk

    image = sitk.ReadImage(path)
    array = sitk.GetArrayFromImage(image)
    if array.ndim == 2:
        array = array[None]
    spacing = tuple(float(s) for s in image.GetSpacing())
    if len(spacing) == 2:
        spacing = (*spacing, 1.0)
    return array, (spacing[2], spacing[1], spacing[0])


def _window(plane: np.ndarray) -> tuple[float, float]:
    finite = plane[np.isfinite(plane)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [1, 99])
    return float(low), float(high if high > low else low + 1)


def _planes(image: np.ndarray, reference: np.ndarray, prediction: np.ndarray,
            spacing: tuple[float, float, float]) -> list[tuple[str, int, tuple[slice | int, ...], float]]:
    """(name, index, numpy index, aspect = row spacing / column spacing) of each plane to draw."""
    focus = reference if reference.any() else prediction
    per_slice = focus.reshape(focus.shape[0], -1).sum(axis=1)
    z = int(np.argmax(per_slice)) if per_slice.any() else focus.shape[0] // 2
    planes: list[tuple[str, int, tuple[slice | int, ...], float]] = [
        ("axial", z, (z, slice(None), slice(None)), spacing[1] / spacing[2])]
    if image.shape[0] >= VOLUME_MIN_SLICES:
        if focus.any():
            zz, yy, xx = (int(round(float(c))) for c in np.argwhere(focus).mean(axis=0))
        else:
            zz, yy, xx = (s // 2 for s in focus.shape)
        planes.append(("sagittal", xx, (slice(None, None, -1), slice(None), xx), spacing[0] / spacing[1]))
        planes.append(("coronal", yy, (slice(None, None, -1), yy, slice(None)), spacing[0] / spacing[2]))
    return planes


def draw_overlay(case: OverlayCase, out: Path) -> tuple[str, int, int]:
    """Draw ``case`` into the PNG ``out``; returns (views, width, height) in pixels."""
    from harness.report.plots import _pyplot

    image, spacing = _read(case.images[0])
    reference, _ = _read(case.reference)
    prediction, _ = _read(case.prediction)
    if reference.shape != image.shape or prediction.shape != image.shape:
        raise ValueError(f"{case.case}: image {image.shape}, reference {reference.shape} and prediction "
                         f"{prediction.shape} differ in shape")
    structures = [(name, np.asarray(values)) for name, values in case.structures]
    colours = dict(zip([n for n, _ in structures], COLOURS * 4, strict=False))
    # the largest structure first: a small one (the LV inside the myocardium) is drawn over it, never hidden
    structures.sort(key=lambda item: -int(np.isin(reference, item[1]).sum()))
    planes = _planes(image, np.isin(reference, [v for _, vs in structures for v in vs]),
                     np.isin(prediction, [v for _, vs in structures for v in vs]), spacing)
    plt = _pyplot()
    widths = []
    for _name, _, index, aspect in planes:
        rows, cols = image[index].shape
        widths.append(cols / max(rows * aspect, 1e-6))
    height_in = 3.4
    width_in = min(12.0, max(3.8, sum(2.8 * w for w in widths) + 0.2))
    fig, axes = plt.subplots(1, len(planes), figsize=(width_in, height_in), squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    for ax, (name, number, index, aspect) in zip(axes[0], planes, strict=True):
        plane = image[index].astype(float)
        low, high = _window(plane)
        ax.imshow(plane, cmap="gray", vmin=low, vmax=high, aspect=aspect, interpolation="nearest")
        for order, (structure, values) in enumerate(structures):
            wider = 0.5 * (len(structures) - 1 - order)  # drawn earlier = wider: a shared edge shows both colours
            for mask, style, width in ((reference[index], "solid", 1.1 + wider), (prediction[index], [(0, (2, 1.5))], 0.9 + wider)):
                binary = np.isin(mask, values).astype(float)
                if binary.any() and min(binary.shape) > 1:
                    ax.contour(binary, levels=[0.5], colors=[colours[structure]], linewidths=width,
                               linestyles=style)
        ax.set_title(f"{name} {number}", fontsize=8)
        ax.set_axis_off()
    handles = [plt.Line2D([], [], color=colour, label=name) for name, colour in colours.items()]
    handles += [plt.Line2D([], [], color="#888", linestyle="solid", label="reference"),
                plt.Line2D([], [], color="#888", linestyle="dashed", label="prediction")]
    fig.legend(handles=handles, loc="lower center", ncol=min(5 if len(planes) == 1 else 8, len(handles)), fontsize=7,
               frameon=False, handlelength=1.6, columnspacing=0.8)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.92, bottom=0.16 if len(planes) > 1 else 0.2, wspace=0.04)
    out.parent.mkdir(parents=True, exist_ok=True)
    dpi = 150
    fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    from PIL import Image

    with Image.open(out) as png:  # shown at 100 px per inch: sharp on HiDPI screens
        width, height = (int(round(v * 100 / dpi)) for v in png.size)
    return ", ".join(f"{n} {i}" for n, i, _, _ in planes), width, height


def draw_overlays(cases: list[OverlayCase], site: Path) -> tuple[list[Overlay], list[str]]:
    """Every case drawn under ``site/images/``; returns the overlays and one line per case that could not be drawn."""
    drawn: list[Overlay] = []
    problems: list[str] = []
    for case in cases:
        relative = Path("images") / slug(case.dataset) / slug(case.entry) / f"{case.role}-{slug(case.case)}.png"
        try:
            views, width, height = draw_overlay(case, site / relative)
        except Exception as err:  # a missing or unreadable file: say so on the page, draw the rest
            problems.append(f"{case.dataset} · {case.entry} · {case.case}: {err}")
            continue
        drawn.append(Overlay(case.dataset, case.entry, case.case, case.role,
                             case.value if math.isfinite(case.value) else math.nan, case.metric,
                             relative.as_posix(), views, width, height))
    return drawn, problems
