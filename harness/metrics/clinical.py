"""Per-subject cine indices: EDV, ESV, SV, EF, LV mass, RV volumes, and their errors.

Pure functions on per-frame volumes (ml); they never read files. Rules, all
declared here and pinned by ``tests/metrics/test_clinical_*.py``:

* **ED / ES frames.** The dataset's own phase labels (``phase`` = ``ED`` / ``ES``
  on a case) win when present and :attr:`ClinicalSettings.use_phase_labels` is
  on; a label overrides only its own phase. Otherwise ED is the frame with the
  largest LV blood-pool volume and ES the one with the smallest; ties go to the
  first frame in frame order. :attr:`ClinicalSettings.ed_rule` ``first_frame`` makes
  ED the first frame instead (ukbb_cardiac's rule); ``method`` applies each method's
  card rule to its own predictions (the reference keeps the largest LV). Whose curve picks the frames is
  :attr:`ClinicalSettings.frame_source`: ``own`` (default, the cmr-seg-tl
  convention: prediction and reference each pick their own extrema),
  ``reference`` or ``prediction`` (both sources use that one curve's frames).
* **RV** volumes are read at the LV's ED / ES frames (as ukbb_cardiac does).
* **LV mass** = myocardium volume at ED × 1.05 g/ml.
* **EF** = (EDV − ESV) / EDV, in percent. It is undefined when EDV ≤ 0 (an empty
  LV at ED). An undefined *predicted* EF follows ``ef_undefined``: ``penalty``
  (default, the cmr-seg-tl convention) scores its absolute error as
  ``ef_penalty_pct`` (100 EF points); ``exclude`` leaves it out (NaN) and the
  ``*_status`` column says why, so it can be counted. An undefined *true* EF is
  always excluded: there is nothing to compare with.
* **Error sign**: error = true − predicted everywhere (the cmr-seg-tl
  convention); a positive error means the method underestimates.
* A missing prediction (NaN volume in a frame the rule needs) makes every
  predicted index of that subject undefined; EF then follows ``ef_undefined``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from harness.errors import ConfigError, InputDataError
from harness.metrics.clinical_settings import MYOCARDIAL_DENSITY_G_PER_ML, ClinicalSettings, EdRule

VOLUME_ROW_COLUMNS = ("method", "subject", "frame", "phase", "structure", "volume_pred_ml", "volume_ref_ml")
TRUTH_TABLE_COLUMNS = ("subject", "edv_ml", "esv_ml")
STRUCTURES = ("lv", "myo", "rv")

EfStatus = Literal["ok", "penalised_pred_undefined", "excluded_pred_undefined", "excluded_true_undefined"]


@dataclass(frozen=True)
class CineCurve:
    """Per-frame volumes (ml) of one subject from one source; NaN marks a missing value."""

    frames: tuple[int, ...]
    lv_ml: tuple[float, ...]
    myo_ml: tuple[float, ...] | None = None
    rv_ml: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not self.frames:
            raise InputDataError("cine curve has no frames; expected at least one frame with an LV volume")
        if len(set(self.frames)) != len(self.frames):
            raise InputDataError(
                f"cine curve has repeated frame indices {sorted(self.frames)}; expected each frame once"
            )
        for name in ("lv_ml", "myo_ml", "rv_ml"):
            values = getattr(self, name)
            if values is None:
                continue
            if len(values) != len(self.frames):
                raise InputDataError(f"cine curve: {name} has {len(values)} values for {len(self.frames)} frames")
            if any(v < 0 for v in values):
                raise InputDataError(f"cine curve: {name} has a negative volume {min(values)}; volumes must be >= 0 ml")

    def value_at(self, name: str, frame: int) -> float:
        """Volume of ``name`` at ``frame``; NaN when the structure or the frame is absent."""
        values = getattr(self, name)
        if values is None or frame not in self.frames:
            return math.nan
        return float(values[self.frames.index(frame)])


@dataclass(frozen=True)
class PhaseFrames:
    """The ED and ES frames of one subject and the rule that picked them (labels, extrema or mixed)."""

    ed_frame: int
    es_frame: int
    rule: str


@dataclass(frozen=True)
class CineIndices:
    """Indices of one subject from one source. ``None`` / NaN: undefined or not measured."""

    edv_ml: float
    esv_ml: float
    sv_ml: float
    ef_pct: float | None
    lv_mass_g: float = math.nan
    rv_edv_ml: float = math.nan
    rv_esv_ml: float = math.nan
    rv_sv_ml: float = math.nan
    rv_ef_pct: float | None = None


@dataclass(frozen=True)
class EfError:
    """EF error of one subject: signed (true − predicted), absolute with the undefined rule applied, status."""

    error_pct: float
    abs_error_pct: float
    status: EfStatus


def select_phase_frames(curve: CineCurve, ed_label: int | None = None, es_label: int | None = None,
                        ed_rule: EdRule = "largest_lv") -> PhaseFrames:
    """ED = largest LV volume, ES = smallest, first frame on ties; a given label overrides its phase.

    ``ed_rule`` ``first_frame``: ED is the first frame in frame order (ukbb_cardiac: frame 0), whatever
    its volume; the rule then reads ``first_frame`` (or ``mixed`` with one label).

    Raises :class:`InputDataError` when a label names a frame the curve lacks, or
    when an extremum is needed and the LV curve has a missing (NaN) volume.
    """
    for name, label in (("ED", ed_label), ("ES", es_label)):
        if label is not None and label not in curve.frames:
            raise InputDataError(
                f"{name} phase label names frame {label}, which is not among frames {sorted(curve.frames)}"
            )
    order = np.argsort(np.asarray(curve.frames), kind="stable")
    frames = np.asarray(curve.frames)[order]
    lv_ml = np.asarray(curve.lv_ml, dtype=float)[order]
    needs_ed_extremum = ed_label is None and ed_rule == "largest_lv"
    if (needs_ed_extremum or es_label is None) and np.isnan(lv_ml).any():
        raise InputDataError("LV volume curve has a missing (NaN) frame; cannot pick ED/ES from its extrema")
    if ed_label is not None:
        ed_frame = ed_label
    elif ed_rule == "first_frame":
        ed_frame = int(frames[0])
    else:
        ed_frame = int(frames[int(np.argmax(lv_ml))])
    es_frame = es_label if es_label is not None else int(frames[int(np.argmin(lv_ml))])
    n_labels = (ed_label is not None) + (es_label is not None)
    rule = {0: "first_frame" if ed_rule == "first_frame" else "extrema", 1: "mixed", 2: "labels"}[n_labels]
    return PhaseFrames(ed_frame=int(ed_frame), es_frame=int(es_frame), rule=rule)


def compute_ejection_fraction(edv_ml: float, esv_ml: float) -> float | None:
    """EF as a fraction, (EDV − ESV) / EDV; ``None`` when EDV ≤ 0 or either volume is NaN."""
    if math.isnan(edv_ml) or math.isnan(esv_ml) or edv_ml <= 0:
        return None
    return (edv_ml - esv_ml) / edv_ml


def _ef_pct(edv_ml: float, esv_ml: float) -> float | None:
    fraction = compute_ejection_fraction(edv_ml, esv_ml)
    return None if fraction is None else 100.0 * fraction


def compute_indices_from_volumes(edv_ml: float, esv_ml: float) -> CineIndices:
    """Indices from EDV/ESV alone (subject-level truth tables such as Kaggle DSB)."""
    return CineIndices(edv_ml=edv_ml, esv_ml=esv_ml, sv_ml=edv_ml - esv_ml, ef_pct=_ef_pct(edv_ml, esv_ml))


def compute_cine_indices(
    curve: CineCurve, phases: PhaseFrames, density_g_per_ml: float = MYOCARDIAL_DENSITY_G_PER_ML
) -> CineIndices:
    """EDV, ESV, SV, EF, LV mass (myocardium at ED × density) and RV indices at the given frames."""
    edv_ml = curve.value_at("lv_ml", phases.ed_frame)
    esv_ml = curve.value_at("lv_ml", phases.es_frame)
    rv_edv_ml = curve.value_at("rv_ml", phases.ed_frame)
    rv_esv_ml = curve.value_at("rv_ml", phases.es_frame)
    return CineIndices(
        edv_ml=edv_ml,
        esv_ml=esv_ml,
        sv_ml=edv_ml - esv_ml,
        ef_pct=_ef_pct(edv_ml, esv_ml),
        lv_mass_g=curve.value_at("myo_ml", phases.ed_frame) * density_g_per_ml,
        rv_edv_ml=rv_edv_ml,
        rv_esv_ml=rv_esv_ml,
        rv_sv_ml=rv_edv_ml - rv_esv_ml,
        rv_ef_pct=_ef_pct(rv_edv_ml, rv_esv_ml),
    )


def compute_ef_error(ef_true_pct: float | None, ef_pred_pct: float | None, settings: ClinicalSettings) -> EfError:
    """EF error (true − predicted, EF points) with the declared rule for undefined EF."""
    if ef_true_pct is None:
        return EfError(math.nan, math.nan, "excluded_true_undefined")
    if ef_pred_pct is None:
        if settings.ef_undefined == "penalty":
            return EfError(math.nan, settings.ef_penalty_pct, "penalised_pred_undefined")
        return EfError(math.nan, math.nan, "excluded_pred_undefined")
    error = ef_true_pct - ef_pred_pct
    return EfError(error, abs(error), "ok")


_UNDEFINED = CineIndices(edv_ml=math.nan, esv_ml=math.nan, sv_ml=math.nan, ef_pct=None)


def _curve_from_rows(rows: pd.DataFrame, column: str, subject: str) -> CineCurve | None:
    """One source's curve from a subject's rows (one row per frame × structure); None if it has no LV value."""
    if rows.duplicated(["frame", "structure"]).any():
        dupes = rows.loc[rows.duplicated(["frame", "structure"]), ["frame", "structure"]].head(3).values.tolist()
        raise InputDataError(f"subject {subject}: repeated (frame, structure) rows {dupes}; expected one row each")
    table = rows.pivot(index="frame", columns="structure", values=column).sort_index()
    if "lv" not in table or table["lv"].isna().all():
        return None

    def values(name: str) -> tuple[float, ...] | None:
        return tuple(float(v) for v in table[name]) if name in table else None

    return CineCurve(
        frames=tuple(int(f) for f in table.index),
        lv_ml=values("lv") or (),
        myo_ml=values("myo"),
        rv_ml=values("rv"),
    )


def _phase_labels(rows: pd.DataFrame, subject: str, settings: ClinicalSettings) -> tuple[int | None, int | None]:
    if not settings.use_phase_labels:
        return None, None
    labels: dict[str, int | None] = {"ED": None, "ES": None}
    phases = rows.loc[rows["phase"].isin(["ED", "ES"]), ["phase", "frame"]].drop_duplicates()
    for phase, group in phases.groupby("phase"):
        if len(group) > 1:
            raise InputDataError(
                f"subject {subject}: phase {phase} is labelled on frames {sorted(group['frame'].tolist())}; expected one frame"
            )
        labels[str(phase)] = int(group["frame"].iloc[0])
    return labels["ED"], labels["ES"]


def _try_select(curve: CineCurve | None, labels: tuple[int | None, int | None],
                ed_rule: EdRule = "largest_lv") -> PhaseFrames | None:
    """Frames for a predicted curve, or None when the prediction is missing (no curve, NaN where extrema are needed)."""
    if curve is None:
        return None
    try:
        return select_phase_frames(curve, *labels, ed_rule=ed_rule)
    except InputDataError:
        return None


def _subject_row(
    method: str, subject: str, rows: pd.DataFrame, truth: CineIndices | None, settings: ClinicalSettings
) -> dict[str, object]:
    labels = _phase_labels(rows, subject, settings)
    pred_curve = _curve_from_rows(rows, "volume_pred_ml", subject)
    ref_curve = None if truth is not None else _curve_from_rows(rows, "volume_ref_ml", subject)
    density = settings.myocardial_density_g_per_ml
    ref_phases = None
    ref_rule, pred_rule = settings.ed_rules()
    if ref_curve is not None:
        ref_phases = select_phase_frames(ref_curve, *labels, ed_rule=ref_rule)  # an incomplete reference: data error
    elif truth is None:
        raise InputDataError(f"subject {subject}: no reference volumes and no truth-table row; cannot score it")
    pred_phases = ref_phases if settings.frame_source == "reference" else _try_select(pred_curve, labels, pred_rule)
    if settings.frame_source == "prediction" and pred_phases is not None and ref_curve is not None:
        ref_phases = pred_phases
    if pred_curve is not None and pred_phases is not None:
        pred = compute_cine_indices(pred_curve, pred_phases, density)
    else:
        pred = _UNDEFINED
    if ref_curve is not None and ref_phases is not None:
        truth = compute_cine_indices(ref_curve, ref_phases, density)
    if truth is None:  # unreachable: a reference curve always yields frames
        raise InputDataError(f"subject {subject}: no truth could be computed")
    rules = sorted({p.rule for p in (pred_phases, ref_phases) if p is not None})
    row: dict[str, object] = {
        "method": method,
        "subject": subject,
        "frame_rule": "/".join(rules),
        "ed_frame_pred": pred_phases.ed_frame if pred_phases else None,
        "es_frame_pred": pred_phases.es_frame if pred_phases else None,
        "ed_frame_true": ref_phases.ed_frame if ref_phases else None,
        "es_frame_true": ref_phases.es_frame if ref_phases else None,
    }
    for name in ("edv_ml", "esv_ml", "sv_ml", "lv_mass_g", "rv_edv_ml", "rv_esv_ml", "rv_sv_ml"):
        stem, unit = name.rsplit("_", 1)
        p, t = float(getattr(pred, name)), float(getattr(truth, name))
        row[f"{stem}_pred_{unit}"], row[f"{stem}_true_{unit}"], row[f"{stem}_error_{unit}"] = p, t, t - p
    for stem in ("ef", "rv_ef"):
        p_ef, t_ef = getattr(pred, f"{stem}_pct"), getattr(truth, f"{stem}_pct")
        error = compute_ef_error(t_ef, p_ef, settings)
        row[f"{stem}_pred_pct"] = math.nan if p_ef is None else p_ef
        row[f"{stem}_true_pct"] = math.nan if t_ef is None else t_ef
        row[f"{stem}_error_pct"] = error.error_pct
        row[f"{stem}_abs_error_pct"] = error.abs_error_pct
        row[f"{stem}_status"] = error.status
    return row


def compute_subject_indices(
    volume_rows: pd.DataFrame,
    settings: ClinicalSettings | None = None,
    truth_table: pd.DataFrame | None = None,
    structure_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Turn long per-case volume rows into one row per (method, subject) with indices and errors.

    ``volume_rows`` has one row per case × structure with :data:`VOLUME_ROW_COLUMNS`:
    ``method, subject, frame`` (0-based), ``phase`` (``ED`` / ``ES`` / empty: the
    dataset's label), ``structure`` (``lv``, ``myo``, ``rv``; other names are mapped
    through ``structure_names`` or ignored), ``volume_pred_ml`` (NaN: missing
    prediction) and ``volume_ref_ml`` (NaN when the dataset has no masks).

    ``truth_table`` (columns :data:`TRUTH_TABLE_COLUMNS`), when given, is the
    truth for EDV/ESV/SV/EF of every subject and wins over reference masks
    (Kaggle DSB); the other true indices are then NaN.

    Returned columns: ``method, subject, frame_rule, ed_frame_pred, es_frame_pred,
    ed_frame_true, es_frame_true``, then for each of ``edv_ml, esv_ml, sv_ml,
    lv_mass_g, rv_edv_ml, rv_esv_ml, rv_sv_ml`` the triple ``<stem>_pred_<unit>,
    <stem>_true_<unit>, <stem>_error_<unit>``, then for ``ef`` and ``rv_ef``:
    ``<stem>_pred_pct, <stem>_true_pct, <stem>_error_pct`` (signed, NaN when
    undefined), ``<stem>_abs_error_pct`` (undefined rule applied) and
    ``<stem>_status`` (an :data:`EfStatus`).
    """
    settings = settings or ClinicalSettings()
    if truth_table is not None and settings.frame_source == "reference":
        raise ConfigError(
            "clinical.frame_source is 'reference' but the truth is a table without reference volumes; "
            "use frame_source: own (or prediction)"
        )
    missing = [c for c in VOLUME_ROW_COLUMNS if c not in volume_rows.columns]
    if missing:
        raise InputDataError(f"volume rows lack columns {missing}; expected {list(VOLUME_ROW_COLUMNS)}")
    rows = volume_rows.copy()
    rows["structure"] = rows["structure"].map(lambda s: (structure_names or {}).get(s, s))
    rows = rows[rows["structure"].isin(STRUCTURES)]
    rows["phase"] = rows["phase"].fillna("").astype(str).str.upper()
    rows["subject"] = rows["subject"].astype(str)
    truth_by_subject = _read_truth_table(truth_table) if truth_table is not None else None
    out = []
    for (method, subject), group in rows.groupby(["method", "subject"], sort=True):
        truth = None
        if truth_by_subject is not None:
            if subject not in truth_by_subject:
                raise InputDataError(f"truth table has no row for subject {subject}; add it or drop the subject")
            truth = truth_by_subject[str(subject)]
        out.append(_subject_row(str(method), str(subject), group, truth, settings))
    return pd.DataFrame(out)


