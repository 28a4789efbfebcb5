"""The cmr-seg-tl study's 7T comparison (Ankenbrand et al., MRM 2021), recomputed from its confusion tables.

The 7T images are not public; the study released, per 2-D image, the 3 × 3
confusion matrix (background / LV blood pool / myocardium) of a reference mask
(rows, ``methodA``) against a second mask (columns, ``methodB``), on the
256 × 256 letterboxed grid (``refdata/cmr-seg-tl/7T/confusion_tables``). From
those alone this module rebuilds (conventions in :data:`CONVENTIONS`):

* ``dice_by_set``: per comparison and set (train / val / test) the mean over
  images of per-image Dice for LV and myocardium, an image where both masks
  lack the structure counting as 1;
* ``volume_agreement``: for the test volunteers, EDV / ESV / SV / EF of each
  rater from LV pixel counts at the ED / ES frames of ``esed_frames.tsv``, as
  the mean absolute difference relative to the reference, in percent;
* per-subject volumes of every rater against expert 1 (WS) on the test
  volunteers, in :data:`~harness.published.results.SUBJECT_COLUMNS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import InputDataError
from harness.published.results import SUBJECT_COLUMNS, PublishedCineResults, PublishedTable, describe_file, require_file

logger = logging.getLogger(__name__)

STUDY = "cmr-seg-tl (Ankenbrand et al., MRM 2021; doi:10.1002/mrm.28822), 7T volunteers"
CONFUSION_DIR = "7T/confusion_tables"
ESED_FILE = "7T/esed_frames.tsv"
PIXEL_COUNTS_FILE = "7T/pixel_counts_by_class.tsv.xz"
ML_PER_PIXEL = 0.009375  # the paper's (512/256)² · 0.625 · 0.625 · 6 / 1000 mL per pixel of the 256 grid
PIXELS_PER_IMAGE = 256 * 256
CLASSES = ("bg", "lv", "my")
CELL_COLUMNS = tuple(f"{ref}_{other}" for ref in CLASSES for other in CLASSES)
CONFUSION_COLUMNS = ("image", "set", "methodA", "methodB", *CELL_COLUMNS)
SETS = ("train", "val", "test")
IMAGE_PATTERN = r"^(?P<volunteer>\d+)_slice(?P<slice>\d+)_frame(?P<frame>\d+)$"
MASK_PATTERN = r"^(?P<volunteer>\d+)_slice(?P<slice>\d+)_frame(?P<frame>\d+)-mask\.png$"
EXPERT_1, EXPERT_2 = "WS", "TR"


@dataclass(frozen=True)
class Comparison:
    """One released confusion table: ``method`` (columns) rated against ``reference`` (rows)."""

    method: str
    reference: str
    file: str
    method_a: str  # the ``methodA`` / ``methodB`` values the file must carry
    method_b: str


COMPARISONS = (
    Comparison("base", EXPERT_1, "confusion_WS_base.tsv.xz", "scaled_masks", "baseModel"),
    Comparison("R", EXPERT_1, "confusion_WS_plainLearn.tsv.xz", "scaled_masks", "plainLearn"),
    Comparison("TL", EXPERT_1, "confusion_WS_imagenetTransferLearn.tsv.xz", "scaled_masks", "imagenetTransferLearn"),
    Comparison("TL2", EXPERT_1, "confusion_WS_doubleTransferLearn.tsv.xz", "scaled_masks", "doubleTransferLearn"),
    Comparison("TL2_esed", EXPERT_1, "confusion_WS_doubleTL-esed.tsv.xz", "scaled_masks", "doubleTransferLearn_esed"),
    Comparison("UKBB", EXPERT_1, "confusion_WS_ukbbCardiac.tsv.xz", "scaled_masks", "ukbb_preds_3class"),
    Comparison(EXPERT_2, EXPERT_1, "confusion_WS_TR.tsv.xz", "scaled_masks", "scaled_masks_TR"),
    Comparison("TL2", EXPERT_2, "confusion_TR_doubleTransferLearn.tsv.xz", "scaled_masks_TR", "doubleTransferLearn"),
)
METHODS = ("base", "R", "TL", "TL2", "TL2_esed", "UKBB", EXPERT_2)
VOLUME_PAIRS = ((EXPERT_1, EXPERT_2), (EXPERT_1, "TL2"), (EXPERT_2, "TL2"))  # (reference, other)
DICE_COLUMNS = ("set", "method", "reference", "dice_lv", "dice_myo", "n_images")
VOLUME_COLUMNS = ("comparison", "edv_pct", "esv_pct", "sv_pct", "ef_pct")
CONVENTIONS = (
    "methods: base = Kaggle-trained r34_p05_s256 without transfer, R = plain learning (plainLearn), "
    "TL = ImageNet transfer (imagenetTransferLearn), TL2 = double transfer (doubleTransferLearn), "
    "TL2_esed = TL2 trained on ED/ES frames only, UKBB = ukbb_cardiac, TR = expert 2 as a rater",
    "references: WS = expert 1 (all volunteers), TR = expert 2 (test volunteers only); "
    "rows of a confusion table are the reference (methodA), columns the rated mask (methodB)",
    "per-image Dice_c = 2 TP / (2 TP + FP + FN), TP = cell c_c, FN = row sum of c - TP, FP = column sum of c - TP, "
    "on the 256 x 256 letterboxed grid",
    "an image where both masks lack the structure counts as Dice 1; one where only one mask has it as Dice 0",
    "dice_by_set: plain mean over the images of a set (no per-volunteer weighting); every released image is used",
    "LV pixels per image: row sum of lv for the reference, column sum of lv for the rated mask; "
    "a rater's counts must agree across every file it appears in",
    "volumes: test volunteers only (the ones both experts annotated, from the TR files); "
    "LV volume of a frame = LV pixels summed over its slices x 0.009375 mL",
    "ED / ES frames from esed_frames.tsv (chosen on expert 1's masks), the same frames for every rater; "
    "each must hold the most / fewest LV pixels of that volunteer in pixel_counts_by_class.tsv.xz",
    "esed_frames.tsv quirk: a volunteer listed more than once (ties kept by R's top_n) is dropped when its "
    "masks are all empty (volunteer 24, not in any confusion table), otherwise it is an error",
    "SV = EDV - ESV, EF = SV / EDV (a fraction); volume_agreement = mean over volunteers of "
    "|x_other - x_ref| / x_ref x 100, for EF too (a relative difference, not EF points)",
    "subjects: every rater against WS on the test volunteers at WS's ED/ES frames (pred = rater, true = WS)",
)


def _require(refdata_dir: Path, name: str) -> Path:
    return require_file(refdata_dir, name, "cmr-seg-tl 7T", "see its README.md, section 7T/")


def _read_tsv(path: Path, columns: tuple[str, ...], text_columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep="\t", dtype=dict.fromkeys(text_columns, str))
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as err:
        raise InputDataError(f"cannot read {path}: {err}") from err
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputDataError(f"{path}: missing columns {missing}; found {list(table.columns)[:14]}")
    return table


def _counts(table: pd.DataFrame, path: Path, columns: tuple[str, ...], what: str = "pixel counts") -> pd.DataFrame:
    counts = table[list(columns)].apply(pd.to_numeric, errors="coerce")
    bad = counts.isna().any(axis=1) | (counts < 0).any(axis=1) | (counts % 1 != 0).any(axis=1)
    if bad.any():
        raise InputDataError(
            f"{path}: {what} {list(columns)} must be non-negative integers; "
            f"{int(bad.sum())} rows are not, e.g. row {int(np.flatnonzero(bad.to_numpy())[0]) + 2} of the file"
        )
    return counts.astype(np.int64)


def _parse_names(names: pd.Series, path: Path, pattern: str, form: str) -> pd.DataFrame:
    parts = names.str.extract(pattern)
    bad = parts["volunteer"].isna()
    if bad.any():
        raise InputDataError(
            f"{path}: {int(bad.sum())} names do not match {form}, e.g. {names[bad].head(3).tolist()}"
        )
    return parts.astype(int)


def read_confusion_table(path: Path, comparison: Comparison | None = None) -> pd.DataFrame:
    """One released confusion table, checked: columns ``image, volunteer, slice, frame, set`` and the 9 cells.

    Raises :class:`InputDataError` naming ``path`` for a missing column, a name
    that is not ``<Id>_slice<SSS>_frame<FFF>``, a repeated image, an unknown
    set, a row whose cells do not sum to 65,536, or (given ``comparison``) the
    wrong ``methodA`` / ``methodB``.
    """
    table = _read_tsv(path, CONFUSION_COLUMNS, ("image", "set", "methodA", "methodB"))
    if table["image"].isna().any():
        raise InputDataError(f"{path}: {int(table['image'].isna().sum())} rows have no image name")
    cells = _counts(table, path, CELL_COLUMNS)
    sums = cells.sum(axis=1)
    bad_sum = sums != PIXELS_PER_IMAGE
    if bad_sum.any():
        first = int(np.flatnonzero(bad_sum.to_numpy())[0])
        raise InputDataError(
            f"{path}: {int(bad_sum.sum())} rows do not sum to {PIXELS_PER_IMAGE} pixels (256 x 256), "
            f"e.g. image {table['image'].iat[first]} sums to {int(sums.iat[first])}"
        )
    unknown = sorted(set(table["set"].fillna("<empty>")) - set(SETS))
    if unknown:
        raise InputDataError(f"{path}: unknown set {unknown}; expected one of {list(SETS)}")
    if table["image"].duplicated().any():
        raise InputDataError(
            f"{path}: repeated images {table.loc[table['image'].duplicated(), 'image'].head(3).tolist()}; "
            "expected one row per image"
        )
    if comparison is not None:
        for column, expected in (("methodA", comparison.method_a), ("methodB", comparison.method_b)):
            found = sorted(set(table[column].fillna("<empty>")))
            if found != [expected]:
                raise InputDataError(f"{path}: {column} is {found}; this file must compare {expected}")
    names = _parse_names(table["image"], path, IMAGE_PATTERN, "<Id>_slice<SSS>_frame<FFF>")
    return pd.concat([table[["image"]], names, table[["set"]], cells], axis=1)


def dice_per_image(cells: pd.DataFrame, structure: str) -> np.ndarray:
    """Per-image Dice of ``structure`` (``lv`` / ``my``) from confusion cells; 1.0 where both masks lack it."""
    tp = cells[f"{structure}_{structure}"].to_numpy(dtype=float)
    reference = cells[[f"{structure}_{c}" for c in CLASSES]].sum(axis=1).to_numpy(dtype=float)
    rated = cells[[f"{c}_{structure}" for c in CLASSES]].sum(axis=1).to_numpy(dtype=float)
    fn, fp = reference - tp, rated - tp
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator == 0, 1.0, 2 * tp / denominator)


def compute_dice_by_set(tables: dict[Comparison, pd.DataFrame]) -> pd.DataFrame:
    """:data:`DICE_COLUMNS`, one row per set (train, val, test) × comparison present in that set."""
    rows = []
    for set_name in SETS:
        for comparison, table in tables.items():
            part = table[table["set"] == set_name]
            if part.empty:
                continue
            rows.append({
                "set": set_name, "method": comparison.method, "reference": comparison.reference,
                "dice_lv": float(dice_per_image(part, "lv").mean()),
                "dice_myo": float(dice_per_image(part, "my").mean()),
                "n_images": len(part),
            })
    return pd.DataFrame(rows, columns=list(DICE_COLUMNS))


def collect_lv_pixels(tables: dict[Comparison, pd.DataFrame], paths: dict[Comparison, Path]) -> pd.DataFrame:
    """LV pixels per image of every rater (index ``image``, one column per rater), checked across files."""
    found: dict[str, pd.Series] = {}
    source: dict[str, Path] = {}
    for comparison, table in tables.items():
        image = table.set_index("image")
        sides = {
            comparison.reference: image[[f"lv_{c}" for c in CLASSES]].sum(axis=1),
            comparison.method: image[[f"{c}_lv" for c in CLASSES]].sum(axis=1),
        }
        for rater, counts in sides.items():
            if rater in found:
                common = found[rater].index.intersection(counts.index)
                differ = common[found[rater].loc[common] != counts.loc[common]]
                if len(differ):
                    raise InputDataError(
                        f"{paths[comparison]} and {source[rater]} disagree on {rater}'s LV pixels of "
                        f"{len(differ)} images, e.g. {differ[0]}: {int(counts[differ[0]])} vs "
                        f"{int(found[rater][differ[0]])}; the files must come from the same masks"
                    )
                counts = pd.concat([found[rater], counts.drop(common)])
            else:
                source[rater] = paths[comparison]
            found[rater] = counts
    return pd.DataFrame(found)


def read_pixel_counts(path: Path) -> pd.DataFrame:
    """LV pixel totals of expert 1's original-resolution masks per (volunteer, frame)."""
    table = _read_tsv(path, ("source", "set", "file", "bg", "lv", "my"), ("source", "set", "file"))
    lv = _counts(table, path, ("lv",))["lv"]
    names = _parse_names(table["file"].fillna(""), path, MASK_PATTERN, "<Id>_slice<SSS>_frame<FFF>-mask.png")
    return lv.groupby([names["volunteer"], names["frame"]]).sum()


