"""The pyramid2d method's code (runs inside the method's container; never imported by the harness).

    params   the parameters, their defaults and checks
    data     reading common-format cases, [0, 1] rescaling, resizing, label values <-> classes
    network  the two-stage multi-scale pyramid of 2D V-Net-like FCNs
    loss     the two-stage multi-class Dice loss
    augment  rotation, warping and cropping, each with a probability and a range
    train    the training loop: Adam + MultiStepLR, checkpoints every N epochs, history.csv, model_info.json
    predict  inference on a case and on a folder of images
    errors   MethodError: a clear message and the exit status
"""
