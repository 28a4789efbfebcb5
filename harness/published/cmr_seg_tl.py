"""The cmr-seg-tl study (Ankenbrand et al., MRM 2021): its Kaggle DSB per-patient volumes, recomputed.

Reads the study's reference data (``refdata/cmr-seg-tl``, MIT) and rebuilds,
per published model and Kaggle Id, the predicted EDV/ESV/EF with the paper's
conventions (see ``docs/clinical.md`` and :data:`CONVENTIONS`):

* per-image LV pixel counts on each model's letterboxed output grid (128 × 128
  for ``r34_p05_s128``, else 256 × 256), summed over slices per frame;
* ED / ES from each model's own curve (largest / smallest LV total, first frame
  on ties: :func:`harness.metrics.clinical.select_phase_frames`);
* ``voxel_ml = max(X, Y)² · pixelSpacingX · pixelSpacingY · sliceSpacing / (1000 · size²)``
  from ``patient_dimensions.tsv`` (spacings already include the downscaling);
* the ``_rot90`` copy of an Id replaces the Id where it exists; ``_a`` / ``_b``
  series are separate subjects compared with their patient's truth;
* UKBB (ukbb_cardiac) volumes are taken ready-made from its volume table.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import InputDataError
from harness.metrics.clinical import CineCurve, compute_ejection_fraction, select_phase_frames
from harness.published.results import SUBJECT_COLUMNS, PublishedCineResults, SourceFile, describe_file, require_file

logger = logging.getLogger(__name__)

STUDY = "cmr-seg-tl (Ankenbrand et al., MRM 2021; doi:10.1002/mrm.28822), Kaggle DSB"
PIXELS_FILE = "kaggle/predictions/lv_pixels_per_image_10models.tsv.xz"
DIMENSIONS_FILE = "kaggle/patient_dimensions.tsv"
TRUTH_FILES = ("kaggle/truth/train.csv", "kaggle/truth/validate.csv", "kaggle/truth/solution.csv")
UKBB_FILE = "kaggle/ukbb_ventricular_volumes.csv.xz"
PAPER_VOLUME_FILES = {
    "diastole": "kaggle/predictions/prediction_vs_gt_diastole.tsv.xz",
    "systole": "kaggle/predictions/prediction_vs_gt_systole.tsv.xz",
}
MODELS = (
    "r34_p05_s256",
    "r50_p05_s256",
    "r34_p15_s256",
    "r34_p05_s256_focal",
    "r34_p10_s256",
    "r34_p05_s256_extremeTfms",
    "r34_p05_s128",
    "r34_p05_s256_dice",
    "v16_p05_s256",
    "r34_p05_s256_fastai2",
)
UKBB = "UKBB"
GRID_SIZE_PX = {model: (128 if model == "r34_p05_s128" else 256) for model in MODELS}
ROT90_SUFFIX = "_rot90"
IMAGE_PATTERN = r"^(?P<series>[^-]+)-frame(?P<frame>\d{3})-slice(?P<slice>\d{3})$"
CONVENTIONS = (
    "LV volume per frame = sum over slices of LV pixels x voxel_ml (disc summation)",
    "grid size 128 for r34_p05_s128, else 256; voxel_ml = max(X,Y)^2*psX*psY*sliceSpacing/(1000*size^2)",
    "ED = largest, ES = smallest LV volume of the method's own curve; first frame on ties",
    "the _rot90 copy of an Id is used where it exists; _a/_b series are separate subjects with the base truth",
    "UKBB volumes: LVEDV (mL) / LVESV (mL) of ukbb_ventricular_volumes.csv.xz",
    "EF = (EDV - ESV) / EDV as a fraction; NaN (undefined) when EDV = 0",
)


def _require(refdata_dir: Path, name: str) -> Path:
    return require_file(refdata_dir, name, "cmr-seg-tl", "see its README.md for the file list")


def _read_table(path: Path, sep: str, **kwargs: object) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, **kwargs)  # type: ignore[call-overload]
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as err:
        raise InputDataError(f"cannot read {path}: {err}") from err


def _check_columns(table: pd.DataFrame, path: Path, expected: tuple[str, ...] | list[str]) -> None:
    missing = [c for c in expected if c not in table.columns]
    if missing:
        raise InputDataError(f"{path}: missing columns {missing}; found {list(table.columns)[:12]}")


def read_frame_pixel_counts(path: Path) -> pd.DataFrame:
    """LV pixel totals per (series, frame) and model: the per-image table summed over slices.

    Index ``(series, frame)`` sorted; one integer column per model in :data:`MODELS`.
    """
    table = _read_table(path, "\t", dtype={"image": str})
    _check_columns(table, path, ["image", *MODELS])
    parts = table["image"].str.extract(IMAGE_PATTERN)
    bad = parts["series"].isna()
    if bad.any():
        examples = table.loc[bad, "image"].head(3).tolist()
        raise InputDataError(
            f"{path}: {int(bad.sum())} image names do not match <Id>-frame<FFF>-slice<SSS>, e.g. {examples}"
        )
    counts = table[list(MODELS)]
    if counts.isna().any().any() or (counts < 0).any().any():
        raise InputDataError(f"{path}: LV pixel counts must be non-negative numbers without gaps")
    counts = counts.astype(np.int64)
    counts.insert(0, "frame", parts["frame"].astype(int))
    counts.insert(0, "series", parts["series"])
    if table["image"].duplicated().any():
        examples = table.loc[table["image"].duplicated(), "image"].head(3).tolist()
        raise InputDataError(f"{path}: repeated image rows, e.g. {examples}; expected one row per image")
    return counts.groupby(["series", "frame"], sort=True)[list(MODELS)].sum()


def select_series(series_ids: list[str] | pd.Index) -> list[str]:
    """The series the paper evaluates: the ``_rot90`` copy where one exists, else the series itself."""
    ids = set(series_ids)
    return sorted(s for s in ids if s.endswith(ROT90_SUFFIX) or f"{s}{ROT90_SUFFIX}" not in ids)


def patient_of(series: str) -> str:
    """Kaggle patient of a series id: ``1001_rot90`` → ``1001``, ``123_a`` → ``123``."""
    return series.removesuffix(ROT90_SUFFIX).split("_")[0]


def read_voxel_ml(path: Path) -> pd.DataFrame:
    """Per ``pid`` (series without ``_rot90``) the volume of one output pixel, one column per grid size (ml)."""
    dims = _read_table(path, "\t", dtype={"pid": str})
    columns = ["pid", "X", "Y", "pixelSpacingX", "pixelSpacingY", "sliceSpacing"]
    _check_columns(dims, path, columns)
    if dims["pid"].duplicated().any():
        raise InputDataError(f"{path}: repeated pid {dims.loc[dims['pid'].duplicated(), 'pid'].head(3).tolist()}")
    values = dims[columns[1:]].astype(float)
    if not (values > 0).all().all():
        raise InputDataError(f"{path}: sizes and spacings must be positive numbers")
    fov = (
        values[["X", "Y"]].max(axis=1) ** 2 * values["pixelSpacingX"] * values["pixelSpacingY"] * values["sliceSpacing"]
    )
    sizes = sorted(set(GRID_SIZE_PX.values()))
    return pd.DataFrame({size: fov / (1000 * size**2) for size in sizes}).set_index(dims["pid"])


def read_kaggle_truth(refdata_dir: Path) -> pd.DataFrame:
    """Kaggle DSB truth: index ``patient`` (str), columns ``edv_ml``, ``esv_ml``."""
    parts = []
    for name in TRUTH_FILES[:2]:
        path = _require(refdata_dir, name)
        table = _read_table(path, ",", dtype={"Id": str})
        _check_columns(table, path, ["Id", "Systole", "Diastole"])
        parts.append(table.rename(columns={"Id": "patient", "Diastole": "edv_ml", "Systole": "esv_ml"}))
    path = _require(refdata_dir, TRUTH_FILES[2])
    solution = _read_table(path, ",", dtype={"Id": str})
    _check_columns(solution, path, ["Id", "Volume"])
    keys = solution["Id"].str.extract(r"^(?P<patient>\d+)_(?P<phase>Diastole|Systole)$")
    if keys["patient"].isna().any():
        raise InputDataError(
            f"{path}: Ids must look like 1000_Diastole, found {solution.loc[keys['patient'].isna(), 'Id'].head(3).tolist()}"
        )
    if keys.duplicated().any():
        raise InputDataError(f"{path}: repeated Ids {solution.loc[keys.duplicated(), 'Id'].head(3).tolist()}")
    wide = pd.concat([keys, solution["Volume"]], axis=1).pivot(index="patient", columns="phase", values="Volume")
    wide = wide.reindex(columns=["Diastole", "Systole"])  # a phase absent from the file shows as a gap
    parts.append(wide.reset_index().rename(columns={"Diastole": "edv_ml", "Systole": "esv_ml"}))
    truth = pd.concat([p[["patient", "edv_ml", "esv_ml"]] for p in parts], ignore_index=True)
    if truth["patient"].duplicated().any():
        raise InputDataError(
            f"Kaggle truth: patients {truth.loc[truth['patient'].duplicated(), 'patient'].head(3).tolist()} appear twice across {list(TRUTH_FILES)}"
        )
    truth = truth.set_index("patient").apply(pd.to_numeric, errors="coerce")  # non-numbers become gaps
    if truth.isna().any().any():
        raise InputDataError(
            f"Kaggle truth: patients {truth.index[truth.isna().any(axis=1)].tolist()[:3]} lack a volume"
        )
    return truth


def _model_rows(frame_pixels: pd.DataFrame, series: list[str], voxel_ml: pd.DataFrame) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    by_series = {s: group.droplevel("series") for s, group in frame_pixels.groupby(level="series", sort=False)}
    for s in series:
        pid = s.removesuffix(ROT90_SUFFIX)
        if pid not in voxel_ml.index:
            raise InputDataError(f"{DIMENSIONS_FILE}: no row for pid {pid} (series {s}); cannot convert pixels to ml")
        pixels = by_series[s]
        frames = tuple(int(f) for f in pixels.index)
        for model in MODELS:
            curve = CineCurve(
                frames=frames, lv_ml=tuple(pixels[model].to_numpy() * voxel_ml.at[pid, GRID_SIZE_PX[model]])
            )
            phases = select_phase_frames(curve)
            rows.append(
                {
                    "method": model,
                    "subject": s,
                    "ed_frame": phases.ed_frame,
                    "es_frame": phases.es_frame,
                    "edv_pred_ml": curve.value_at("lv_ml", phases.ed_frame),
                    "esv_pred_ml": curve.value_at("lv_ml", phases.es_frame),
                }
            )
    return rows


def _ukbb_rows(path: Path, series: list[str]) -> list[dict[str, object]]:
    table = _read_table(path, ",", index_col=0)
    _check_columns(table, path, ["LVEDV (mL)", "LVESV (mL)"])
    table.index = table.index.astype(str)
    missing = [s for s in series if s not in table.index]
    if missing:
        raise InputDataError(f"{path}: no UKBB volumes for {len(missing)} series, e.g. {missing[:3]}")
    return [
        {
            "method": UKBB,
            "subject": s,
            "ed_frame": np.nan,
            "es_frame": np.nan,
            "edv_pred_ml": float(table.at[s, "LVEDV (mL)"]),
            "esv_pred_ml": float(table.at[s, "LVESV (mL)"]),
        }
        for s in series
    ]


def load_cmr_seg_tl_kaggle(refdata_dir: Path) -> PublishedCineResults:
    """Per model and Kaggle series: predicted and true EDV/ESV/EF of the 10 cmr-seg-tl models plus UKBB.

    ``refdata_dir`` is the ``refdata/cmr-seg-tl`` folder. Raises
    :class:`InputDataError` naming the file when one is missing or malformed.
    """
    refdata_dir = Path(refdata_dir)
    names = [PIXELS_FILE, DIMENSIONS_FILE, *TRUTH_FILES, UKBB_FILE]
    paths = {name: _require(refdata_dir, name) for name in names}
    provenance: tuple[SourceFile, ...] = tuple(describe_file(paths[n], refdata_dir) for n in names)
    frame_pixels = read_frame_pixel_counts(paths[PIXELS_FILE])
    series = select_series(frame_pixels.index.get_level_values("series").unique())
    voxel_ml = read_voxel_ml(paths[DIMENSIONS_FILE])
    truth = read_kaggle_truth(refdata_dir)
    subjects = pd.DataFrame(_model_rows(frame_pixels, series, voxel_ml) + _ukbb_rows(paths[UKBB_FILE], series))
    subjects["patient"] = subjects["subject"].map(patient_of)
    unknown = sorted(set(subjects["patient"]) - set(truth.index))
    if unknown:
        raise InputDataError(f"Kaggle truth ({', '.join(TRUTH_FILES)}) has no volumes for patients {unknown[:5]}")
    subjects["edv_true_ml"] = subjects["patient"].map(truth["edv_ml"])
    subjects["esv_true_ml"] = subjects["patient"].map(truth["esv_ml"])
    for side in ("pred", "true"):
        subjects[f"ef_{side}_fraction"] = [
            np.nan if (ef := compute_ejection_fraction(edv, esv)) is None else ef
            for edv, esv in zip(subjects[f"edv_{side}_ml"], subjects[f"esv_{side}_ml"], strict=True)
        ]
    logger.info("cmr-seg-tl: %d series x %d methods", len(series), len(MODELS) + 1)
    return PublishedCineResults(
        study=STUDY,
        methods=(*MODELS, UKBB),
        subjects=subjects[list(SUBJECT_COLUMNS)],
        provenance=provenance,
        conventions=CONVENTIONS,
    )


def compare_with_paper_volumes(results: PublishedCineResults, refdata_dir: Path, rtol: float = 1e-9) -> pd.DataFrame:
    """Check recomputed volumes against the paper's own ``prediction_vs_gt_{diastole,systole}`` tables.

    One row per method × phase: ``method, phase, n_paper, n_ours, n_matched``
    (pairs with the same Id), ``n_agree`` (prediction and truth both within
    ``rtol``), ``max_abs_diff_ml`` (largest |ours − paper| predicted volume).
    """
    out = []
    ours = results.subjects
    for phase, name in PAPER_VOLUME_FILES.items():
        path = _require(Path(refdata_dir), name)
        paper = _read_table(path, "\t", dtype={"Id": str})
        _check_columns(paper, path, ["Id", "GroundTruth", "method", "prediction"])
        pred_col, true_col = ("edv_pred_ml", "edv_true_ml") if phase == "diastole" else ("esv_pred_ml", "esv_true_ml")
        merged = ours.merge(paper, left_on=["method", "subject"], right_on=["method", "Id"], how="inner")
        for method in sorted(set(paper["method"]) | set(ours["method"])):
            m = merged[merged["method"] == method]
            agree = np.isclose(m[pred_col], m["prediction"], rtol=rtol, atol=0) & np.isclose(
                m[true_col], m["GroundTruth"], rtol=rtol, atol=0
            )
            out.append(
                {
                    "method": method,
                    "phase": phase,
                    "n_paper": int((paper["method"] == method).sum()),
                    "n_ours": int((ours["method"] == method).sum()),
                    "n_matched": len(m),
                    "n_agree": int(agree.sum()),
                    "max_abs_diff_ml": float((m[pred_col] - m["prediction"]).abs().max()) if len(m) else np.nan,
                }
            )
    return pd.DataFrame(out)