def read_esed_frames(path: Path, mask_lv: pd.Series, pixel_counts_path: Path) -> pd.DataFrame:
    """ED / ES frame per volunteer (index ``volunteer``, columns ``ed``, ``es``), quirk handled, checked.

    A volunteer with several rows is dropped when its masks are all empty in
    ``mask_lv`` (volunteer 24) and is an error otherwise; a single row's frames
    must hold the largest (ED) and smallest (ES) LV total of that volunteer.
    """
    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as err:
        raise InputDataError(f"cannot read {path}: {err}") from err
    missing = [c for c in ("Id", "es", "ed") if c not in table.columns]
    if missing:
        raise InputDataError(f"{path}: missing columns {missing}; found {list(table.columns)}")
    values = _counts(table, path, ("Id", "es", "ed"), what="volunteer ids and frames")
    frames = {}
    for volunteer, rows in values.groupby("Id", sort=True):
        totals = mask_lv.loc[volunteer] if volunteer in mask_lv.index.get_level_values(0) else None
        if totals is None:
            raise InputDataError(f"{path}: volunteer {volunteer} has no masks in {pixel_counts_path}")
        if len(rows) > 1:
            if int(totals.sum()) == 0:
                logger.info("%s: volunteer %s has only empty masks (%d tied rows), dropped", path, volunteer, len(rows))
                continue
            raise InputDataError(
                f"{path}: volunteer {volunteer} has {len(rows)} rows but non-empty masks; expected one ED/ES pair"
            )
        es, ed = int(rows["es"].iat[0]), int(rows["ed"].iat[0])
        for phase, frame, best in (("ED", ed, totals.max()), ("ES", es, totals.min())):
            if frame not in totals.index or totals[frame] != best:
                held = int(totals[frame]) if frame in totals.index else "no"
                raise InputDataError(
                    f"{path}: volunteer {volunteer}'s {phase} frame {frame} holds {held} LV pixels in "
                    f"{pixel_counts_path}, not the {'largest' if phase == 'ED' else 'smallest'} total ({int(best)})"
                )
        frames[int(volunteer)] = {"ed": ed, "es": es}
    return pd.DataFrame.from_dict(frames, orient="index").rename_axis("volunteer")


