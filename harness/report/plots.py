"""The report's figures as inline SVG (matplotlib, Agg): per-case distributions and Bland–Altman plots.

SVG keeps the site self-contained (no script, no CDN, readable from a file:// URL) and the
figures sharp at any zoom. Output is deterministic (fixed id salt, no date), so rendering the
same results twice gives the same page.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

MAX_DOTS = 300  # per entry: above this many cases a distribution is drawn as a box without its dots

QUANTITIES = {  # subjects.csv column stem → axis label
    "edv": ("EDV", "ml"),
    "esv": ("ESV", "ml"),
    "ef": ("EF", "%"),
}


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "segarena", "svg.fonttype": "none", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _svg(fig: object) -> str:
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inline in HTML


def distribution_svg(values: dict[str, np.ndarray], metric: str, unit: str = "") -> str:
    """Per entry (top = the leaderboard's first), a box of its case values with every case as a dot."""
    plt = _pyplot()
    entries = list(values)
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(entries) + 0.9), layout="constrained")
    rng = np.random.default_rng(0)
    positions = list(range(len(entries), 0, -1))
    finite = [v[np.isfinite(v)] for v in values.values()]
    ax.boxplot(finite, positions=positions, orientation="horizontal", widths=0.5, showfliers=False,
               medianprops={"color": "#b2182b"}, boxprops={"color": "#555"}, whiskerprops={"color": "#555"},
               capprops={"color": "#555"})
    for position, data in zip(positions, finite, strict=True):
        if len(data) > MAX_DOTS:  # boxes only: thousands of dots make a page of megabytes and show nothing more
            continue
        jitter = rng.uniform(-0.15, 0.15, size=len(data))
        ax.scatter(data, position + jitter, s=6, alpha=0.45, color="#2166ac", linewidths=0)
    ax.set_yticks(positions, entries)
    ax.set_xlabel(f"{metric}{f' ({unit})' if unit else ''} per case")
    return _svg(fig)


def bland_altman_svg(subjects: pd.DataFrame, title: str) -> str:
    """EDV, ESV and EF side by side: mean of truth and prediction against truth − prediction."""
    plt = _pyplot()
    stems = [s for s in QUANTITIES if f"{s}_true_{_unit_suffix(s)}" in subjects and f"{s}_pred_{_unit_suffix(s)}" in subjects]
    fig, axes = plt.subplots(1, len(stems), figsize=(3.4 * len(stems), 3.0), squeeze=False, layout="constrained")
    for ax, stem in zip(axes[0], stems, strict=True):
        suffix = _unit_suffix(stem)
        true = pd.to_numeric(subjects[f"{stem}_true_{suffix}"], errors="coerce").to_numpy(dtype=float)
        pred = pd.to_numeric(subjects[f"{stem}_pred_{suffix}"], errors="coerce").to_numpy(dtype=float)
        keep = np.isfinite(true) & np.isfinite(pred)
        mean, difference = (true[keep] + pred[keep]) / 2, true[keep] - pred[keep]
        name, unit = QUANTITIES[stem]
        ax.scatter(mean, difference, s=14, color="#2166ac", alpha=0.8, linewidths=0)
        if len(difference) > 1:
            bias, sd = float(np.mean(difference)), float(np.std(difference, ddof=1))
            for level, style in ((bias, "-"), (bias - 1.96 * sd, "--"), (bias + 1.96 * sd, "--")):
                ax.axhline(level, color="#b2182b", linestyle=style, linewidth=1)
            ax.set_title(f"{name}: bias {bias:.2f}, LoA ±{1.96 * sd:.2f} {unit}", fontsize=8)
        else:
            ax.set_title(f"{name}: n = {len(difference)}", fontsize=8)
        ax.axhline(0, color="#999", linewidth=0.6)
        ax.set_xlabel(f"mean of true and predicted {name} ({unit})")
        ax.set_ylabel(f"true − predicted ({unit})")
    fig.suptitle(title, fontsize=9)
    return _svg(fig)


def _unit_suffix(stem: str) -> str:
    return "pct" if stem == "ef" else "ml"


def has_values(values: dict[str, np.ndarray]) -> bool:
    return any(bool(np.isfinite(v).any()) for v in values.values())


def blob_svg(ranking: object) -> str:
    """challengeR's blob plot: per entry (in rank order), how often each rank came up over the bootstrap.

    Disc area ∝ the share of resamples with that rank; the black cross is the rank on all subjects and the
    line the 2.5–97.5 % interval of the bootstrap ranks.
    """
    plt = _pyplot()
    entries: list[str] = list(ranking.entries)  # type: ignore[attr-defined]
    counts: dict[str, list[int]] = ranking.rank_counts  # type: ignore[attr-defined]
    ranks: dict[str, float] = ranking.ranks  # type: ignore[attr-defined]
    stability = {s.entry: s for s in ranking.stability}  # type: ignore[attr-defined]
    n_boot = max(1, int(ranking.n_boot))  # type: ignore[attr-defined]
    k = len(entries)
    fig, ax = plt.subplots(figsize=(max(3.2, 0.55 * k + 1.4), max(2.2, 0.32 * k + 1.2)))  # bbox "tight" fits labels
    for x, entry in enumerate(entries, start=1):
        share = np.asarray(counts.get(entry, []), dtype=float) / n_boot
        ys = np.arange(1, len(share) + 1)
        keep = share > 0
        ax.scatter(np.full(keep.sum(), x), ys[keep], s=420 * share[keep], color="#2166ac", alpha=0.55, linewidths=0)
        if entry in stability:
            ax.vlines(x, stability[entry].rank_low, stability[entry].rank_high, color="#555", linewidth=0.8)
        ax.scatter([x], [ranks.get(entry, np.nan)], marker="x", color="black", s=28, linewidths=1.2)
    ax.set_xticks(range(1, k + 1), entries, rotation=35 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(1, k + 1))
    ax.set_ylim(k + 0.6, 0.4)
    ax.set_ylabel("rank")
    ax.set_xlim(0.4, k + 0.6)
    ax.set_title(f"rank over {n_boot} bootstrap resamples of the subjects", fontsize=8)
    return _svg(fig)


def cost_accuracy_svg(points: list[dict[str, object]], metric: str) -> str:
    """Training time per job and inference time per case (log scale) against the headline metric."""
    plt = _pyplot()
    panels = [("train_s", "training time per job (s)"), ("predict_s_per_case", "inference time per case (s)")]
    panels = [p for p in panels if any(isinstance(q[p[0]], (int, float)) and q[p[0]] for q in points)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    fig.subplots_adjust(wspace=0.35)
    datasets = list(dict.fromkeys(str(p["dataset"]) for p in points))
    markers = "osD^vP*X"
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        for index, dataset in enumerate(datasets):
            own = [p for p in points if p["dataset"] == dataset and isinstance(p[key], (int, float)) and p[key]]
            xs = [float(p[key]) for p in own]  # type: ignore[arg-type]
            ys = [float(p["value"]) for p in own]  # type: ignore[arg-type]
            ax.scatter(xs, ys, marker=markers[index % len(markers)], s=26, label=dataset, alpha=0.85)
            for p, x, y in zip(own, xs, ys, strict=True):
                ax.annotate(str(p["entry"]), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(f"mean {metric}")
    if len(datasets) > 1:
        axes[0][-1].legend(fontsize=7, frameon=False)
    return _svg(fig)
