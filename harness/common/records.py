"""Rows of the common format's tables: ``cases.csv`` and ``conversion_log.csv``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class CaseRecord:
    """One case: one image volume (all its channels) and at most one label map.

    For cine data a case is one (subject, frame): ``phase`` is ``ED``, ``ES`` or
    empty, ``frame`` the 0-based frame index along the cycle.
    """

    case: str
    subject: str
    phase: str = ""
    frame: int | None = None
    n_slices: int = 1
    spacing_x_mm: float = 1.0
    spacing_y_mm: float = 1.0
    spacing_z_mm: float = 1.0
    has_label: bool = False
    group: str = ""  # the split group: cases with the same group never straddle folds
    site: str = ""
    vendor: str = ""
    field_strength_t: float | None = None
    source_files: str = ""  # ';'-separated paths relative to the raw folder
    # ';'-separated structures whose reference is complete in this case; empty = every label.
    # E.g. Sunnybrook ES frames often have no epicardial contour: annotated = "LV".
    annotated: str = ""
    # False for an augmentation copy of another case (e.g. kaggle_dsb's `_rot90` rotation, written only
    # when asked for): it may be trained on, but it is never a test case, never scored, never in a subject row.
    primary: bool = True

    @property
    def annotated_structures(self) -> set[str] | None:
        """The structures the reference covers, or None for all of them."""
        return {s for s in self.annotated.split(";") if s} or None

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def to_row(self) -> dict[str, object]:
        row = asdict(self)
        if not row["group"]:
            row["group"] = self.subject
        return row

    @classmethod
    def from_row(cls, row: dict[str, str]) -> CaseRecord:
        def opt_float(value: str) -> float | None:
            return float(value) if value not in ("", "nan", "None") else None

        return cls(
            case=row["case"],
            subject=row["subject"],
            phase=row.get("phase", "") or "",
            frame=int(float(row["frame"])) if row.get("frame") not in (None, "", "nan", "None") else None,
            n_slices=int(float(row.get("n_slices") or 1)),
            spacing_x_mm=float(row.get("spacing_x_mm") or 1.0),
            spacing_y_mm=float(row.get("spacing_y_mm") or 1.0),
            spacing_z_mm=float(row.get("spacing_z_mm") or 1.0),
            has_label=str(row.get("has_label", "")).lower() in ("true", "1"),
            group=row.get("group") or row["subject"],
            site=row.get("site", "") or "",
            vendor=row.get("vendor", "") or "",
            field_strength_t=opt_float(row.get("field_strength_t", "") or ""),
            source_files=row.get("source_files", "") or "",
            annotated=row.get("annotated", "") or "",
            primary=str(row.get("primary", "") or "true").lower() not in ("false", "0"),
        )


@dataclass(frozen=True)
class ConversionEvent:
    """One thing an adapter noticed, changed or rejected while converting."""

    subject: str
    problem: str
    resolution: str
    detail: str = ""
    file: str = ""
    severity: str = field(default="info")  # info | warning | error (error: the subject or case was skipped)

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]
