"""FCN-AlexNet and FCN-8s (Long, Shelhamer, Darrell 2015), with torchvision's AlexNet / VGG-16 layer layout.

The backbones are laid out as torchvision's ``alexnet().features`` and
``vgg16().features`` (the same module indices), so an ImageNet state dict with
torchvision keys loads into them; the classifier's fully connected layers become
convolutions: fc6 a 6 × 6 (AlexNet) or 7 × 7 (VGG-16) convolution over the last
pool, fc7 a 1 × 1 convolution (``initialise.py`` reshapes the Linear weights).

Deviations from the Caffe reference, each for a reason:

* no ``pad=100`` on conv1 and no crop layers: the VGG convolutions are padded by 1 and
  fc6 is a "same" convolution, so an input that is a multiple of 32 gives score maps of
  exactly 1/32, 1/16 and 1/8 of it and no crop is needed (``image_size`` is a multiple of 32);
* torchvision's AlexNet (64/192/384/256/256 channels, no LRN, no groups) instead of CaffeNet,
  so that torchvision's ImageNet weights fit; its pools use ``ceil_mode`` so that the
  stride-32 score map covers the whole input;
* FCN-8s sums the zero-initialised skip scores unscaled (the staged FCN-8s's fusion) but is
  trained end-to-end: the "at-once" variant's fixed scales (pool4 × 0.01, pool3 × 0.0001) suit
  Caffe's unnormalised SGD loss and would keep the skips near zero under Adam in a short run.
  Every up-sampling is a fixed bilinear interpolation (the reference's deconvolutions with
  ``lr_mult: 0``). FCN-AlexNet makes one stride-32
  prediction, up-sampled bilinearly to the input (its coarse contours are the tutorial's point).

The networks return logits (N, classes, H, W) at the input's size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
VGG16_POOL3, VGG16_POOL4 = 16, 23  # indices in features of the pools whose outputs FCN-8s fuses


def vgg16_features(in_channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = in_channels
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
            channels = int(item)
    return nn.Sequential(*layers)


def alexnet_features(in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
    )


class FullyConnectedAsConv(nn.Module):
    """fc6 (a ``kernel`` × ``kernel`` "same" convolution) and fc7 (1 × 1), each ReLU + dropout; then score_fr."""

    def __init__(self, in_channels: int, kernel: int, width: int, classes: int, dropout: float) -> None:
        super().__init__()
        self.fc6 = nn.Conv2d(in_channels, width, kernel, padding="same")
        self.fc7 = nn.Conv2d(width, width, 1)
        self.drop = nn.Dropout2d(dropout)
        self.score_fr = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(F.relu(self.fc6(x), inplace=True))
        x = self.drop(F.relu(self.fc7(x), inplace=True))
        return self.score_fr(x)


def upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The fixed bilinear up-sampling of every FCN deconvolution."""
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class FCNAlexNet(nn.Module):
    def __init__(self, in_channels: int, classes: int, fc_channels: int = 4096, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = alexnet_features(in_channels)
        self.head = FullyConnectedAsConv(256, 6, fc_channels, classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample(self.head(self.features(x)), x.shape[-2:])


class FCN8s(nn.Module):
    def __init__(self, in_channels: int, classes: int, fc_channels: int = 4096, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = vgg16_features(in_channels)
        self.head = FullyConnectedAsConv(512, 7, fc_channels, classes, dropout)
        self.score_pool4 = nn.Conv2d(512, classes, 1)
        self.score_pool3 = nn.Conv2d(256, classes, 1)
        for layer in (self.score_pool4, self.score_pool3):  # the reference zero-initialises the skip scores
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool3 = pool4 = x
        h = x
        for index, layer in enumerate(self.features):
            h = layer(h)
            if index == VGG16_POOL3:
                pool3 = h
            elif index == VGG16_POOL4:
                pool4 = h
        score = self.head(h)
        score = upsample(score, pool4.shape[-2:]) + self.score_pool4(pool4)
        score = upsample(score, pool3.shape[-2:]) + self.score_pool3(pool3)
        return upsample(score, x.shape[-2:])


ARCHITECTURES: dict[str, type[nn.Module]] = {"fcn_alexnet": FCNAlexNet, "fcn8s": FCN8s}
DESCRIPTIONS = {
    "fcn_alexnet": "FCN-AlexNet (torchvision AlexNet backbone, fc6 6x6 / fc7 1x1 as convolutions, one stride-32 "
                   "score map, fixed bilinear up-sampling)",
    "fcn8s": "FCN-8s (VGG-16 backbone, fc6 7x7 / fc7 1x1 as convolutions, pool4 and pool3 skip scores summed, "
             "fixed bilinear up-sampling)",
}


def build_network(arch: str, in_channels: int, classes: int, fc_channels: int, dropout: float) -> nn.Module:
    return ARCHITECTURES[arch](in_channels, classes, fc_channels, dropout)
