"""The short-axis FCN of Bai et al. (JCMR 2018), layer by layer as ``common/network.py: build_FCN`` builds it.

Five levels (16, 32, 64, 128, 256 filters; 2, 2, 3, 3, 3 convolutions; every level after the first starts
with a stride-2 convolution), each level mapped to 32 channels by a 1x1 convolution and up-sampled back to
full resolution by a transposed convolution with a fixed bilinear kernel, the five maps concatenated
(160 channels), two 1x1 convolutions of 64 and a 1x1 convolution to 4 logits. Every convolution but the last
has no bias and is followed by batch normalisation and ReLU. About 1.99 M trainable parameters.

Two TensorFlow behaviours are reproduced so that the authors' weights give the authors' output:

* ``padding='same'`` pads ``total = max((ceil(n/s) - 1) s + k - n, 0)`` with ``total // 2`` before and the rest
  after; for a stride-2 3x3 convolution on an even size that is 0 before and 1 after (PyTorch's
  ``padding=1`` would shift the grid by one pixel).
* ``conv2d_transpose(..., strides=f, padding='SAME')`` with the (2f-1)-wide linear kernel computes the full
  transposed convolution and keeps ``f n`` samples from offset ``(f - 1) // 2``.

Batch normalisation uses TensorFlow's defaults, epsilon 1e-3 and momentum 0.99 (PyTorch momentum 0.01).
The input size must be a multiple of 16 (``predict`` pads to one, as the authors' deploy script does).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

N_LEVELS = 5
BLOCKS = (2, 2, 3, 3, 3)
SAME_DIM = 32
FC = 64
N_CLASSES = 4
BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # = 1 - TensorFlow's 0.99


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding of one axis: (before, after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ConvBNReLU(nn.Module):
    """``conv2d_bn_relu``: a bias-free convolution with TensorFlow 'SAME' padding, batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                 bn_momentum: float = BN_MOMENTUM) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=bn_momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = same_padding(x.shape[-2], self.kernel, self.stride)
        left, right = same_padding(x.shape[-1], self.kernel, self.stride)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.relu(self.bn(self.conv(x)))


def linear_kernel_1d(size: int) -> torch.Tensor:
    """The odd-sized linear interpolation kernel: 1, 2, ..., c, ..., 2, 1 divided by c = (size + 1) / 2."""
    if size % 2 == 0:
        raise ValueError(f"the linear kernel needs an odd size, got {size}")
    c = (size + 1) // 2
    ramp = list(range(1, c + 1)) + list(range(c - 1, 0, -1))
    return torch.tensor(ramp, dtype=torch.float32) / c


class BilinearUpsample(nn.Module):
    """Up-sampling by ``factor`` as the authors' ``transpose_upsample2d``: a fixed, per-channel bilinear kernel."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.factor, self.channels = factor, channels
        line = linear_kernel_1d(2 * factor - 1)
        kernel = torch.outer(line, line)
        # not a parameter and not in the state dict: the authors' kernel is a constant of the graph
        self.register_buffer("kernel", kernel.expand(channels, 1, *kernel.shape).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.factor
        h, w = x.shape[-2:]
        full = F.conv_transpose2d(x, self.kernel, stride=f, groups=self.channels)
        start = (f - 1) // 2
        return full[..., start : start + f * h, start : start + f * w]


class UKBBFCN(nn.Module):
    """The FCN; ``forward`` returns logits (N, 4, H, W) for input (N, 1, H, W), H and W multiples of 16."""

    def __init__(self, base_filters: int = 16, n_classes: int = N_CLASSES) -> None:
        super().__init__()
        filters = [base_filters * 2**level for level in range(N_LEVELS)]
        self.levels = nn.ModuleList()
        in_channels = 1
        for level, (width, blocks) in enumerate(zip(filters, BLOCKS, strict=True)):
            layers = [ConvBNReLU(in_channels, width, 3, stride=1 if level == 0 else 2)]
            layers += [ConvBNReLU(width, width, 3) for _ in range(1, blocks)]
            self.levels.append(nn.Sequential(*layers))
            in_channels = width
        self.same_dim = nn.ModuleList(ConvBNReLU(width, SAME_DIM, 1) for width in filters)
        self.upsample = nn.ModuleList(nn.Identity() if level == 0 else BilinearUpsample(SAME_DIM, 2**level)
                                      for level in range(N_LEVELS))
        self.fc1 = ConvBNReLU(SAME_DIM * N_LEVELS, FC, 1)
        self.fc2 = ConvBNReLU(FC, FC, 1)
        self.logits = nn.Conv2d(FC, n_classes, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = 2 ** (N_LEVELS - 1)
        if x.shape[-2] % multiple or x.shape[-1] % multiple:
            raise ValueError(f"the FCN's input must be a multiple of {multiple} in height and width, got "
                             f"{tuple(x.shape[-2:])}; pad it (ukbb_fcn.data.pad_to_multiple)")
        features = []
        for level in self.levels:
            x = level(x)
            features.append(x)
        maps = [up(same(f)) for f, same, up in zip(features, self.same_dim, self.upsample, strict=True)]
        return self.logits(self.fc2(self.fc1(torch.cat(maps, dim=1))))

    def conv_bn_pairs(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d | None]]:
        """Every convolution with its batch norm, in the order TensorFlow created them (its variable numbering):
        the 13 encoder convolutions, the 5 same-dimension ones, the 2 fully-connected ones, the logits (no BN)."""
        blocks: list[ConvBNReLU] = [b for level in self.levels for b in level]  # type: ignore[misc]
        blocks += list(self.same_dim) + [self.fc1, self.fc2]  # type: ignore[arg-type]
        return [(b.conv, b.bn) for b in blocks] + [(self.logits, None)]


def set_bn_momentum(model: nn.Module, tf_momentum: float) -> None:
    """TensorFlow's momentum convention (the share of the running statistics kept per step, 0.99 by default)
    → every batch norm of ``model``; training only (it changes no weight and no output)."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 1.0 - tf_momentum


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
