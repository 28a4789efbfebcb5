"""Adapter of BraTS 2018: ``<HGG|LGG>/<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz`` → one 4-channel case each.

The format's code is ``segarena_datasets.shared.brats`` (brats2018_phantom converts its generated cases with it too).
"""

from __future__ import annotations

from segarena_datasets.shared.brats import CHANNEL_SUFFIXES, GRADES, LABEL_MAP, SEG_SUFFIX, BratsAdapter, patient_of

__all__ = ["CHANNEL_SUFFIXES", "GRADES", "LABEL_MAP", "SEG_SUFFIX", "Adapter", "patient_of"]


class Adapter(BratsAdapter):
    """No options. Channels: 0 T1, 1 T1ce, 2 T2, 3 FLAIR."""
