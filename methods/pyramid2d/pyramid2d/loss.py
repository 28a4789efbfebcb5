"""The two-stage multi-class Dice loss of the seed (``MultiClassDiceLoss``).

For each stage and each foreground class l = 1..L (background excluded), per image,
Milletari's Dice ``2 Σ p·g / (Σ p² + Σ g² + 1e-5)``; averaged over the classes; the
loss is ``mean over the batch of 2 − (D_stage1 + D_stage2)`` (range 0–2; "mean Dice"
= (2 − loss) / 2). Both stages are compared with the full-size one-hot target.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPSILON = 1e-5


def stage_dice(probabilities: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    """(N,) mean over foreground classes of each image's Milletari Dice."""
    p, g = probabilities[:, 1:], onehot[:, 1:]
    dice = 2 * (p * g).sum((2, 3)) / ((p * p).sum((2, 3)) + (g * g).sum((2, 3)) + EPSILON)
    return dice.mean(1)


def two_stage_dice_loss(stage1: torch.Tensor, stage2: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    onehot = F.one_hot(target, stage2.shape[1]).permute(0, 3, 1, 2).float()
    return (2 - (stage_dice(stage1.float(), onehot) + stage_dice(stage2.float(), onehot))).mean()
