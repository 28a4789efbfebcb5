"""segresnet: MONAI's SegResNet (Myronenko 2018) on multi-channel 3D volumes with one sigmoid output per
region of the dataset (BraTS: WT, TC, ET), under the SegArena method contract. Imports torch, MONAI,
SimpleITK and numpy, never the harness."""
