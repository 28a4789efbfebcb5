"""Training losses on logits (N, K, H, W) and class indices (N, H, W).

    ce    pixel-wise cross-entropy, mean over pixels (Caffe's SoftmaxWithLoss, normalised)
    dice  1 - soft Dice of the foreground classes, pooled over the batch: 2Σpg / (Σp + Σg) with
          smoothing 1, averaged over classes 1..K-1 (the tutorial's Dice layer with a backward pass)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), target)


def soft_dice(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    probs = logits.float().softmax(1)
    onehot = F.one_hot(target, probs.shape[1]).permute(0, 3, 1, 2).float()
    inter = (probs * onehot).sum((0, 2, 3))
    denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + 1) / (denom + 1))[1:].mean()


LOSSES: dict[str, Loss] = {"ce": cross_entropy, "dice": soft_dice}
