"""Which image goes where: slices from DICOM tags, repeated series, duplicates, gaps and frames.

Everything here works on headers only (no pixels) and reports each change it
makes as a :class:`ConversionEvent`. The steps, in the order the adapter runs them:

1. :func:`build_stacks` – one stack per slice (series folder, series, 4-part sub-index,
   SliceLocation), frames in TriggerTime order. (Then ``grid.common_orientation`` drops
   slices not parallel to the most common plane.)
2. :func:`split_repeated_series` – complete repeated stacks become subjects ``_a``, ``_b``.
3. :func:`remove_duplicate_locations` – two slices < 1 mm apart: the later series stays.
4. :func:`empirical_slice_spacing` and :func:`regularise_slices` – interspersed slices and
   outliers removed, a single missing slice filled with a copy of its neighbour.
5. :func:`assign_frames` – every slice gets the subject's frame count (copies fill gaps).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING

from harness.common.records import ConversionEvent
from harness.errors import InputDataError

if TYPE_CHECKING:
    from segarena_datasets.kaggle_dsb.dicom_reader import DicomImage

LOCATION_TOL_MM = 1.0  # slices closer than this are the same location
TRIGGER_TOL_MS = 1e-3


@dataclass(eq=False)
class Stack:
    """One acquired slice: the images of one series at one location, in TriggerTime order."""

    images: list[DicomImage]

    @property
    def first(self) -> DicomImage:
        return self.images[0]

    @property
    def location_mm(self) -> float:
        return self.first.slice_location_mm

    @property
    def acquisition_key(self) -> tuple[int, int, int]:
        return min(image.acquisition_key for image in self.images)

    @property
    def label(self) -> str:
        sub = f"-{self.first.sub_index:04d}" if self.first.sub_index else ""
        return f"{self.first.folder} (series {self.first.series_number}{sub}, {self.location_mm:g} mm)"


@dataclass(eq=False)
class Slice:
    """One slice of the output volume: a stack, or a copy of one filling a gap."""

    stack: Stack
    location_mm: float
    copied: bool = False
    frames: list[int] = field(default_factory=list)  # stack image index of each output frame


def _event(subject: str, problem: str, resolution: str, detail: str, file: str = "", severity: str = "info") -> ConversionEvent:
    return ConversionEvent(subject, problem, resolution, detail, file, severity)


def build_stacks(images: list[DicomImage], subject: str) -> tuple[list[Stack], list[ConversionEvent]]:
    """Group images into slices and sort each slice's frames by TriggerTime."""
    groups: dict[tuple[str, int, int, float], list[DicomImage]] = defaultdict(list)
    for image in images:
        key = (image.folder, image.series_number, image.sub_index, round(image.slice_location_mm, 3))
        groups[key].append(image)
    stacks: list[Stack] = []
    events: list[ConversionEvent] = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda im: (im.trigger_time_ms, im.acquisition_key))
        reference = members[0]
        for image in members[1:]:
            for attribute, tag in (("pixel_spacing_mm", "PixelSpacing"), ("rows", "Rows"), ("columns", "Columns")):
                if getattr(image, attribute) != getattr(reference, attribute):
                    raise InputDataError(
                        f"{image.rel}: inconsistent spacing within one slice: {tag} {getattr(image, attribute)} "
                        f"differs from {getattr(reference, attribute)} in {reference.rel} (same series and "
                        f"SliceLocation {reference.slice_location_mm:g} mm)"
                    )
        kept: list[DicomImage] = []
        for image in members:
            if kept and abs(image.trigger_time_ms - kept[-1].trigger_time_ms) < TRIGGER_TOL_MS:
                dropped, kept[-1] = (kept[-1], image) if image.acquisition_key > kept[-1].acquisition_key else (image, kept[-1])
                events.append(_event(subject, "repeated frame", "kept the later image",
                                     f"{dropped.rel} and {kept[-1].rel} share TriggerTime {image.trigger_time_ms:g} ms",
                                     dropped.rel, "warning"))
            else:
                kept.append(image)
        stacks.append(Stack(kept))
    projected = [image for image in images if image.slice_location_from_position]
    if projected:
        events.append(_event(subject, "SliceLocation missing", "projected ImagePositionPatient on the slice normal",
                             f"{len(projected)} of {len(images)} images, e.g. {projected[0].rel}", projected[0].rel))
    return stacks, events


def _span(stacks: list[Stack]) -> tuple[float, float]:
    locations = [s.location_mm for s in stacks]
    return min(locations), max(locations)


def _is_regular(locations: list[float]) -> bool:
    """No two slices at one location, and every gap within 1 mm of the most common gap."""
    gaps = [b - a for a, b in zip(sorted(locations), sorted(locations)[1:], strict=False)]
    if not gaps:
        return True
    spacing = _mode_smallest([round(g, 2) for g in gaps])
    return min(gaps) >= LOCATION_TOL_MM and all(abs(g - spacing) <= LOCATION_TOL_MM for g in gaps)


