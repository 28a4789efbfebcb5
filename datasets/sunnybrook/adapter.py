"""Adapter of the Sunnybrook Cardiac Data: DICOM cine + manual contour text files → one case per (subject, frame).

See README.md for the rules (series choice, image linking, rasterisation, ED/ES).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.common.dataset import write_case_files
from harness.common.images import LabelMap, ScalarImage
from harness.common.records import CaseRecord, ConversionEvent
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import InputDataError
from segarena_datasets.shared import dicom_stack, polygon
from segarena_datasets.sunnybrook import contours as contour_text
from segarena_datasets.sunnybrook import layout

SITE = "Sunnybrook Health Sciences Centre"
MYOCARDIUM_DENSITY_G_PER_ML = 1.05
LV, MYO = 1, 2


def _relative(path: Path, raw: Path) -> str:
    try:
        return path.relative_to(raw).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass
class _Image:
    """One image of the short-axis series, with its place in the cine and its contours."""

    header: Any  # dicom_stack.DicomHeader
    slice_index: int  # along the slice normal, 0 = lowest position
    frame: int
    contours: dict[str, list[tuple[Path, np.ndarray]]] = field(default_factory=lambda: defaultdict(list))
    label: np.ndarray | None = None


def _fill(image: _Image, kind: str) -> np.ndarray:
    """Union of the image's contours of one kind, by the rule of ``shared/polygon.py``."""
    shape = (image.header.rows, image.header.columns)
    mask = np.zeros(shape, dtype=bool)
    for _, points in image.contours.get(kind, []):
        mask |= polygon.fill_polygon(points, shape)
    return mask


