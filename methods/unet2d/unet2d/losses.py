"""Training losses on logits (N, K, H, W) and class indices (N, H, W), and their weighted sums.

    ce        cross-entropy (mean over pixels)
    focal     softmax focal loss, gamma 2 (Lin et al. 2017): mean of (1 - p_t)^2 · CE
    softdice  1 - soft Dice over the foreground classes, pooled over the batch (smoothing 1)

All are computed in float32, also under mixed precision.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
FOCAL_GAMMA = 2.0


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), target)


def focal(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    p_t = torch.exp(-ce)
    return ((1 - p_t) ** FOCAL_GAMMA * ce).mean()


def soft_dice(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    probs = logits.float().softmax(1)
    onehot = F.one_hot(target, probs.shape[1]).permute(0, 3, 1, 2).float()
    inter = (probs * onehot).sum((0, 2, 3))
    denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + 1) / (denom + 1))[1:].mean()


TERMS: dict[str, Loss] = {"ce": cross_entropy, "focal": focal, "softdice": soft_dice}


def build_loss(terms: list[tuple[float, str]]) -> Loss:
    """The weighted sum of ``terms`` ([(weight, name), ...] from ``params.parse_loss``)."""

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum((weight * TERMS[name](logits, target) for weight, name in terms if weight > 0),
                   torch.zeros((), device=logits.device))

    return loss
