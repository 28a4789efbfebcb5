"""Deterministic synthetic short-axis cine phantoms.

Each subject is a stack of 8-12 short-axis slices of 128x128 pixels at about
1.4 x 1.4 x 8 mm through a beating left ventricle (blood pool + myocardium)
with the right ventricle beside it, inside a body with a liver-like bright
organ, a round bright aorta-like vessel, noise and a smooth bias field. Shape,
size, position, ejection fraction, intensities, noise and bias differ between
subjects; everything follows from one seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

SIZE = 128


@dataclass(frozen=True)
class Phantom:
    image: np.ndarray  # (frames, slices, y, x) float32
    labels: np.ndarray  # (frames, slices, y, x) uint8
    spacing_mm: tuple[float, float, float]  # (x, y, z)
    ed_frame: int
    es_frame: int


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float, angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    dy, dx = yy - cy, xx - cx
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    return (u / max(rx, 1e-6)) ** 2 + (v / max(ry, 1e-6)) ** 2 <= 1.0


@dataclass(frozen=True)
class _Heart:
    """The cardiac layers of one slice at one frame, in pixel units."""

    cy: float
    cx: float
    pixel_mm: float
    aspect: float
    angle: float
    endo_mm: float
    epi_mm: float
    epi_ed_mm: float
    r_factor: float
    rv_dir: float
    rv_scale: float
    papillary_angles: tuple[float, ...]
    k: int
    n_slices: int

    def papillary(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Papillary muscles: myocardial intensity, but inside the LV blood-pool label."""
        out = np.zeros(y.shape, bool)
        if not (0 < self.k < self.n_slices - 1):
            return out
        r_px = self.endo_mm / self.pixel_mm
        for a in self.papillary_angles:
            py, px = self.cy + np.sin(a) * r_px * 0.8, self.cx + np.cos(a) * r_px * 0.8
            out |= (y - py) ** 2 + (x - px) ** 2 <= (0.22 * r_px) ** 2
        return out

    def layers(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Endocardium, epicardium and RV blood-pool masks."""
        cy, cx, px_mm, aspect, angle = self.cy, self.cx, self.pixel_mm, self.aspect, self.angle
        endo = _ellipse(y, x, cy, cx, self.endo_mm / px_mm * aspect, self.endo_mm / px_mm / aspect, angle)
        epi = _ellipse(y, x, cy, cx, self.epi_mm / px_mm * aspect, self.epi_mm / px_mm / aspect, angle)
        rv_r = (self.epi_ed_mm * self.rv_scale) / px_mm * (0.85 + 0.15 * self.r_factor)
        rv_cy = cy + np.sin(self.rv_dir) * (self.epi_mm / px_mm + rv_r * 0.35)
        rv_cx = cx + np.cos(self.rv_dir) * (self.epi_mm / px_mm + rv_r * 0.35)
        rv = _ellipse(y, x, rv_cy, rv_cx, rv_r * 1.1, rv_r * 0.6, self.rv_dir + np.pi / 2)
        rv &= ~_ellipse(y, x, cy, cx, self.epi_mm / px_mm * aspect + 2, self.epi_mm / px_mm / aspect + 2, angle)
        if self.k >= self.n_slices - 2:  # the RV does not reach the apex
            rv &= False
        return endo, epi, rv


#: Acquisition styles: "standard" (1.5 T-like) and "ultrahigh" (7 T-like: finer pixels,
#: more noise, a much stronger bias field and lower blood-myocardium contrast).
DOMAINS = ("standard", "ultrahigh")


def make_phantom(seed: int, n_frames: int = 8, domain: str = "standard") -> Phantom:
    if n_frames < 2:
        raise ValueError(f"a cine phantom needs at least 2 frames (ED and ES), got {n_frames}")
    if domain not in DOMAINS:
        raise ValueError(f"unknown phantom domain '{domain}'; expected one of {DOMAINS}")
    rng = np.random.default_rng(seed)
    n_slices = int(rng.integers(8, 13))
    pixel_mm = float(rng.uniform(1.3, 1.5))
    slice_mm = float(rng.choice([7.0, 8.0, 9.0]))
    ef = float(rng.uniform(0.35, 0.70))
    es_frame = max(1, min(n_frames - 1, round(n_frames * rng.uniform(0.35, 0.5))))  # 3 or 4 of 8
    ed_frame = 0
    cy, cx = SIZE / 2 + rng.uniform(-10, 10), SIZE / 2 + rng.uniform(-10, 10)
    r_ed_mm = rng.uniform(22, 30)
    wall_mm = rng.uniform(6, 9)
    aspect = rng.uniform(0.85, 1.15)
    angle = rng.uniform(0, np.pi)
    rv_dir = rng.uniform(np.pi * 0.75, np.pi * 1.25)  # the RV sits on the patient's right (image left)
    rv_scale = rng.uniform(1.1, 1.4)
    blood, myo, tissue = rng.uniform(0.65, 1.0), rng.uniform(0.2, 0.35), rng.uniform(0.4, 0.55)
    papillary_angles = angle + np.array([rng.uniform(0.6, 1.0), rng.uniform(2.0, 2.6)])  # two papillary muscles
    noise = rng.uniform(0.02, 0.07)
    liver_c = (cy + rng.uniform(25, 35), cx + rng.uniform(15, 30))
    aorta_c = (cy - rng.uniform(28, 36), cx + rng.uniform(-5, 15))
    bias = rng.uniform(-0.25, 0.25, size=3)
    if domain == "ultrahigh":
        pixel_mm *= 0.75
        noise *= 1.8
        bias *= 2.5
        myo = myo + 0.12

    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    # two-times supersampled grid for partial-volume intensities
    ys, xs = np.mgrid[0 : SIZE * 2, 0 : SIZE * 2].astype(np.float32) / 2.0 - 0.25
    bias_field = 1.0 + bias[0] * (yy / SIZE - 0.5) + bias[1] * (xx / SIZE - 0.5) + bias[2] * ((yy - SIZE / 2) ** 2 + (xx - SIZE / 2) ** 2) / SIZE**2

    image = np.zeros((n_frames, n_slices, SIZE, SIZE), np.float32)
    labels = np.zeros((n_frames, n_slices, SIZE, SIZE), np.uint8)
    # contraction curve: 0 at ED (frame 0), 1 at ES, back towards 0 by the end
    phase = np.array([t / es_frame if t <= es_frame else 1 - (t - es_frame) / (n_frames - es_frame) for t in range(n_frames)])
    contraction = np.sin(np.clip(phase, 0, 1) * np.pi / 2) ** 2
    radius_factor_es = np.sqrt(1 - ef)
    for t in range(n_frames):
        r_factor = 1 - (1 - radius_factor_es) * contraction[t]
        for k in range(n_slices):
            taper = np.sqrt(max(1 - (k / n_slices) ** 2 * 0.9, 0.05))  # base (k=0) to apex
            endo_mm = r_ed_mm * taper * r_factor
            ed_endo_mm = r_ed_mm * taper
            epi_ed_mm = ed_endo_mm + wall_mm
            # myocardial area is conserved through the cycle
            epi_mm = np.sqrt(max(epi_ed_mm**2 - ed_endo_mm**2 + endo_mm**2, 0))
            heart = _Heart(cy, cx, pixel_mm, aspect, angle, endo_mm, epi_mm, epi_ed_mm, r_factor, rv_dir, rv_scale,
                           tuple(papillary_angles), k, n_slices)
            endo, epi, rv = heart.layers(yy, xx)
            lab = np.zeros((SIZE, SIZE), np.uint8)
            lab[epi] = 2
            lab[endo] = 1
            lab[rv] = 3
            labels[t, k] = lab
            endo_s, epi_s, rv_s = heart.layers(ys, xs)
            body = _ellipse(ys, xs, SIZE / 2, SIZE / 2, SIZE * 0.46, SIZE * 0.49, 0.0)
            liver = _ellipse(ys, xs, *liver_c, 22, 30, 0.4) & body
            aorta = _ellipse(ys, xs, *aorta_c, 7, 7, 0.0)
            hi = np.full(ys.shape, 0.05, np.float32)
            hi[body] = tissue
            hi[liver] = blood * 0.7
            hi[aorta] = blood * 0.95
            hi[epi_s] = myo
            # slow flow darkens the blood towards the apex
            hi[endo_s] = blood * (1 - 0.3 * k / n_slices)
            hi[heart.papillary(ys, xs) & endo_s] = myo * 1.2
            hi[rv_s] = blood * 0.9
            low = hi.reshape(SIZE, 2, SIZE, 2).mean(axis=(1, 3))
            image[t, k] = low
    image = ndimage.gaussian_filter(image, sigma=(0, 0, 0.6, 0.6))
    image *= bias_field[None, None]
    image += rng.normal(0, noise, size=image.shape).astype(np.float32)
    image = np.clip(image, 0, None) * 1000.0
    return Phantom(image.astype(np.float32), labels, (pixel_mm, pixel_mm, slice_mm), ed_frame, es_frame)