def compute_volumes(
    lv_pixels: pd.DataFrame, images: pd.DataFrame, frames: pd.DataFrame, volunteers: list[int]
) -> pd.DataFrame:
    """EDV, ESV, SV (mL) and EF (fraction) per rater and volunteer: index ``(rater, volunteer)``."""
    rows = []
    by_image = images.set_index("image")
    for volunteer in volunteers:
        if volunteer not in frames.index:
            raise InputDataError(f"{ESED_FILE}: no ED/ES frames for test volunteer {volunteer}")
        of_volunteer = by_image[by_image["volunteer"] == volunteer]
        volume_ml = {}
        for phase in ("ed", "es"):
            frame = int(frames.at[volunteer, phase])
            at_frame = of_volunteer.index[of_volunteer["frame"] == frame]
            if at_frame.empty:
                raise InputDataError(
                    f"{CONFUSION_DIR}: no images of volunteer {volunteer} at its {phase.upper()} frame {frame}"
                )
            volume_ml[phase] = lv_pixels.loc[at_frame].sum(axis=0, min_count=len(at_frame)) * ML_PER_PIXEL
        for rater in lv_pixels.columns:
            edv, esv = volume_ml["ed"][rater], volume_ml["es"][rater]
            if np.isnan(edv) or np.isnan(esv):
                continue  # the rater did not rate every slice of this volunteer's ED/ES frames
            rows.append({"rater": rater, "volunteer": volunteer, "ed_frame": int(frames.at[volunteer, "ed"]),
                         "es_frame": int(frames.at[volunteer, "es"]), "edv_ml": float(edv), "esv_ml": float(esv),
                         "sv_ml": float(edv - esv), "ef_fraction": float((edv - esv) / edv) if edv > 0 else np.nan})
    return pd.DataFrame(rows).set_index(["rater", "volunteer"])


