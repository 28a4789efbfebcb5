"""The multi-scale pyramid 2D CNN (Dourthe et al. 2021, after Roth et al. 2018): two stages of a 2D V-Net-like FCN.

Stage 1 sees the image bilinearly down-sampled to half size; its class probabilities
are up-sampled back to full size. Stage 2 sees those probabilities concatenated with
the full-size image (classes + 1 channels) and gives the final probabilities. In
training mode the network returns both stages' outputs (the two-stage loss compares
both with the full-size target); in eval mode only stage 2's.

Each stage (:class:`VNet2d`, ``c`` = ``base_channels``): 3 × 3 convolutions with PReLU and
no normalisation, a residual add per stage, dropout after every stage.

    encoder  level 1: 1 conv (c), the input added (broadcast over channels)
             2 × 2 stride-2 conv → level 2: 2 convs (2c)
             2 × 2 stride-2 conv → level 3: 3 convs, dilations 1, 2, 4 (4c)
             2 × 2 stride-2 conv → level 4: 3 convs, dilations 3, 4, 5 (8c)
             3 × 3 stride-1 conv → bottom (16c)
    decoder  bottom: 3 convs (16c)
             2 × 2 stride-2 transposed conv, concat level 3 → 3 convs (8c)
             2 × 2 stride-2 transposed conv, concat level 2 → 2 convs (4c)
             2 × 2 stride-2 transposed conv, concat level 1 → 1 conv (2c)
    head     1 × 1 conv → classes, softmax over classes (the network outputs probabilities)

Weights start from Kaiming-normal (a = 0.25, PReLU's initial slope) with zero biases on every
convolution: the seed's init function meant this but only matched ``Conv3d``, a no-op in its 2D model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv(in_channels: int, out_channels: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation),
                         nn.PReLU(out_channels))


class Stage(nn.Module):
    """Convolutions (one per dilation) on ``channels`` with a residual add of the stage input."""

    def __init__(self, in_channels: int, channels: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        layers = [conv(in_channels if i == 0 else channels, channels, d) for i, d in enumerate(dilations)]
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x) + x  # a 1-channel input broadcasts over the stage's channels


class VNet2d(nn.Module):
    def __init__(self, in_channels: int, classes: int, base: int, dropout: float) -> None:
        super().__init__()
        c = base
        self.dropout = dropout
        self.level1 = Stage(in_channels, c, (1,))
        self.down1 = nn.Sequential(nn.Conv2d(c, 2 * c, 2, stride=2), nn.PReLU(2 * c))
        self.level2 = Stage(2 * c, 2 * c, (1, 1))
        self.down2 = nn.Sequential(nn.Conv2d(2 * c, 4 * c, 2, stride=2), nn.PReLU(4 * c))
        self.level3 = Stage(4 * c, 4 * c, (1, 2, 4))
        self.down3 = nn.Sequential(nn.Conv2d(4 * c, 8 * c, 2, stride=2), nn.PReLU(8 * c))
        self.level4 = Stage(8 * c, 8 * c, (3, 4, 5))
        self.down4 = nn.Sequential(nn.Conv2d(8 * c, 16 * c, 3, padding=1), nn.PReLU(16 * c))
        self.bottom = Stage(16 * c, 16 * c, (1, 1, 1))
        self.up3 = nn.Sequential(nn.ConvTranspose2d(16 * c, 4 * c, 2, stride=2), nn.PReLU(4 * c))
        self.dec3 = Stage(8 * c, 8 * c, (1, 1, 1))
        self.up2 = nn.Sequential(nn.ConvTranspose2d(8 * c, 2 * c, 2, stride=2), nn.PReLU(2 * c))
        self.dec2 = Stage(4 * c, 4 * c, (1, 1))
        self.up1 = nn.Sequential(nn.ConvTranspose2d(4 * c, c, 2, stride=2), nn.PReLU(c))
        self.dec1 = Stage(2 * c, 2 * c, (1,))
        self.head = nn.Conv2d(2 * c, classes, 1)
        self.in_channels = in_channels

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.dropout, self.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels != 1:  # the residual add of level 1 needs the input at the stage's width
            first = self.level1.convs(x)
            e1 = self._drop(first + x.mean(1, keepdim=True))
        else:
            e1 = self._drop(self.level1(x))
        e2 = self._drop(self.level2(self.down1(e1)))
        e3 = self._drop(self.level3(self.down2(e2)))
        e4 = self._drop(self.level4(self.down3(e3)))
        b = self._drop(self.bottom(self.down4(e4)))
        d3 = self._drop(self.dec3(torch.cat([self.up3(b), e3], 1)))
        d2 = self._drop(self.dec2(torch.cat([self.up2(d3), e2], 1)))
        d1 = self._drop(self.dec1(torch.cat([self.up1(d2), e1], 1)))
        return self.head(d1).softmax(1)


class MultiScalePyramid(nn.Module):
    """Two stages; ``forward`` returns (stage 1, stage 2) probabilities in training mode, stage 2 in eval mode."""

    def __init__(self, classes: int, base_channels: int = 16, dropout: float = 0.3) -> None:
        super().__init__()
        self.stage1 = VNet2d(1, classes, base_channels, dropout)
        self.stage2 = VNet2d(classes + 1, classes, base_channels, dropout)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(module.weight, a=0.25)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        size = x.shape[-2:]
        half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
        stage1 = F.interpolate(self.stage1(half), size=size, mode="bilinear", align_corners=False)
        stage2 = self.stage2(torch.cat([stage1, x], 1))
        return (stage1, stage2) if self.training else stage2


ARCHITECTURE = ("multi-scale pyramid 2D CNN: stage 1 (2D V-Net-like FCN at half size) -> probabilities up-sampled "
                "and concatenated with the image -> stage 2 (the same FCN at full size); PReLU, no normalisation")
