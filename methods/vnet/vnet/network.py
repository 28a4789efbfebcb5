"""VNet (Milletari et al., 3DV 2016) as the LA 2018 seed describes it, and BAM (Park et al., BMVC 2018) in 3D.

VNet: 5x5x5 convolutions with stride 1 ("same" padding) each followed by PReLU, residual stages
(the stage's input added to its last convolution's output), 2x2x2 stride-2 convolutions to go down
(channels doubled), 2x2x2 stride-2 transposed convolutions to go up, skip connections concatenated,
a 1x1x1 head giving logits. Four down-samplings: the input size must be a multiple of 16 per axis.
``num_layers`` is the number of 5x5x5 convolutions per stage (the seed's ``--num_layers 1``);
``norm`` adds a normalisation after each convolution (the paper has none).

BAM: attention ``1 + sigmoid(Mc(F) + Ms(F))`` applied to ``F`` (the paper's sum of the branches; the
authors' code multiplies them), channel branch global pool -> C/r -> C (no BatchNorm1d: it fails in
training with a batch of 1 volume), spatial branch 1x1x1 C -> C/r, two 3x3x3 convolutions with dilation
d, 1x1x1 -> 1. Placed at each bottleneck, i.e. on each encoder stage's output before it is down-sampled.
"""

from __future__ import annotations

import torch
from torch import nn


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=True)
    return nn.Identity()


class ConvUnit(nn.Module):
    """5x5x5 convolution (stride 1, same padding) -> optional norm -> PReLU (one slope per channel)."""

    def __init__(self, in_channels: int, out_channels: int, norm: str) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, 5, padding=2)
        self.norm = make_norm(norm, out_channels)
        self.act = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class ResidualStage(nn.Module):
    """``n`` ConvUnits at ``channels``; the stage's input is added to their output (VNet's residual)."""

    def __init__(self, in_channels: int, channels: int, n: int, norm: str) -> None:
        super().__init__()
        units = [ConvUnit(in_channels, channels, norm)] + [ConvUnit(channels, channels, norm) for _ in range(n - 1)]
        self.units = nn.Sequential(*units)
        # VNet's first stage repeats a 1-channel input over its channels; in general a 1x1x1 projection
        self.skip = nn.Identity() if in_channels == channels else nn.Conv3d(in_channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x) + self.skip(x)


class ChannelGate(nn.Module):
    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=(2, 3, 4))
        return self.mlp(pooled)[:, :, None, None, None]


class SpatialGate(nn.Module):
    def __init__(self, channels: int, reduction: int, dilation: int, norm: str) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        layers: list[nn.Module] = [nn.Conv3d(channels, hidden, 1), make_norm(norm, hidden), nn.ReLU(inplace=True)]
        for _ in range(2):
            layers += [nn.Conv3d(hidden, hidden, 3, padding=dilation, dilation=dilation), make_norm(norm, hidden),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv3d(hidden, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class BAM3d(nn.Module):
    """Bottleneck attention: ``F * (1 + sigmoid(Mc(F) + Ms(F)))``; the output has the input's shape."""

    def __init__(self, channels: int, reduction: int = 4, dilation: int = 4, norm: str = "instance") -> None:
        super().__init__()
        self.channel = ChannelGate(channels, reduction)
        self.spatial = SpatialGate(channels, reduction, dilation, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attention = 1.0 + torch.sigmoid(self.channel(x) + self.spatial(x))
        return x * attention


class VNet(nn.Module):
    """VNet with ``levels`` = 4 down-samplings; ``attention='bam'`` puts a BAM3d on each bottleneck."""

    levels = 4

    def __init__(self, in_channels: int, out_channels: int, base_filters: int = 16, num_layers: int = 1,
                 norm: str = "instance", attention: str = "none", bam_reduction: int = 4,
                 bam_dilation: int = 4) -> None:
        super().__init__()
        widths = [base_filters * 2**i for i in range(self.levels + 1)]
        self.encoder = nn.ModuleList([ResidualStage(in_channels, widths[0], num_layers, norm)])
        self.down = nn.ModuleList()
        self.attention = nn.ModuleList()
        for i in range(self.levels):
            self.attention.append(BAM3d(widths[i], bam_reduction, bam_dilation, norm) if attention == "bam"
                                  else nn.Identity())
            self.down.append(nn.Sequential(nn.Conv3d(widths[i], widths[i + 1], 2, stride=2),
                                           make_norm(norm, widths[i + 1]), nn.PReLU(widths[i + 1])))
            self.encoder.append(ResidualStage(widths[i + 1], widths[i + 1], num_layers, norm))
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i in reversed(range(self.levels)):
            # up from level i+1 to level i: transposed conv to widths[i], concat the skip -> 2*widths[i]
            self.up.append(nn.Sequential(nn.ConvTranspose3d(widths[i + 1] if i == self.levels - 1 else 2 * widths[i + 1],
                                                            widths[i], 2, stride=2),
                                         make_norm(norm, widths[i]), nn.PReLU(widths[i])))
            self.decoder.append(ResidualStage(2 * widths[i], 2 * widths[i], num_layers, norm))
        self.head = nn.Conv3d(2 * widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(s % 16 for s in x.shape[2:]):
            raise ValueError(f"VNet input size {tuple(x.shape[2:])} is not a multiple of 16 per axis; pad it first")
        skips = []
        h = self.encoder[0](x)
        for i in range(self.levels):
            h = self.attention[i](h)
            skips.append(h)
            h = self.encoder[i + 1](self.down[i](h))
        for k, i in enumerate(reversed(range(self.levels))):
            h = torch.cat([self.up[k](h), skips[i]], dim=1)
            h = self.decoder[k](h)
        return self.head(h)


def build_vnet(params: dict, in_channels: int, out_channels: int, base_filters: int | None = None) -> VNet:
    """The VNet of ``params`` (``base_filters`` overrides the param, e.g. for the locator)."""
    return VNet(in_channels, out_channels, base_filters=int(base_filters or params["base_filters"]),
                num_layers=int(params["num_layers"]), norm=str(params["norm"]), attention=str(params["attention"]),
                bam_reduction=int(params["bam_reduction"]), bam_dilation=int(params["bam_dilation"]))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
