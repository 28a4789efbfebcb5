"""The nnunet method's code (runs inside the method's container; never imported by the harness).

    params     the parameters, their defaults (nnU-Net's own counts) and checks
    cases      the cases and patient groups of a common-format folder; the split handed to nnU-Net
    workspace  nnU-Net's folders in a temp dir, its environment variables, the staged raw dataset
    plan       fingerprint, experiment planning and preprocessing
    trainer    the generated trainer module (nnU-Net's trainer with SegArena's epoch/iteration counts)
    train      the training run and the model folder it exports
    predict    inference on a folder of images
"""
