"""The fcn method's code (runs inside the method's container; never imported by the harness).

    params      the parameters, their defaults and checks
    data        reading common-format cases, normalising, letterboxing, label values <-> classes
    networks    FCN-AlexNet and FCN-8s (torchvision's AlexNet / VGG-16 layer layout, fixed bilinear up-sampling)
    initialise  starting the weights: scratch, an ImageNet state dict (torchvision keys), or a fine-tune
    augment     the tutorial's random perturbations (contrast, brightness, flip, small rotation)
    losses      cross-entropy and soft Dice
    train       the training loop: history.csv (with validation Dice), model_info.json, config.json
    predict     inference on a case and on a folder of images
    errors      MethodError: a clear message and the exit status
"""