def compute_volume_agreement(volumes: pd.DataFrame, volunteers: list[int]) -> pd.DataFrame:
    """:data:`VOLUME_COLUMNS`: per pair in :data:`VOLUME_PAIRS`, mean |x_other − x_ref| / x_ref × 100."""
    rows = []
    for reference, other in VOLUME_PAIRS:
        row: dict[str, object] = {"comparison": f"{reference} vs {other}"}
        for quantity, column in (("edv_ml", "edv_pct"), ("esv_ml", "esv_pct"), ("sv_ml", "sv_pct"),
                                 ("ef_fraction", "ef_pct")):
            ref = np.array([volumes.at[(reference, v), quantity] for v in volunteers], dtype=float)
            oth = np.array([volumes.at[(other, v), quantity] for v in volunteers], dtype=float)
            if (ref <= 0).any() or np.isnan(ref).any():
                raise InputDataError(
                    f"{CONFUSION_DIR}: {reference}'s {quantity} is not positive for a test volunteer "
                    f"({dict(zip(volunteers, ref.tolist(), strict=True))}); no relative difference"
                )
            row[column] = float(np.mean(np.abs(oth - ref) / ref) * 100)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(VOLUME_COLUMNS))


def _subject_rows(volumes: pd.DataFrame, volunteers: list[int]) -> pd.DataFrame:
    rows = []
    for method in METHODS:
        for volunteer in volunteers:
            if (method, volunteer) not in volumes.index:
                continue
            pred, true = volumes.loc[(method, volunteer)], volumes.loc[(EXPERT_1, volunteer)]
            rows.append({
                "method": method, "subject": str(volunteer), "patient": str(volunteer),
                "ed_frame": pred["ed_frame"], "es_frame": pred["es_frame"],
                "edv_pred_ml": pred["edv_ml"], "esv_pred_ml": pred["esv_ml"], "ef_pred_fraction": pred["ef_fraction"],
                "edv_true_ml": true["edv_ml"], "esv_true_ml": true["esv_ml"], "ef_true_fraction": true["ef_fraction"],
            })
    return pd.DataFrame(rows, columns=list(SUBJECT_COLUMNS))


