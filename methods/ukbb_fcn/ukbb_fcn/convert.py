"""The authors' TensorFlow checkpoint (``FCN_sa.index`` + ``FCN_sa.data-00000-of-00001``) → a ukbb_fcn state dict.

TensorFlow is imported here only, when ``main.py convert`` runs (the ``convert`` extra of pyproject.toml);
training and prediction never import this module.

Variable names (TF1 layer naming, numbered globally in creation order, see ``network.UKBBFCN.conv_bn_pairs``):
``conv2d/kernel``, ``conv2d_1/kernel`` ... ``conv2d_20/kernel`` and ``conv2d_20/bias`` (the logits),
``batch_normalization{,_1 ... _19}/{gamma, beta, moving_mean, moving_variance}``. Optimiser state
(``.../Adam``, ``.../Adam_1``, ``beta1_power``, ``beta2_power``) and ``global_step`` are ignored; any other
variable, a missing one or a wrong shape is an error that names them. The fixed bilinear up-sampling kernels
are constants of the graph, not variables: the network regenerates them.

Layouts: a TF kernel ``[kh, kw, in, out]`` becomes PyTorch's ``[out, in, kh, kw]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from segarena_kit import MethodError

from ukbb_fcn.network import UKBBFCN

IGNORED_SUFFIXES = ("/Adam", "/Adam_1")
IGNORED_NAMES = ("beta1_power", "beta2_power", "global_step")
BN_FIELDS = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
             ("moving_variance", "running_var"))


def indexed(stem: str, i: int) -> str:
    return stem if i == 0 else f"{stem}_{i}"


def expected_variables(model: UKBBFCN, prefix: str) -> dict[str, tuple[str, tuple[int, ...], bool]]:
    """TF variable name → (PyTorch key, TF shape, is a conv kernel) for every variable the network needs."""
    keys = {id(t): k for k, t in model.state_dict(keep_vars=True).items()}
    out: dict[str, tuple[str, tuple[int, ...], bool]] = {}
    for i, (conv, bn) in enumerate(model.conv_bn_pairs()):
        o, c, kh, kw = conv.weight.shape
        out[f"{prefix}{indexed('conv2d', i)}/kernel"] = (keys[id(conv.weight)], (kh, kw, c, o), True)
        if conv.bias is not None:
            out[f"{prefix}{indexed('conv2d', i)}/bias"] = (keys[id(conv.bias)], (o,), False)
        if bn is not None:
            for tf_field, torch_field in BN_FIELDS:
                out[f"{prefix}{indexed('batch_normalization', i)}/{tf_field}"] = \
                    (keys[id(getattr(bn, torch_field))], (o,), False)
    return out


def is_ignored(name: str) -> bool:
    return name.endswith(IGNORED_SUFFIXES) or name.rsplit("/", 1)[-1] in IGNORED_NAMES


def checkpoint_variables(prefix: Path) -> dict[str, np.ndarray]:
    """Every variable of the checkpoint at ``prefix`` (TensorFlow's reader); the .index file must exist."""
    index = prefix.parent / f"{prefix.name}.index"
    if not index.is_file():
        raise MethodError(f"--checkpoint {prefix}: no {index.name} beside it; give the checkpoint prefix "
                          "(e.g. trained_model/FCN_sa for FCN_sa.index, FCN_sa.data-00000-of-00001)")
    try:
        import tensorflow as tf
    except ImportError as err:
        raise MethodError("main.py convert needs TensorFlow (conversion time only): pip install 'segarena[convert]' "
                          "or pip install tensorflow-cpu") from err
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes = reader.get_variable_to_shape_map()
        return {name: np.asarray(reader.get_tensor(name)) for name in shapes}
    except Exception as err:  # TensorFlow raises its own error types for broken files
        raise MethodError(f"--checkpoint {prefix}: TensorFlow cannot read it ({type(err).__name__}: "
                          f"{str(err).strip().splitlines()[0] if str(err).strip() else ''})") from err


def scope_prefix(names: list[str]) -> str:
    """The scope the layer variables sit under ('' for the published graph, e.g. 'model/' otherwise)."""
    for name in names:
        if name == "conv2d/kernel" or name.endswith("/conv2d/kernel"):
            return name[: -len("conv2d/kernel")]
    return ""


def convert_variables(variables: dict[str, np.ndarray], source: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict and a record (base filters, what was ignored) of checkpoint ``variables``."""
    prefix = scope_prefix(sorted(variables))
    first = variables.get(f"{prefix}conv2d/kernel")
    if first is None or first.ndim != 4:
        raise MethodError(f"{source}: no first convolution kernel 'conv2d/kernel' (variables: "
                          f"{', '.join(sorted(variables)[:10])}{' ...' if len(variables) > 10 else ''}); is it the "
                          "short-axis FCN checkpoint (FCN_sa)?")
    model = UKBBFCN(base_filters=int(first.shape[3]))
    expected = expected_variables(model, prefix)
    ignored = sorted(n for n in variables if is_ignored(n))
    missing = sorted(set(expected) - set(variables))
    extra = sorted(set(variables) - set(expected) - set(ignored))
    wrong = sorted(f"{n} {tuple(variables[n].shape)} (expected {expected[n][1]})" for n in set(expected) & set(variables)
                   if tuple(variables[n].shape) != expected[n][1])
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing variable(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected variable(s) {', '.join(extra)}")
        if wrong:
            parts.append(f"wrong shape {', '.join(wrong)}")
        raise MethodError(f"{source}: not the UK Biobank short-axis FCN checkpoint: {'; '.join(parts)}")
    state = model.state_dict()
    for name, (key, _, is_kernel) in expected.items():
        value = torch.from_numpy(np.ascontiguousarray(variables[name], dtype=np.float32))
        state[key] = value.permute(3, 2, 0, 1).contiguous() if is_kernel else value
    return state, {"base_filters": int(first.shape[3]), "variables": len(expected), "ignored": ignored,
                   "scope": prefix}


def convert_checkpoint(prefix: Path, out: Path) -> dict[str, Any]:
    """Read the checkpoint at ``prefix``, write the state dict to ``out`` (torch.save), return the record."""
    variables = checkpoint_variables(prefix)
    state, record = convert_variables(variables, f"--checkpoint {prefix}")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    return {**record, "checkpoint": str(prefix), "out": str(out)}
