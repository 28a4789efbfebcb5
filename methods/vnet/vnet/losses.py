"""Losses of the seed: soft Dice, focal, the boundary loss of Kervadec et al., and the hybrid schedule.

All take logits (N, K, D, H, W) of K classes (class 0 = background) and class indices (N, D, H, W);
probabilities are the softmax over K. Foreground classes are 1..K-1.

- Dice: ``1 - mean_k 2 sum(p_k g_k) / (sum p_k + sum g_k + eps)`` over the foreground classes.
- Focal (Lin et al. 2017): ``-alpha_t (1 - p_t)^gamma log p_t`` averaged over voxels, ``p_t`` the
  probability of the true class, ``alpha_t = alpha`` for foreground voxels and ``1 - alpha`` for background.
- Boundary (Kervadec et al., MedIA 2021): ``mean_q sum_k phi_k(q) p_k(q)`` over the foreground classes,
  ``phi_k`` the signed distance map of the reference's class k (:func:`signed_distance_map`).
- Hybrid: ``region + w_b(epoch) * boundary`` (region = dice or focal), ``w_b`` from
  :func:`hybrid_weight`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt

EPS = 1e-6


def signed_distance_map(mask: np.ndarray, spacing_mm: tuple[float, ...]) -> np.ndarray:
    """Signed distance map of one class in mm: ``+d(q, G)`` outside G, ``-d(q, outside G)`` inside.

    ``d`` is the Euclidean distance between voxel centres (scipy's ``distance_transform_edt`` with
    ``sampling=spacing_mm``, array axis order), so anisotropic voxels count in mm. Kervadec et al.'s
    ``one_hot2dist`` subtracts one voxel inside (``edt(~G)*~G - (edt(G) - 1)*G``); with distances in mm
    that offset has no unit, so it is left out here. An empty or full mask gives zeros.
    """
    pos = mask.astype(bool)
    if not pos.any() or pos.all():
        return np.zeros(mask.shape, np.float32)
    neg = ~pos
    outside = distance_transform_edt(neg, sampling=spacing_mm) * neg
    inside = distance_transform_edt(pos, sampling=spacing_mm) * pos
    return (outside - inside).astype(np.float32)


def distance_maps(classes: np.ndarray, n_classes: int, spacing_mm: tuple[float, ...]) -> np.ndarray:
    """(K-1, D, H, W) signed distance maps of the foreground classes of a (D, H, W) class map."""
    return np.stack([signed_distance_map(classes == k, spacing_mm) for k in range(1, n_classes)])


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    probs = torch.softmax(logits, dim=1)[:, 1:]
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 4, 1, 2, 3).to(probs.dtype)[:, 1:]
    dims = (0, 2, 3, 4)
    dice = 2 * (probs * onehot).sum(dims) / (probs.sum(dims) + onehot.sum(dims) + EPS)
    return 1 - dice.mean()


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    log_p = torch.log_softmax(logits, dim=1)
    log_pt = log_p.gather(1, target[:, None]).squeeze(1)
    pt = log_pt.exp()
    alpha_t = torch.where(target > 0, alpha, 1 - alpha)
    return (-alpha_t * (1 - pt) ** gamma * log_pt).mean()


def boundary_loss(logits: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """``dist``: (N, K-1, D, H, W) signed distance maps of the foreground classes."""
    probs = torch.softmax(logits, dim=1)[:, 1:]
    return (probs * dist).sum(1).mean()


def hybrid_weight(epoch: int, trigger_epoch: int | None, step: float, max_weight: float) -> float:
    """Weight of the boundary term at ``epoch`` (1-based): 0 before the schedule starts, then rising.

    ``trigger_epoch`` is the first epoch the boundary term is on (None: not yet). From it the weight is
    ``min(max_weight, step * (epoch - trigger_epoch + 1))``: ``step`` at the trigger epoch, ``2*step`` at the
    next, ... (the "increase-only" schedule of Kervadec et al.'s code; the regional term keeps weight 1).
    """
    if trigger_epoch is None or epoch < trigger_epoch:
        return 0.0
    return float(min(max_weight, step * (epoch - trigger_epoch + 1)))


def boundary_start(dice_by_epoch: list[float], from_epoch: int, dice_threshold: float) -> int | None:
    """The first epoch (1-based) with the boundary term on, given the Dice of each epoch so far (or None).

    It starts at ``from_epoch`` (when > 0), or at the epoch after the first one whose Dice reached
    ``dice_threshold`` (when > 0), whichever comes first; once started it stays on.
    """
    starts = [from_epoch] if from_epoch > 0 else []
    if dice_threshold > 0:
        reached = next((e for e, d in enumerate(dice_by_epoch, start=1) if d >= dice_threshold), None)
        if reached is not None:
            starts.append(reached + 1)
    return min(starts) if starts else None


class SegLoss:
    """The configured loss of ``params``; ``__call__(logits, target, dist, boundary_weight)``."""

    def __init__(self, params: dict) -> None:
        self.kind = str(params["loss"])
        self.region = str(params["hybrid_region"]) if self.kind == "hybrid" else self.kind
        self.alpha, self.gamma = float(params["focal_alpha"]), float(params["focal_gamma"])

    @property
    def needs_distance(self) -> bool:
        return self.kind in ("boundary", "hybrid")

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, dist: torch.Tensor | None,
                 boundary_weight: float) -> torch.Tensor:
        if self.kind == "boundary":
            assert dist is not None
            return boundary_loss(logits, dist)
        region = dice_loss(logits, target) if self.region == "dice" else focal_loss(logits, target, self.alpha, self.gamma)
        if self.kind == "hybrid" and boundary_weight > 0:
            assert dist is not None
            return region + boundary_weight * boundary_loss(logits, dist)
        return region