def load_cmr_seg_tl_7t(refdata_dir: Path) -> PublishedCineResults:
    """The 7T comparison of cmr-seg-tl: Dice by set, test volume agreement, per-subject volumes against WS.

    ``refdata_dir`` is the ``refdata/cmr-seg-tl`` folder. Raises
    :class:`InputDataError` naming the file when one is missing or malformed.
    """
    refdata_dir = Path(refdata_dir)
    paths = {c: _require(refdata_dir, f"{CONFUSION_DIR}/{c.file}") for c in COMPARISONS}
    esed_path, counts_path = _require(refdata_dir, ESED_FILE), _require(refdata_dir, PIXEL_COUNTS_FILE)
    provenance = tuple(describe_file(p, refdata_dir) for p in (*paths.values(), esed_path, counts_path))
    tables = {c: read_confusion_table(paths[c], c) for c in COMPARISONS}
    dice = compute_dice_by_set(tables)
    lv_pixels = collect_lv_pixels(tables, paths)
    images = pd.concat([t[["image", "volunteer", "frame", "set"]] for t in tables.values()]).drop_duplicates()
    if images["image"].duplicated().any():
        example = images.loc[images["image"].duplicated(), "image"].iat[0]
        raise InputDataError(f"{refdata_dir / CONFUSION_DIR}: image {example} is in different sets in different files")
    expert_2_images = pd.concat([t for c, t in tables.items() if EXPERT_2 in (c.method, c.reference)])
    volunteers = sorted(int(v) for v in expert_2_images["volunteer"].unique())
    if not volunteers:
        raise InputDataError(f"{CONFUSION_DIR}: the {EXPERT_2} files have no images; no test volunteers")
    frames = read_esed_frames(esed_path, read_pixel_counts(counts_path), counts_path)
    volumes = compute_volumes(lv_pixels, images, frames, volunteers)
    agreement = compute_volume_agreement(volumes, volunteers)
    listed = ", ".join(str(v) for v in volunteers)
    logger.info("cmr-seg-tl 7T: %d comparisons, test volunteers %s", len(COMPARISONS), listed)
    return PublishedCineResults(
        study=STUDY,
        methods=METHODS,
        subjects=_subject_rows(volumes, volunteers),
        provenance=provenance,
        conventions=CONVENTIONS,
        tables=(
            PublishedTable(
                "dice_by_set", "7T: mean per-image Dice by set", dice,
                note="Mean over the images of each set of per-image Dice (LV blood pool, myocardium) on the "
                     "256 x 256 grid; an image where both masks lack the structure counts as 1. reference: WS = "
                     "expert 1, TR = expert 2 (test volunteers only).",
            ),
            PublishedTable(
                "volume_agreement", "7T: volume agreement on the test volunteers", agreement,
                note=f"Test volunteers {listed} (the ones both experts annotated); LV pixels at the ED/ES frames "
                     f"of esed_frames.tsv (expert 1's), x {ML_PER_PIXEL} mL; mean over volunteers of "
                     "|x_other - x_ref| / x_ref x 100, the reference named first.",
            ),
        ),
    )