def _series_text(stacks: list[Stack]) -> str:
    numbers = sorted({s.first.series_number for s in stacks})
    return f"series {numbers[0]}" if len(numbers) == 1 else f"series {numbers[0]}-{numbers[-1]}"


def split_repeated_series(stacks: list[Stack], subject: str) -> tuple[list[tuple[str, list[Stack]]], list[ConversionEvent]]:
    """Split a subject whose whole stack was acquired twice (or more) into ``_a``, ``_b``, ...

    Series are taken in acquisition order; a series that returns into the
    location range already covered by the current run starts a new run. Runs
    with at least max(3, half the largest run's) slices are complete. Two or
    more complete runs that overlap (by at least half the shorter span) and
    that would not form one regular stack together (they collide or their
    spacings disagree) are repeats: each becomes its own subject. Short runs
    (a single re-acquired slice) stay with the preceding complete run.
    """
    units: dict[tuple[str, int], list[Stack]] = defaultdict(list)
    for stack in stacks:
        units[(stack.first.folder, stack.first.series_number)].append(stack)
    runs: list[list[Stack]] = []
    for unit in sorted(units.values(), key=lambda u: min(s.acquisition_key for s in u)):
        if runs:
            low, high = _span(runs[-1])
            if not any(low - LOCATION_TOL_MM <= s.location_mm <= high + LOCATION_TOL_MM for s in unit):
                runs[-1].extend(unit)
                continue
        runs.append(list(unit))
    n_locations = [len({round(s.location_mm) for s in run}) for run in runs]
    threshold = max(3, math.ceil(0.5 * max(n_locations)))
    complete = [i for i, n in enumerate(n_locations) if n >= threshold]
    if len(complete) < 2:
        return [(subject, stacks)], []
    spans = [_span(runs[i]) for i in complete]
    for (a_low, a_high), (b_low, b_high) in zip(spans, spans[1:], strict=False):
        shorter = min(a_high - a_low, b_high - b_low)
        if min(a_high, b_high) - max(a_low, b_low) < 0.5 * shorter:
            return [(subject, stacks)], []
    if _is_regular([s.location_mm for i in complete for s in runs[i]]):
        return [(subject, stacks)], []  # interleaved acquisition of one stack, not a repeat
    groups: list[list[Stack]] = [list(runs[i]) for i in complete]
    for i, run in enumerate(runs):
        if i not in complete:
            before = [k for k, c in enumerate(complete) if c < i]
            groups[before[-1] if before else 0].extend(run)
    names = [f"{subject}_{chr(ord('a') + k)}" for k in range(len(groups))]
    detail = "; ".join(f"{name}: {_series_text(g)}, {len(g)} slices" for name, g in zip(names, groups, strict=True))
    event = _event(subject, "repeated complete series", f"split into subjects {', '.join(names)}", detail)
    return list(zip(names, groups, strict=True)), [event]


def remove_duplicate_locations(stacks: list[Stack], subject: str) -> tuple[list[Stack], list[ConversionEvent]]:
    """Of two slices less than 1 mm apart keep the later acquisition (later series)."""
    ordered = sorted(stacks, key=lambda s: (s.location_mm, s.acquisition_key))
    kept: list[Stack] = []
    events: list[ConversionEvent] = []
    for stack in ordered:
        if kept and stack.location_mm - kept[-1].location_mm < LOCATION_TOL_MM:
            earlier, later = sorted((kept[-1], stack), key=lambda s: s.acquisition_key)
            kept[-1] = later
            events.append(_event(subject, "duplicate slice location", "kept the later series",
                                 f"removed {earlier.label}, kept {later.label}", earlier.first.rel))
        else:
            kept.append(stack)
    return kept, events


def _mode_smallest(values: list[float]) -> float:
    counts = Counter(values)
    top = max(counts.values())
    return min(v for v, n in counts.items() if n == top)


def empirical_slice_spacing(stacks: list[Stack], subject: str) -> tuple[float, list[ConversionEvent]]:
    """The mode of the SliceLocation differences rounded to 0.01 mm (smallest mode on ties)."""
    locations = sorted(s.location_mm for s in stacks)
    metadata = sorted({s.first.spacing_between_slices_mm for s in stacks} - {None})
    if len(locations) < 2:
        spacing = metadata[0] if metadata else 1.0
        return spacing, [_event(subject, "single slice", "slice spacing taken from SpacingBetweenSlices"
                                if metadata else "slice spacing set to 1 mm", f"{spacing:g} mm", severity="warning")]
    spacing = _mode_smallest([round(b - a, 2) for a, b in zip(locations, locations[1:], strict=False)])
    events = []
    if len(metadata) == 1 and abs(metadata[0] - spacing) > 0.1:
        events.append(_event(subject, "slice spacing: metadata differs", "used the empirical spacing",
                             f"{spacing:g} mm between SliceLocations vs SpacingBetweenSlices {metadata[0]:g} mm"))
    return spacing, events