def _read_truth_table(table: pd.DataFrame) -> dict[str, CineIndices]:
    missing = [c for c in TRUTH_TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputDataError(f"truth table lacks columns {missing}; expected {list(TRUTH_TABLE_COLUMNS)}")
    if table["subject"].astype(str).duplicated().any():
        dupes = sorted(table.loc[table["subject"].astype(str).duplicated(), "subject"].astype(str))[:5]
        raise InputDataError(f"truth table repeats subjects {dupes}; expected one row per subject")
    return {
        str(s): compute_indices_from_volumes(float(edv), float(esv))
        for s, edv, esv in zip(table["subject"], table["edv_ml"], table["esv_ml"], strict=True)
    }


def count_ef_statuses(subject_rows: pd.DataFrame, column: str = "ef_status") -> dict[str, int]:
    """How many subjects per EF status (per method if a ``method`` column exists: keys ``method/status``)."""
    if "method" in subject_rows.columns:
        counts = subject_rows.groupby(["method", column]).size()
        return {f"{m}/{s}": int(n) for (m, s), n in counts.items()}
    return {str(s): int(n) for s, n in subject_rows[column].value_counts().items()}


__all__: Sequence[str] = (
    "MYOCARDIAL_DENSITY_G_PER_ML",
    "ClinicalSettings",
    "CineCurve",
    "CineIndices",
    "EfError",
    "PhaseFrames",
    "compute_cine_indices",
    "compute_ef_error",
    "compute_ejection_fraction",
    "compute_indices_from_volumes",
    "compute_subject_indices",
    "count_ef_statuses",
    "select_phase_frames",
)