class Adapter(DatasetAdapter):
    """Options: ``sax_series`` (mapping case → SeriesNumber of its short-axis cine; default: chosen from the tags)."""

    def discover(self, raw: Path) -> list[RawSubject]:
        subjects = []
        for case in layout.find_cases(raw):
            contours = [(str(c.path), c.image_number, c.kind) for c in case.contours]
            files = tuple(case.image_dirs) + tuple(c.path for c in case.contours)
            extra = {"patient_id": case.patient_id, "image_dirs": [str(d) for d in case.image_dirs],
                     "contours": contours, "info": dict(case.info)}
            subjects.append(RawSubject(case.case, files, extra))
        return subjects

    # ------------------------------------------------------------------ conversion
    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        name = subject.subject
        extra = subject.extra
        result = SubjectResult()
        events = result.events

        def log(problem: str, resolution: str, detail: str = "", file: str = "", severity: str = "info") -> None:
            events.append(ConversionEvent(name, problem, resolution, detail, file, severity))

        contour_files = [(Path(p), int(n), str(k)) for p, n, k in extra["contours"]]
        image_dirs = [Path(d) for d in extra["image_dirs"]]
        if not image_dirs:
            looked_for = f"'{name}'" + (f" or patient id '{extra['patient_id']}'" if extra["patient_id"] else "")
            raise InputDataError(
                f"case {name}: contour files found (e.g. {contour_files[0][0]}) but no DICOM folder named {looked_for}; "
                "for the final_data and Cardiac Atlas layouts the id table (link.csv / scd_patientdata.csv) maps the "
                "DICOM folder to the case"
            )
        if len(image_dirs) > 1:
            log("several DICOM folders for one case", f"used {_relative(image_dirs[0], raw)}",
                "also found: " + ", ".join(_relative(d, raw) for d in image_dirs[1:]), severity="warning")
        image_dir = image_dirs[0]
        dicom_paths = sorted(p for p in image_dir.rglob("*") if p.suffix.lower() == ".dcm" and p.is_file())
        if not dicom_paths:
            raise InputDataError(f"case {name}: {image_dir} holds no .dcm files")
        headers = [dicom_stack.read_header(p) for p in dicom_paths]
        series = self._choose_series(name, image_dir, headers, contour_files, raw, log)
        images, n_phases = self._place_images(series, image_dir, log)
        by_instance = {image.header.instance_number: image for image in images}
        self._attach_contours(contour_files, by_instance, series, image_dir, raw, log)
        labelled_frames = self._rasterise(images, log)
        ed, es = self._infer_phases(images, labelled_frames, log)
        volumes_ml = self._write_cases(raw, out, name, images, labelled_frames, ed, es, log, result)
        result.subject_rows.append(self._subject_row(name, extra, series, images, n_phases, volumes_ml, ed, es))
        return result

    def _choose_series(self, name: str, image_dir: Path, headers: list[Any], contour_files: list[tuple[Path, int, str]],
                       raw: Path, log: Any) -> list[Any]:
        by_series: dict[str, list[Any]] = defaultdict(list)
        for header in headers:
            by_series[header.series_key].append(header)
        wanted = {number for _, number, _ in contour_files}
        forced = (self.options.get("sax_series") or {}).get(name)
        numbers = sorted({str(h.series_number) for h in headers})
        if forced is not None:
            chosen = [s for s in by_series.values() if s[0].series_number == int(forced)]
            if not chosen:
                raise InputDataError(
                    f"case {name}: option sax_series names series {forced}, but {image_dir} holds series {', '.join(numbers)}"
                )
            series = chosen[0]
        else:
            def rank(members: list[Any]) -> tuple[int, int, int]:
                instances = {h.instance_number for h in members}
                return (len(wanted & instances), len(dicom_stack.group_by_position(members)), len(members))

            series = max(by_series.values(), key=rank)
        if len(by_series) > 1:
            others = [f"{s[0].series_number} ({len(s)} images)" for s in by_series.values() if s is not series]
            log("several series in the DICOM folder",
                f"short-axis cine taken as series {series[0].series_number} ({len(series)} images)",
                "chosen: the series holding the contoured image numbers, then the most slice positions; "
                "ignored: " + ", ".join(others), _relative(image_dir, raw))
        for header in series:
            if header.instance_number is None:
                raise InputDataError(f"{header.path}: DICOM tag InstanceNumber is missing (needed to link contours)")
        return series

    def _place_images(self, series: list[Any], image_dir: Path, log: Any) -> tuple[list[_Image], int]:
        """Slice index from the position along the normal; frame = (InstanceNumber − 1) mod CardiacNumberOfImages."""
        dicom_stack.check_same_plane_grid(series)
        groups = dicom_stack.group_by_position(series)
        declared = {h.cardiac_number_of_images for h in series}
        if len(declared) == 1 and None not in declared and next(iter(declared)) > 0:
            n_phases = int(next(iter(declared)))  # type: ignore[arg-type]
        else:
            counts = {len(g) for g in groups}
            if len(counts) != 1:
                raise InputDataError(
                    f"{series[0].path}: DICOM tag CardiacNumberOfImages is missing or differs between images "
                    f"({sorted(str(d) for d in declared)}) and the slices hold different numbers of images "
                    f"({sorted(counts)}): cannot tell the cine frame of an image"
                )
            n_phases = counts.pop()
            log("CardiacNumberOfImages missing or inconsistent", f"{n_phases} frames per slice, counted from the images",
                file=str(series[0].path), severity="warning")
        images: list[_Image] = []
        seen: dict[tuple[int, int], Any] = {}
        slice_major_ok = True
        for slice_index, group in enumerate(groups):
            if len({(h.instance_number - 1) // n_phases for h in group}) > 1:
                slice_major_ok = False
            for header in sorted(group, key=lambda h: h.instance_number):
                frame = (header.instance_number - 1) % n_phases
                if (slice_index, frame) in seen:
                    raise InputDataError(
                        f"{header.path}: same slice position and cine frame {frame} as {seen[slice_index, frame].path} "
                        f"(InstanceNumber {header.instance_number} vs {seen[slice_index, frame].instance_number}): "
                        "duplicate image"
                    )
                seen[slice_index, frame] = header
                images.append(_Image(header, slice_index, frame))
        if not slice_major_ok:
            log("instance numbers are not slice-major", "slices placed by position, frames by InstanceNumber",
                f"(InstanceNumber − 1) // {n_phases} differs within one slice position", str(image_dir),
                severity="warning")
        for slice_index in range(len(groups)):
            times = [(i.frame, i.header.trigger_time_ms) for i in images if i.slice_index == slice_index]
            ordered = [t for _, t in sorted(times) if t is not None]
            if any(b < a for a, b in zip(ordered, ordered[1:], strict=False)):
                log("trigger times do not increase with the frame index", "kept the frame from InstanceNumber",
                    f"slice {slice_index}: {ordered}", str(image_dir), severity="warning")
                break
        return images, n_phases

    def _attach_contours(self, contour_files: list[tuple[Path, int, str]], by_instance: dict[int, _Image],
                         series: list[Any], image_dir: Path, raw: Path, log: Any) -> None:
        instances = sorted(by_instance)
        papillary = 0
        for path, number, kind in contour_files:
            image = by_instance.get(number)
            if image is None:
                raise InputDataError(
                    f"contour file {path.name} ({path}) refers to image {number}, but the short-axis series "
                    f"{series[0].series_number} in {image_dir} has no image with InstanceNumber {number} "
                    f"(it has {instances[0]}–{instances[-1]})"
                )
            if kind in ("p1", "p2"):
                papillary += 1
                continue
            points = contour_text.read_contour_points(path)
            if len(points) < 3:
                log("contour with fewer than 3 points", "contour ignored", f"{len(points)} points", _relative(path, raw),
                    severity="warning")
                continue
            rows, columns = image.header.rows, image.header.columns
            if (points.min(axis=0) < -0.5).any() or points[:, 0].max() > columns - 0.5 or points[:, 1].max() > rows - 0.5:
                log("contour extends beyond the image", "clipped to the image",
                    f"image is {columns}×{rows} (columns×rows)", _relative(path, raw), severity="warning")
            image.contours[kind].append((path, points))
        if papillary:
            log("papillary muscle contours", "ignored (not part of the label map)", f"{papillary} files")

    def _rasterise(self, images: list[_Image], log: Any) -> set[int]:
        """LV = inside the i-contour; MYO = inside the o-contour and outside the i-contour."""
        labelled: set[int] = set()
        endo_only: dict[int, list[int]] = defaultdict(list)
        for image in images:
            if not image.contours:
                continue
            shape = (image.header.rows, image.header.columns)
            endo, epi = _fill(image, "i"), _fill(image, "o")
            for kind, mask in (("i", endo), ("o", epi)):
                for path, _ in image.contours.get(kind, []):
                    if not mask.any():
                        raise InputDataError(
                            f"contour file {path.name} ({path}) encloses no pixel centre of its "
                            f"{shape[1]}×{shape[0]} image (coordinates off the image?)"
                        )
            if epi.any() and not endo.any():
                log("o-contour without i-contour", "MYO not drawn on this image (blood pool unknown)",
                    f"slice {image.slice_index} frame {image.frame}",
                    str(image.contours["o"][0][0]), severity="warning")
                epi[:] = False
            if not endo.any():
                continue
            if not epi.any():
                endo_only[image.frame].append(image.slice_index)
            label = np.zeros(shape, dtype=np.uint8)
            label[epi & ~endo] = MYO
            label[endo] = LV
            image.label = label
            labelled.add(image.frame)
        for frame, slices in sorted(endo_only.items()):
            log("i-contour without o-contour", "LV only on these slices (MYO left as background)",
                f"frame {frame}, slices {sorted(slices)}")
        return labelled

    def _infer_phases(self, images: list[_Image], labelled: set[int], log: Any) -> tuple[int | None, int | None]:
        """ED = the contoured frame with the larger endocardial area, ES = the smaller (over shared slices)."""
        frames = sorted(labelled)
        if len(frames) < 2:
            if frames:
                log("one contoured frame", "phase left empty (ED/ES need two contoured frames)",
                    f"frame {frames[0]}", severity="warning")
            return None, None
        areas: dict[int, dict[int, int]] = defaultdict(dict)
        for image in images:
            if image.label is not None:
                areas[image.frame][image.slice_index] = int((image.label == LV).sum())
        common = set.intersection(*(set(areas[f]) for f in frames))

        def size(frame: int) -> int:
            return sum(areas[frame][s] for s in common) if common else sum(areas[frame].values())

        ed, es = max(frames, key=size), min(frames, key=size)
        if size(ed) == size(es):
            log("contoured frames have equal endocardial areas", "phase left empty", f"frames {frames}",
                severity="warning")
            return None, None
        basis = f"slices {sorted(common)}" if common else "all contoured slices (no slice contoured in every frame)"
        log("ED/ES inferred", f"ED = frame {ed}, ES = frame {es}",
            f"endocardial area over {basis}: " + ", ".join(f"frame {f}: {size(f)} px" for f in frames))
        if len(frames) > 2:
            log("more than two contoured frames", "only ED and ES get a phase",
                f"contoured frames {frames}", severity="warning")
        return ed, es

    # ------------------------------------------------------------------ output
    def _write_cases(self, raw: Path, out: Path, name: str, images: list[_Image], labelled: set[int],
                     ed: int | None, es: int | None, log: Any, result: SubjectResult) -> dict[int, dict[int, float]]:
        """Write the cases; returns the labelled volume (mL) per frame and label value."""
        by_frame: dict[int, list[_Image]] = defaultdict(list)
        for image in images:
            by_frame[image.frame].append(image)
        groups: list[tuple[str, list[_Image]]] = []
        geometry_warnings: set[str] = set()
        try:
            geometries = {}
            for frame, members in sorted(by_frame.items()):
                members.sort(key=lambda i: i.slice_index)
                geometry, warnings = dicom_stack.stack_geometry([i.header for i in members])
                geometries[frame] = geometry
                geometry_warnings.update(warnings)
                groups.append((f"{name}_f{frame:02d}", members))
            for warning in sorted(geometry_warnings):
                log("slice geometry", "kept", warning, severity="warning")
        except dicom_stack.SliceGapError as err:
            log("slices of a frame are not equally spaced", "one case per image instead of one per frame",
                str(err), severity="warning")
            groups = [(f"{name}_s{i.slice_index:02d}_f{i.frame:02d}", [i])
                      for i in sorted(images, key=lambda i: (i.slice_index, i.frame))]
            geometries = {}
        volumes_ml: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        first = images[0].header
        prepared = []  # read every image before writing any file, so a bad file leaves no partial subject behind
        for case, members in groups:
            frame = members[0].frame
            if len(members) == 1 or frame not in geometries:
                geometry, _ = dicom_stack.stack_geometry([members[0].header])
            else:
                geometry = geometries[frame]
            volume = np.stack([dicom_stack.read_pixels(i.header) for i in members])
            has_label = any(i.label is not None for i in members)
            label = None
            if has_label:
                label_array = np.stack([i.label if i.label is not None else
                                        np.zeros((i.header.rows, i.header.columns), np.uint8) for i in members])
                label = LabelMap(label_array, geometry)
                for value, count in zip(*np.unique(label_array, return_counts=True), strict=True):
                    volumes_ml[frame][int(value)] += int(count) * geometry.voxel_volume_ml
            sources = [_relative(i.header.path, raw) for i in members]
            sources += [_relative(p, raw) for i in members for kind in ("i", "o") for p, _ in i.contours.get(kind, [])]
            record = CaseRecord(
                case=case, subject=name, phase="ED" if frame == ed else "ES" if frame == es else "", frame=frame,
                n_slices=len(members), spacing_x_mm=geometry.spacing_mm[0], spacing_y_mm=geometry.spacing_mm[1],
                spacing_z_mm=geometry.spacing_mm[2], has_label=has_label, group=name, site=SITE,
                vendor=first.manufacturer, field_strength_t=first.field_strength_t, source_files=";".join(sources),
                # an image with an i-contour but no o-contour leaves MYO unknown: score LV only
                annotated="" if all(i.label is None or i.contours.get("o") for i in members) else "LV",
            )
            prepared.append((record, ScalarImage(volume, geometry), label))
        for record, scalar_image, label_map in prepared:
            write_case_files(out, record, [scalar_image], label_map, max_label=MYO)
            result.records.append(record)
        return volumes_ml

    def _subject_row(self, name: str, extra: dict[str, Any], series: list[Any], images: list[_Image], n_phases: int,
                     volumes_ml: dict[int, dict[int, float]], ed: int | None, es: int | None) -> dict[str, object]:
        row: dict[str, object] = {
            "subject": name, "patient_id": extra["patient_id"], "series_number": series[0].series_number,
            "n_slices": len({i.slice_index for i in images}), "n_frames": n_phases,
            "ed_frame": "" if ed is None else ed, "es_frame": "" if es is None else es,
        }
        for key, value in sorted(extra["info"].items()):
            row[key] = value
        if ed is not None and es is not None:
            edv, esv = volumes_ml[ed].get(LV, 0.0), volumes_ml[es].get(LV, 0.0)
            row.update(edv_ml=round(edv, 4), esv_ml=round(esv, 4), ef_pct=round(100 * (edv - esv) / edv, 4))
            myo_ml = volumes_ml[ed].get(MYO, 0.0)
            row["lv_mass_g"] = round(myo_ml * MYOCARDIUM_DENSITY_G_PER_ML, 4) if myo_ml else ""
            row["ed_contoured_slices"] = sum(1 for i in images if i.frame == ed and i.label is not None)
            row["es_contoured_slices"] = sum(1 for i in images if i.frame == es and i.label is not None)
        return row