def regularise_slices(stacks: list[Stack], spacing: float, subject: str) -> tuple[list[Slice], list[ConversionEvent]]:
    """Sort by location; drop interspersed and outlying slices; copy a neighbour into a single gap."""
    slices = [Slice(s, s.location_mm) for s in sorted(stacks, key=lambda s: s.location_mm)]
    events: list[ConversionEvent] = []

    def gaps() -> list[float]:
        return [b.location_mm - a.location_mm for a, b in zip(slices, slices[1:], strict=False)]

    def near(gap: float, target: float) -> bool:
        return abs(gap - target) <= LOCATION_TOL_MM

    changed = True
    while changed and len(slices) > 2:
        changed = False
        g = gaps()
        for i in range(len(g) - 1):
            if not near(g[i], spacing) and near(g[i] + g[i + 1], spacing):
                removed = slices.pop(i + 1)
                events.append(_event(subject, "interspersed slice", "slice removed",
                                     f"{removed.stack.label} lies between slices {spacing:g} mm apart",
                                     removed.stack.first.rel, "warning"))
                changed = True
                break
    filled: list[Slice] = slices[:1]
    for previous, current in zip(slices, slices[1:], strict=False):
        gap = current.location_mm - previous.location_mm
        if near(gap, 2 * spacing):
            filled.append(Slice(previous.stack, previous.location_mm + spacing, copied=True))
            events.append(_event(subject, "missing slice", "neighbour slice copied",
                                 f"gap of {gap:g} mm (expected {spacing:g}) after {previous.stack.label}",
                                 previous.stack.first.rel))
        filled.append(current)
    slices = filled
    while len(slices) > 1:
        g = gaps()
        big = [i for i, gap in enumerate(g) if gap > 2.5 * spacing]
        if not big:
            break
        i = big[0]
        lower, upper = slices[: i + 1], slices[i + 1 :]
        removed_part, slices = (lower, upper) if len(lower) < len(upper) else (upper, lower)
        for removed in removed_part:
            events.append(_event(subject, "slice spacing outlier", "slice removed",
                                 f"{removed.stack.label} is {g[i]:g} mm from the rest (expected {spacing:g})",
                                 removed.stack.first.rel, "warning"))
    for a, b in zip(slices, slices[1:], strict=False):
        gap = b.location_mm - a.location_mm
        if not near(gap, spacing):
            events.append(_event(subject, "irregular slice spacing", "kept; the volume assumes the common spacing",
                                 f"{gap:g} mm between {a.stack.label} and {b.stack.label} (expected {spacing:g})",
                                 b.stack.first.rel, "warning"))
    return slices, events


def assign_frames(slices: list[Slice], subject: str) -> tuple[int, list[ConversionEvent]]:
    """Give every slice the most common frame count; fill a missing frame from its neighbour."""
    counts = Counter(len(s.stack.images) for s in slices if not s.copied)
    n_frames = max(n for n, c in counts.items() if c == max(counts.values()))
    complete = [s.stack for s in slices if len(s.stack.images) == n_frames]
    reference = [median(st.images[t].trigger_time_ms for st in complete) for t in range(n_frames)]
    events: list[ConversionEvent] = []
    done: dict[int, list[int]] = {}
    for slice_ in slices:
        stack = slice_.stack
        if id(stack) in done:
            slice_.frames = done[id(stack)]
            continue
        n = len(stack.images)
        if n == n_frames:
            frames = list(range(n))
        elif n > n_frames:
            frames = list(range(n_frames))
            events.append(_event(subject, "extra frames", f"kept the first {n_frames} by TriggerTime",
                                 f"{stack.label} has {n} frames, the subject {n_frames}",
                                 stack.images[n_frames].rel, "warning"))
        else:
            frames = _fill_frames(stack, reference)
            missing = [t for t in range(n_frames) if t not in _placed(stack, reference)]
            events.append(_event(subject, "missing frame", "neighbour frame copied",
                                 f"{stack.label} has {n} of {n_frames} frames; frames {missing} are copies",
                                 stack.first.rel))
        done[id(stack)] = frames
        slice_.frames = frames
    return n_frames, events


def _placed(stack: Stack, reference: list[float]) -> list[int]:
    """The frame each image belongs to (nearest reference TriggerTime), or its rank if that is ambiguous."""
    slots = [min(range(len(reference)), key=lambda t: abs(reference[t] - im.trigger_time_ms)) for im in stack.images]
    if all(a < b for a, b in zip(slots, slots[1:], strict=False)):
        return slots
    return list(range(len(stack.images)))


def _fill_frames(stack: Stack, reference: list[float]) -> list[int]:
    slots = _placed(stack, reference)
    frames: list[int] = []
    for t in range(len(reference)):
        # the image whose slot is nearest to t (ties: the earlier one)
        frames.append(min(range(len(slots)), key=lambda i: (abs(slots[i] - t), slots[i])))
    return frames
