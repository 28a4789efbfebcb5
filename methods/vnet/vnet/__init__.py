"""vnet: the VNet family of the LA 2018 seed (VNet, BAM attention, Dice/focal/boundary/hybrid losses,
direct or locate-then-crop pipelines) under the SegArena method contract. Imports torch, MONAI,
SimpleITK, scipy and numpy, never the harness."""
