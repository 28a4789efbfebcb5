"""The unet2d method's code (runs inside the method's container; never imported by the harness).

    params      the parameters, their defaults and checks; the loss formula parser
    data        reading common-format cases, normalising, letterboxing, the class map (all / lv_myo)
    augment     the augmentation presets (torchvision.transforms.v2 on image + mask pairs)
    losses      ce, focal, softdice and their weighted sums
    initialise  building the model and starting its weights (scratch, ImageNet file or hub, fine-tune)
    train       the training loop: history.csv, validation Dice, checkpoints, config.json
    predict     inference on a case and on a folder of images
    errors      MethodError: a clear message and the exit status
"""
