"""The short-axis FCN of Bai et al. (JCMR 2018, ``baiwenjia/ukbb_cardiac``) in PyTorch, under the SegArena contract.

Modules: ``network`` (the FCN, TensorFlow's SAME padding and fixed bilinear up-sampling), ``labels``
(the authors' label map ↔ the dataset's), ``data`` (cases → slices, the authors' percentile rescale,
cropping and padding), ``augment`` (rotation and scale), ``initialise`` (--init), ``train``, ``predict``,
``convert`` (the authors' TensorFlow checkpoint → a state dict; imports TensorFlow, never at run time).
"""
