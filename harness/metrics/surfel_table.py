"""Surface-element sizes for the ``surfel`` surface (DeepMind's surface-distance convention).

A surfel sits at a corner of the voxel grid; its code says which of the 2×2(×2)
voxels around that corner are inside the mask (bit weights in
:data:`CODE_KERNEL_3D` / :data:`CODE_KERNEL_2D`). In 3D the marching-cubes
triangles of a code have normals whose length encodes their area in voxel units;
:func:`compute_surfel_area_table` scales them by the spacing. In 2D the contour
length follows the 16 marching-squares cases.

The normals are those of DeepMind's ``surface_distance/lookup_tables.py``
(Copyright 2018 Google Inc., Apache License 2.0), stored here compactly: each
normal component is a multiple of 1/8 written as one letter, ``a`` = −4/8 …
``e`` = 0 … ``i`` = +4/8, three letters a normal, codes separated by commas.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

CODE_KERNEL_3D = np.array([[[128, 64], [32, 16]], [[8, 4], [2, 1]]], dtype=np.uint8)
CODE_KERNEL_2D = np.array([[8, 4], [2, 1]], dtype=np.uint8)
FULL_CODE_3D = 255
FULL_CODE_2D = 15

_NORMALS_3D = (
    "eee,fff,ddf,ccegge,fdf,cecgeg,fdfddf,ieegggfff,dff,fffdff,cegceg,ieeccgddf,gcegce,ieegcgdfd,aeecggdf"
    "f,ieeiee,fdd,eccegg,ddffdd,eaegggfff,fdffdd,eeagggddd,ddffdffdd,dddcccgggfff,dfffdd,ecceggdff,cegceg"
    "fdd,fffhhhecgceg,fddgcegce,hhhegcdddcge,aeedddcccfff,aeedddccc,fdf,ffffdf,ecgegc,eaeffdggc,fdffdf,fd"
    "fcecgeg,ecgegcfdf,bbheggffdcec,dfffdf,ffffdfdff,eeiccgddf,ggcggcffdddf,fdfgcegce,ieegcgdfdfdf,egchbb"
    "dffgge,aeeccgddf,gcecge,eiecggfdd,eiefdfcgc,eieeae,gcecgefdf,bbbcegdddcge,fffeaecccddd,eaecccddd,dff"
    "gcecge,eieggcddfddf,bhbccedfdceg,eieggcddf,gcecgegcegce,ccecceddf,fffccecce,ccecce,ddf,fffddf,ddfddf"
    ",ddfccegge,ecgecg,eeigcgfdf,ecgecgddf,hbheccdfdgge,ddfdff,fffddfdff,ddfcegceg,ieeccgddfddf,eiecgcfdf"
    ",cgccgcdfddfd,cechbbegcdff,ieecgcfdf,ceggec,eeicggdff,ddfceggec,cecbhhccedff,eeaggcddf,eeieei,ffffff"
    "gggeei,fffgggeei,ceggecdff,eeigcgfdffdf,cegcegceggec,fdfgeggeg,gegbbhcgeddf,eeigcgfdf,fffgeggeg,gegg"
    "eg,ddffdf,fffddffdf,ddfecgegc,eaeffdggcddf,ecgecgfdf,eeigcgfdffdf,ecgecgecgegc,eggeggfdd,dfffdfddf,d"
    "fffdfddffff,eeiccgddfddf,ffffdffdd,eiecgcfdffdf,fffddffdd,ecceggfff,ffffdd,ieegccfdd,cggdffcggfdd,hb"
    "heggdfdceg,eaecggdff,bbhgceeggddf,dffcggeei,fffeggegg,eggegg,ieegggffffff,fdfddffff,cecgegfff,ffffdf"
    ",cceggefff,fffddf,ffffff,fff,fff,ffffff,fffddf,cceggefff,ffffdf,cecgegfff,fdfddffff,ieegggffffff,egg"
    "egg,fffeggegg,dffcggeei,bbhgceeggddf,eaecggdff,hbheggdfdceg,cggdffcggfdd,ieegccfdd,ffffdd,ecceggfff,"
    "fffddffdd,eiecgcfdffdf,ffffdffdd,eeiccgddfddf,dfffdfddffff,dfffdfddf,eggeggfdd,ecceggeggegg,eeigcgfd"
    "ffdf,ecgecgfdf,eaeffdggcddf,ddfecgegc,fffddffdf,ddffdf,geggeg,fffgeggeg,eeigcgfdf,gegbbhcgeddf,fdfge"
    "ggeg,cecgeggeggeg,eeigcgfdffdf,ceggecdff,fffgggeei,ffffffgggeei,eeieei,eeaggcddf,cecbhhccedff,ddfceg"
    "gec,eeicggdff,ceggec,ieecgcfdf,cechbbegcdff,cgccgcdfddfd,eiecgcfdf,ieeccgddfddf,ddfcegceg,fffddfdff,"
    "ddfdff,hbheccdfdgge,ecgecgddf,eeigcgfdf,ecgecg,ddfccegge,ddfddf,fffddf,ddf,ccecce,fffccecce,cceccedd"
    "f,ccecceccegge,eieggcddf,bhbccedfdceg,eieggcddfddf,dffgcecge,eaecccddd,fffeaecccddd,bbbcegdddcge,gce"
    "cgefdf,eieeae,eiefdfcgc,eiecggfdd,gcecge,aeeccgddf,egchbbdffgge,ieegcgdfdfdf,fdfgcegce,ggcggcffdddf,"
    "eeiccgddf,ffffdfdff,dfffdf,bbheggffdcec,ecgegcfdf,fdfcecgeg,fdffdf,eaeffdggc,ecgegc,ffffdf,fdf,aeedd"
    "dccc,aeedddcccfff,hhhegcdddcge,fddgcegce,fffhhhecgceg,cegcegfdd,ecceggdff,dfffdd,dddcccgggfff,ddffdf"
    "fdd,eeagggddd,fdffdd,eaegggfff,ddffdd,eccegg,fdd,ieeiee,aeecggdff,ieegcgdfd,gcegce,ieeccgddf,cegceg,"
    "fffdff,dff,ieegggfff,fdfddf,cecgeg,fdf,ccegge,ddf,fff,eee"
)


@functools.cache
def _decoded_normals() -> tuple[np.ndarray, np.ndarray]:
    """All normals as one (n, 3) array in voxel units, and the code each belongs to."""
    codes = _NORMALS_3D.split(",")
    assert len(codes) == 256
    owners = np.repeat(np.arange(256), [len(text) // 3 for text in codes])
    letters = np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8)
    normals = (letters.astype(np.float64) - ord("e")).reshape(-1, 3) / 8.0
    return normals, owners


def compute_surfel_area_table(spacing_mm: Sequence[float]) -> np.ndarray:
    """Area in mm² of the surface inside the 2×2×2 cell of each of the 256 codes."""
    s0, s1, s2 = (float(s) for s in spacing_mm)
    normals, owners = _decoded_normals()
    areas = np.linalg.norm(normals * np.array([s1 * s2, s0 * s2, s0 * s1]), axis=1)
    return np.bincount(owners, weights=areas, minlength=256)


def compute_contour_length_table(spacing_mm: Sequence[float]) -> np.ndarray:
    """Length in mm of the contour inside the 2×2 cell of each of the 16 codes (8 = top left … 1 = bottom right)."""
    vertical, horizontal = float(spacing_mm[0]), float(spacing_mm[1])
    diagonal = 0.5 * math.sqrt(vertical**2 + horizontal**2)
    table = np.zeros(16)
    for code in (0b0001, 0b0010, 0b0100, 0b1000, 0b0111, 0b1011, 0b1101, 0b1110):
        table[code] = diagonal  # one corner in or one corner out
    table[0b0011] = table[0b1100] = horizontal
    table[0b0101] = table[0b1010] = vertical
    table[0b0110] = table[0b1001] = 2 * diagonal  # the two diagonal (saddle) cases
    return table
