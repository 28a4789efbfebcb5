"""Adapter of the 7T cardiac cine data: DICOM (one series per slice) + Medis QMass ``.con`` contours per rater.

One case per (subject, frame). The first rater (sorted, or option ``reference_rater``)
is the reference in ``labelsTr/``; every other rater's masks of the same cases go to
``labelsTr_<rater>/`` (an inter-observer reference). See README.md for the rules.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from harness.common.dataset import label_file_name, write_case_files
from harness.common.images import Geometry, LabelMap, ScalarImage, write_image
from harness.common.records import CaseRecord, ConversionEvent
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import ConfigError, InputDataError
from segarena_datasets.cine7t import con_file
from segarena_datasets.shared import dicom_stack, polygon

LV, MYO, RV = 1, 2, 3
MYOCARDIUM_DENSITY_G_PER_ML = 1.05
SLICE_ORDERS = ("auto", "acquisition", "reversed", "phase_encoding")
#: The better slice order must beat the other by this fraction of its blood-pool contrast to count as detected.
DECISIVE_MARGIN = 0.1
_RATER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class _Cine:
    """One subject's cine stack, slices in geometric order (ascending along the normal)."""

    pixels: np.ndarray  # (frames, slices, rows, columns)
    headers: list[list[Any]]  # [slice][frame] -> DicomHeader
    geometry: Geometry
    acquisition_order: list[int]  # k-th acquired slice (ascending SeriesNumber) -> geometric slice index
    phase_encoding: str

    @property
    def n_frames(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def n_slices(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pixels.shape[2]), int(self.pixels.shape[3])


@dataclass
class _RaterLabels:
    rater: str
    path: Path
    labels: dict[int, np.ndarray]  # frame -> (slices, rows, columns) uint8
    ed_frame: int | None
    es_frame: int | None


class Adapter(DatasetAdapter):
    """Options: ``reference_rater`` (default: the first rater folder in sorted order),
    ``slice_order``: ``auto`` (default: detected from the images, else the phase-encoding rule),
    ``acquisition``, ``reversed`` or ``phase_encoding`` (cmr-seg-tl's rule only)."""

    def discover(self, raw: Path) -> list[RawSubject]:
        order = str(self.options.get("slice_order", "auto"))
        if order not in SLICE_ORDERS:
            raise ConfigError(f"cine7t option slice_order={order!r}: expected one of {', '.join(SLICE_ORDERS)}")
        dicom_root, contour_root = raw / "dicom", raw / "contours"
        if not dicom_root.is_dir():
            raise InputDataError(f"{raw}: no dicom/ folder; cine7t expects dicom/<subject>/ and contours/<rater>/<subject>.con")
        raters = sorted(d.name for d in contour_root.iterdir() if d.is_dir()) if contour_root.is_dir() else []
        for rater in raters:
            if not _RATER_NAME.match(rater):
                raise InputDataError(f"{contour_root / rater}: rater folder names may hold only letters, digits, '_', '-', '.'")
        reference = self.options.get("reference_rater")
        if reference is not None and reference not in raters:
            raise ConfigError(
                f"cine7t option reference_rater={reference!r}: no folder contours/{reference}; raters: {', '.join(raters) or '(none)'}"
            )
        reference = reference if reference is not None else (raters[0] if raters else "")
        ordered_raters = ([reference] if reference else []) + [r for r in raters if r != reference]
        cons: dict[str, dict[str, str]] = defaultdict(dict)
        for rater in ordered_raters:
            for path in sorted((contour_root / rater).iterdir()):
                if path.is_file() and path.suffix.lower() == ".con":
                    cons[path.stem][rater] = str(path)
        names = sorted({d.name for d in dicom_root.iterdir() if d.is_dir()} | set(cons))
        subjects = []
        for name in names:
            dicom_dir = dicom_root / name
            files = ((dicom_dir,) if dicom_dir.is_dir() else ()) + tuple(Path(p) for p in cons[name].values())
            subjects.append(RawSubject(name, files, {
                "dicom_dir": str(dicom_dir) if dicom_dir.is_dir() else "",
                "cons": {r: cons[name][r] for r in ordered_raters if r in cons[name]},
                "reference": reference,
            }))
        return subjects

    # ------------------------------------------------------------------ conversion
    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        name = subject.subject
        result = SubjectResult()

        def log(problem: str, resolution: str, detail: str = "", file: str = "", severity: str = "info") -> None:
            result.events.append(ConversionEvent(name, problem, resolution, detail, file, severity))

        cons: dict[str, str] = subject.extra["cons"]
        reference: str = subject.extra["reference"]
        if not subject.extra["dicom_dir"]:
            raise InputDataError(f"subject {name}: contour files {', '.join(cons.values())} but no folder dicom/{name}")
        cine = self._read_cine(Path(subject.extra["dicom_dir"]), log)
        raters: list[_RaterLabels] = []
        for rater, path in cons.items():
            try:
                raters.append(self._rater_labels(rater, Path(path), cine, raw, log))
            except InputDataError as err:
                if rater == reference:
                    raise
                log("second rater's contours unreadable", f"no labelsTr_{rater} masks for this subject", str(err),
                    _relative(Path(path), raw), severity="warning")
        primary = raters[0] if raters and raters[0].rater == reference else None
        if primary is None:
            log("no reference contours", "all frames written as images without labels (imagesTs)",
                f"no contours/{reference}/{name}.con" if reference else "no contours/ folder")
        ed, es = self._phases(primary, log)
        self._write(raw, out, name, cine, primary, raters[1:] if primary else raters, ed, es, result, log)
        result.subject_rows.append(self._subject_row(name, cine, primary, raters, ed, es))
        return result

    def _read_cine(self, dicom_dir: Path, log: Any) -> _Cine:
        paths = sorted(p for p in dicom_dir.rglob("*") if p.is_file() and p.suffix.lower() == ".dcm")
        if not paths:
            raise InputDataError(f"{dicom_dir}: no .dcm files")
        headers = [dicom_stack.read_header(p) for p in paths]
        dicom_stack.check_same_plane_grid(headers)
        slices: list[list[Any]] = []
        for group in dicom_stack.group_by_position(headers):
            by_series: dict[str, list[Any]] = defaultdict(list)
            for header in group:
                by_series[header.series_key].append(header)
            if len(by_series) > 1:  # a repeated slice: keep the later acquisition
                ranked = sorted(by_series.values(), key=lambda s: (s[0].series_number or 0, s[0].series_uid))
                log("several series at one slice position", f"kept series {ranked[-1][0].series_number} (the later one)",
                    "dropped series " + ", ".join(str(s[0].series_number) for s in ranked[:-1]),
                    str(ranked[-1][0].path.parent), severity="warning")
                group = ranked[-1]
            for header in group:
                if header.trigger_time_ms is None and header.instance_number is None:
                    raise InputDataError(f"{header.path}: neither TriggerTime nor InstanceNumber: cannot order the cine frames")
            slices.append(sorted(group, key=lambda h: (h.trigger_time_ms if h.trigger_time_ms is not None else np.inf,
                                                       h.instance_number or 0)))
        counts = Counter(len(s) for s in slices)
        n_frames = counts.most_common(1)[0][0]
        for members in slices:
            if len(members) != n_frames:
                raise InputDataError(
                    f"{members[0].path.parent}: the slice at {members[0].slice_position_mm:.2f} mm has {len(members)} "
                    f"cine frames, the other slices {n_frames}: cannot stack the cine"
                )
        geometry, warnings = dicom_stack.stack_geometry([s[0] for s in slices])
        for warning in warnings:
            log("slice geometry", "kept", warning, severity="warning")
        acquisition = sorted(range(len(slices)), key=lambda g: (
            slices[g][0].series_number or 0, min(h.instance_number or 0 for h in slices[g]), g))
        pixels = np.stack([np.stack([dicom_stack.read_pixels(slices[g][f]) for g in range(len(slices))])
                           for f in range(n_frames)])
        directions = Counter(h.phase_encoding_direction for h in headers)
        return _Cine(pixels, slices, geometry, acquisition, directions.most_common(1)[0][0])

    def _rater_labels(self, rater: str, path: Path, cine: _Cine, raw: Path, log: Any) -> _RaterLabels:
        con = con_file.read_con(path)
        rows, columns = cine.shape
        resolution = con.image_resolution
        if resolution is None:
            log("no Image_resolution in the .con header", "assumed the DICOM matrix", file=_relative(path, raw),
                severity="warning")
        elif resolution != (columns, rows):
            raise InputDataError(
                f"contour file {path.name} ({path}): Image_resolution={resolution[0]}x{resolution[1]} (columns x rows) "
                f"but the DICOM images are {columns}x{rows}: the contours do not belong to these images"
            )
        used: list[Any] = []
        ignored: Counter[int] = Counter()
        for contour in con.contours:
            if contour.type not in (con_file.LV_ENDO, con_file.LV_EPI, con_file.RV_ENDO):
                ignored[contour.type] += 1
                continue
            if contour.slice >= cine.n_slices or contour.frame >= cine.n_frames:
                raise InputDataError(
                    f"contour file {path.name} ({path}): the [XYCONTOUR] block on line {contour.line} is for slice "
                    f"{contour.slice}, frame {contour.frame}, but the DICOM series hold {cine.n_slices} slices × "
                    f"{cine.n_frames} frames: no such image"
                )
            if len(contour.points_xy) < 3:
                log("contour with fewer than 3 points", "ignored", f"block on line {contour.line}", _relative(path, raw),
                    severity="warning")
                continue
            used.append(contour)
        if ignored:
            names = ", ".join(f"type {t} ({con_file.TYPE_NAMES.get(t, 'other ROI')}): {n}" for t, n in sorted(ignored.items()))
            log("contour types without a label", "ignored", names, _relative(path, raw))
        order = self._slice_order(used, cine, path, raw, log)
        masks: dict[tuple[int, int, int], np.ndarray] = {}
        for contour in used:
            key = (contour.frame, order[contour.slice], contour.type)
            mask = polygon.fill_polygon(contour.points_xy, cine.shape)
            if key in masks:
                log("two contours of one type on one image", "united", f"block on line {contour.line}",
                    _relative(path, raw), severity="warning")
                mask |= masks[key]
            masks[key] = mask
        labels: dict[int, np.ndarray] = {}
        notes: dict[str, list[str]] = defaultdict(list)
        for frame, g in sorted({(f, g) for f, g, _ in masks}):
            endo = masks.get((frame, g, con_file.LV_ENDO))
            epi = masks.get((frame, g, con_file.LV_EPI))
            rv = masks.get((frame, g, con_file.RV_ENDO))
            label = np.zeros(cine.shape, dtype=np.uint8)
            if epi is not None and endo is None:
                notes["LV epicardium without endocardium: MYO not drawn"].append(f"slice {g} frame {frame}")
                epi = None
            if rv is not None:
                overlap = rv & ((endo if endo is not None else False) | (epi if epi is not None else False))
                if overlap.any():
                    notes["RV endocardium overlaps the LV contours: overlap kept as LV/MYO"].append(
                        f"slice {g} frame {frame}: {int(overlap.sum())} px")
                label[rv] = RV
            if epi is not None:
                assert endo is not None
                label[epi] = MYO
                outside = endo & ~epi
                if outside.any():
                    notes["LV endocardium outside the epicardium: kept as LV"].append(
                        f"slice {g} frame {frame}: {int(outside.sum())} px")
            if endo is not None:
                label[endo] = LV
            labels.setdefault(frame, np.zeros((cine.n_slices, *cine.shape), np.uint8))[g] = label
        for problem, where in notes.items():
            severity = "warning" if problem.startswith("LV epicardium without") else "info"
            log(problem, "see problem", "; ".join(where), _relative(path, raw), severity=severity)
        labels = {f: v for f, v in labels.items() if v.any()}
        return _RaterLabels(rater, path, labels, con.ed_frame, con.es_frame)

    def _slice_order(self, contours: list[Any], cine: _Cine, path: Path, raw: Path, log: Any) -> list[int]:
        """Map the .con slice index to the geometric slice index (see README: slice order)."""
        as_acquired = list(cine.acquisition_order)
        reversed_ = as_acquired[::-1]
        rule_reversed = cine.phase_encoding == "COL"
        rule = f"InPlanePhaseEncodingDirection={cine.phase_encoding or '(missing)'} predicts " + (
            "reversed" if rule_reversed else "as acquired") + " (cmr-seg-tl's rule)"
        option = str(self.options.get("slice_order", "auto"))
        file = _relative(path, raw)
        if option != "auto":
            chosen = {"acquisition": False, "reversed": True, "phase_encoding": rule_reversed}[option]
            log("slice order of the .con file", _order_text(chosen), f"option slice_order={option}; {rule}", file)
            return reversed_ if chosen else as_acquired
        contoured = {c.slice for c in contours}
        if all(as_acquired[s] == reversed_[s] for s in contoured):
            log("slice order of the .con file", _order_text(rule_reversed),
                "the contoured slices map to the same images either way; " + rule, file)
            return reversed_ if rule_reversed else as_acquired
        forward = _blood_contrast(contours, as_acquired, cine)
        backward = _blood_contrast(contours, reversed_, cine)
        scores = f"blood-pool contrast as acquired {forward:.3f}, reversed {backward:.3f}; {rule}"
        best = max(forward, backward)
        if best > 0 and abs(forward - backward) > DECISIVE_MARGIN * abs(best):
            chosen = backward > forward
            agrees = chosen == rule_reversed
            log("slice order of the .con file", _order_text(chosen) + " (detected from the images)",
                scores + ("" if agrees else "; the images overrule the phase-encoding rule"), file,
                severity="info" if agrees else "warning")
            return reversed_ if chosen else as_acquired
        log("slice order of the .con file", _order_text(rule_reversed) + " (phase-encoding rule)",
            "the images do not tell the order apart: " + scores, file, severity="warning")
        return reversed_ if rule_reversed else as_acquired

    def _phases(self, primary: _RaterLabels | None, log: Any) -> tuple[int | None, int | None]:
        if primary is None or not primary.labels:
            return None, None
        frames = sorted(primary.labels)
        ed, es = primary.ed_frame, primary.es_frame
        file = primary.path.name
        for key, frame in (("manual_lv_ed_phase", ed), ("manual_lv_es_phase", es)):
            if frame is not None and frame not in primary.labels:
                log(f"{key} names an uncontoured frame", "phase inferred from the contours instead",
                    f"{key}={frame}, contoured frames {frames}", file, severity="warning")
        if ed in primary.labels and es in primary.labels and ed != es:
            return ed, es
        if len(frames) < 2:
            log("ED/ES unknown", "phase left empty", f"contoured frames {frames}", file, severity="warning")
            return None, None
        volumes = {f: int((primary.labels[f] == LV).sum()) for f in frames}
        ed, es = max(frames, key=volumes.__getitem__), min(frames, key=volumes.__getitem__)
        log("ED/ES inferred from the LV blood pool", f"ED = frame {ed}, ES = frame {es}",
            ", ".join(f"frame {f}: {v} voxels" for f, v in volumes.items()), file, severity="warning")
        return ed, es

    # ------------------------------------------------------------------ output
    def _write(self, raw: Path, out: Path, name: str, cine: _Cine, primary: _RaterLabels | None,
               others: list[_RaterLabels], ed: int | None, es: int | None, result: SubjectResult, log: Any) -> None:
        geometry = cine.geometry
        first = cine.headers[0][0]
        reference_frames = set(primary.labels) if primary else set()
        for rater in others:
            extra = sorted(set(rater.labels) - reference_frames)
            if extra:
                log("second rater contoured frames the reference did not", f"not written to labelsTr_{rater.rater}",
                    f"frames {extra}", _relative(rater.path, raw))
        for frame in range(cine.n_frames):
            case = f"{name}_f{frame:02d}"
            sources = [_relative(cine.headers[g][frame].path, raw) for g in range(cine.n_slices)]
            label = None
            if frame in reference_frames:
                assert primary is not None
                label = LabelMap(primary.labels[frame], geometry)
                sources.append(_relative(primary.path, raw))
            record = CaseRecord(
                case=case, subject=name, phase="ED" if frame == ed else "ES" if frame == es else "", frame=frame,
                n_slices=cine.n_slices, spacing_x_mm=geometry.spacing_mm[0], spacing_y_mm=geometry.spacing_mm[1],
                spacing_z_mm=geometry.spacing_mm[2], has_label=label is not None, group=name, site=first.institution,
                vendor=first.manufacturer, field_strength_t=first.field_strength_t, source_files=";".join(sources),
            )
            write_case_files(out, record, [ScalarImage(cine.pixels[frame], geometry)], label, max_label=RV)
            result.records.append(record)
            for rater in others:
                if frame in reference_frames and frame in rater.labels:
                    write_image(LabelMap(rater.labels[frame], geometry),
                                out / f"labelsTr_{rater.rater}" / label_file_name(case))

    def _subject_row(self, name: str, cine: _Cine, primary: _RaterLabels | None, raters: list[_RaterLabels],
                     ed: int | None, es: int | None) -> dict[str, object]:
        voxel_ml = cine.geometry.voxel_volume_ml
        row: dict[str, object] = {
            "subject": name, "n_slices": cine.n_slices, "n_frames": cine.n_frames,
            "ed_frame": "" if ed is None else ed, "es_frame": "" if es is None else es,
            "reference_rater": primary.rater if primary else "", "raters": ";".join(r.rater for r in raters),
        }
        if primary is None or ed is None or es is None:
            return row

        def volume(rater: _RaterLabels, frame: int, value: int) -> float:
            labels = rater.labels.get(frame)
            return round(float((labels == value).sum()) * voxel_ml, 4) if labels is not None else float("nan")

        edv, esv = volume(primary, ed, LV), volume(primary, es, LV)
        row.update(edv_ml=edv, esv_ml=esv, ef_pct=round(100 * (edv - esv) / edv, 4) if edv else "",
                   lv_mass_g=round(volume(primary, ed, MYO) * MYOCARDIUM_DENSITY_G_PER_ML, 4),
                   rv_edv_ml=volume(primary, ed, RV), rv_esv_ml=volume(primary, es, RV))
        for rater in raters:
            if rater is primary:
                continue
            r_ed = rater.ed_frame if rater.ed_frame in rater.labels else ed
            r_es = rater.es_frame if rater.es_frame in rater.labels else es
            row[f"{rater.rater}_edv_ml"] = volume(rater, r_ed, LV)
            row[f"{rater.rater}_esv_ml"] = volume(rater, r_es, LV)
        return row


def _order_text(is_reversed: bool) -> str:
    return ("reversed: .con slice 0 = the last acquired slice" if is_reversed
            else "as acquired: .con slice 0 = the first acquired slice (lowest SeriesNumber)")


def _blood_contrast(contours: list[Any], order: list[int], cine: _Cine) -> float:
    """Mean over LV/RV endocardial contours of (inside − 2-px ring outside) / image std, for one slice order."""
    values = []
    for contour in contours:
        if contour.type not in (con_file.LV_ENDO, con_file.RV_ENDO):
            continue
        image = cine.pixels[contour.frame, order[contour.slice]].astype(float)
        inside = polygon.fill_polygon(contour.points_xy, cine.shape)
        ring = ndimage.binary_dilation(inside, iterations=2) & ~inside
        if inside.sum() < 3 or not ring.any():
            continue
        values.append((image[inside].mean() - image[ring].mean()) / (image.std() or 1.0))
    return float(np.mean(values)) if values else 0.0


def _relative(path: Path, raw: Path) -> str:
    try:
        return path.relative_to(raw).as_posix()
    except ValueError:
        return path.as_posix()
