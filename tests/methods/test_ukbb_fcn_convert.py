"""The TensorFlow checkpoint converter of ukbb_fcn against TensorFlow itself.

A TF1-style graph of the authors' short-axis FCN (``tf.compat.v1``, graph mode, variables named as the
published ``FCN_sa`` checkpoint names them, Adam slots included) is built here with random weights and
batch-norm statistics and saved by ``tf.compat.v1.train.Saver`` (``FCN_sa.index / .data-00000-of-00001 /
.meta``). ``main.py convert`` turns it into a state dict; the PyTorch network's softmax must equal the TF
graph's on the same input (max abs difference <= 1e-4), on sizes whose levels are odd, on an odd-sized
image padded by the deploy rule, and the two pitfall operators (stride-2 'SAME' convolution, the fixed
bilinear transposed convolution) on odd and even sizes. TensorFlow comes from the ``convert`` extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.settings import repo_root
from tests.support.method_code import import_method_module

METHOD = repo_root() / "methods" / "ukbb_fcn"
FILTERS = (16, 32, 64, 128, 256)
BLOCKS = (2, 2, 3, 3, 3)
TOLERANCE = 1e-4


def _linear_2d(size: int) -> np.ndarray:
    """The authors' up-sampling kernel, written out independently of the method's code."""
    c = (size + 1) // 2
    line = np.array([*range(1, c + 1), *range(c - 1, 0, -1)], np.float32) / c
    return np.outer(line, line).astype(np.float32)


def _name(stem: str, i: int) -> str:
    return stem if i == 0 else f"{stem}_{i}"


def build_tf_fcn(tf: Any, rng: np.random.Generator, drop: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> Any:
    """The FCN as a TF1 graph with random weights: returns (graph, image placeholder, prob tensor)."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        image = v1.placeholder(tf.float32, [None, None, None, 1], name="image")
        counter = {"conv": 0}

        def variable(name: str, value: np.ndarray) -> Any:
            if name in drop:
                return tf.constant(value.astype(np.float32))
            return v1.get_variable(name, initializer=tf.constant(value.astype(np.float32)))

        def conv_bn_relu(x: Any, filters: int, kernel: int, stride: int) -> Any:
            i = counter["conv"]
            counter["conv"] += 1
            channels = int(x.shape[-1])
            w = rng.normal(0, np.sqrt(2.0 / (kernel * kernel * channels)), (kernel, kernel, channels, filters))
            kernel_var = variable(f"{_name('conv2d', i)}/kernel", w)
            v1.get_variable(f"{_name('conv2d', i)}/kernel/Adam", initializer=tf.zeros(w.shape))  # optimiser slot
            y = tf.nn.conv2d(x, kernel_var, strides=[1, stride, stride, 1], padding="SAME")
            bn = _name("batch_normalization", i)
            gamma = variable(f"{bn}/gamma", rng.uniform(0.5, 1.5, filters))
            beta = variable(f"{bn}/beta", rng.normal(0, 0.1, filters))
            mean = variable(f"{bn}/moving_mean", rng.normal(0, 0.2, filters))
            var = variable(f"{bn}/moving_variance", rng.uniform(0.5, 2.0, filters))
            y, _, _ = v1.nn.fused_batch_norm(y, gamma, beta, mean, var, epsilon=1e-3, is_training=False)
            return tf.nn.relu(y)

        def upsample(x: Any, factor: int) -> Any:
            size, channels = 2 * factor - 1, int(x.shape[-1])
            filt = np.zeros((size, size, channels, channels), np.float32)
            for c in range(channels):
                filt[:, :, c, c] = _linear_2d(size)
            shape = tf.shape(x)
            out_shape = tf.stack([shape[0], shape[1] * factor, shape[2] * factor, shape[3]])
            return tf.nn.conv2d_transpose(x, tf.constant(filt), out_shape, strides=[1, factor, factor, 1],
                                          padding="SAME")

        x, levels = image, []
        for level, (filters, blocks) in enumerate(zip(FILTERS, BLOCKS, strict=True)):
            x = conv_bn_relu(x, filters, 3, 1 if level == 0 else 2)
            for _ in range(1, blocks):
                x = conv_bn_relu(x, filters, 3, 1)
            levels.append(x)
        maps = []
        for level, feature in enumerate(levels):
            y = conv_bn_relu(feature, 32, 1, 1)
            maps.append(upsample(y, 2**level) if level else y)
        x = conv_bn_relu(tf.concat(maps, axis=3), 64, 1, 1)
        x = conv_bn_relu(x, 64, 1, 1)
        w = variable("conv2d_20/kernel", rng.normal(0, 0.1, (1, 1, 64, 4)))
        b = variable("conv2d_20/bias", rng.normal(0, 0.1, 4))
        logits = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME") + b
        prob = tf.nn.softmax(logits, name="prob")
        v1.get_variable("beta1_power", initializer=tf.constant(0.9))
        v1.get_variable("beta2_power", initializer=tf.constant(0.999))
        for name in extra:
            v1.get_variable(name, initializer=tf.zeros((3, 3)))
    return graph, image, prob


def write_checkpoint(tf: Any, folder: Path, inputs: list[np.ndarray], **changes: Any) -> tuple[Path, list[np.ndarray]]:
    """Save the graph's variables as ``folder/FCN_sa.*``; return the prefix and TF's softmax of each input."""
    graph, image, prob = build_tf_fcn(tf, np.random.default_rng(12), **changes)
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        session.run(tf.compat.v1.global_variables_initializer())
        outputs = [session.run(prob, {image: x[..., None]}) for x in inputs]  # NHWC
        prefix = folder / "FCN_sa"
        tf.compat.v1.train.Saver().save(session, str(prefix))
    return prefix, outputs


@pytest.fixture(scope="module")
def tf() -> Any:
    import tensorflow

    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow


def test_converted_checkpoint_gives_tensorflows_softmax(tf: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = import_method_module(METHOD, "ukbb_fcn.data")
    # 48 x 80: level sizes 48/24/12/6/3 and 80/40/20/10/5, odd at the coarsest level (x16 up-sampling);
    # 37 x 53: an odd image, padded (centred) to 48 x 64 by the deploy rule and cropped back
    odd = rng.uniform(0, 1, (2, 37, 53)).astype(np.float32)
    odd_padded, box = data.pad_to_multiple(odd, 16)
    inputs = [rng.uniform(0, 1, (2, 48, 80)).astype(np.float32), rng.uniform(0, 1, (1, 32, 32)).astype(np.float32),
              odd_padded]
    prefix, tf_probs = write_checkpoint(tf, tmp_path, inputs)
    assert {p.name for p in tmp_path.iterdir()} >= {"FCN_sa.index", "FCN_sa.data-00000-of-00001", "FCN_sa.meta"}
    out = tmp_path / "ukbb_fcn_sa.pt"
    done = subprocess.run([sys.executable, str(METHOD / "main.py"), "convert", "--checkpoint", str(prefix),
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"variables": 102' in done.stdout and "beta1_power" in done.stdout  # 21 kernels + 1 bias + 20x4 BN
    network = import_method_module(METHOD, "ukbb_fcn.network")
    initialise = import_method_module(METHOD, "ukbb_fcn.initialise")
    model = network.UKBBFCN(16)
    initialise.load_strict(model, initialise.load_state_file(out), out)
    model.eval()
    with torch.no_grad():
        for x, expected in zip(inputs, tf_probs, strict=True):
            ours = torch.softmax(model(torch.from_numpy(x)[:, None]), 1).permute(0, 2, 3, 1).numpy()
            assert ours.shape == expected.shape
            difference = float(np.abs(ours - expected).max())
            print(f"max abs softmax difference on {x.shape}: {difference:.2e}")
            assert difference <= TOLERANCE, x.shape
            assert float(expected.std()) > 0.01  # the weights are not trivial: the classes really differ
    top, left, h, w = box
    assert (top, left, h, w) == (5, 5, 37, 53)
    # the method's own predict path (pad to 16, softmax, crop back) on the odd image gives TF's cropped softmax
    predict = import_method_module(METHOD, "ukbb_fcn.predict")
    cropped = tf_probs[2][:, top : top + h, left : left + w].transpose(0, 3, 1, 2)
    ours_odd = predict.predict_probabilities(model, odd, torch.device("cpu"))  # takes an already rescaled volume
    assert ours_odd.shape == (2, 4, 37, 53)
    assert float(np.abs(ours_odd - cropped).max()) <= TOLERANCE


def test_pitfall_operators_on_odd_and_even_sizes(tf: Any) -> None:
    """TF 'SAME' stride-2 convolution and the fixed bilinear conv2d_transpose, odd and even sizes."""
    network = import_method_module(METHOD, "ukbb_fcn.network")
    rng = np.random.default_rng(5)
    for h, w in ((7, 9), (8, 10), (5, 6), (1, 2)):
        x = rng.normal(size=(2, h, w, 3)).astype(np.float32)
        k = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
        expected = tf.nn.conv2d(x, k, strides=[1, 2, 2, 1], padding="SAME").numpy()
        block = network.ConvBNReLU(3, 4, 3, stride=2)
        block.conv.weight.data = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous()
        block.bn = torch.nn.Identity()  # the convolution alone
        with torch.no_grad():
            top, bottom = network.same_padding(h, 3, 2)
            left, right = network.same_padding(w, 3, 2)
            ours = block.conv(torch.nn.functional.pad(torch.from_numpy(x).permute(0, 3, 1, 2),
                                                      (left, right, top, bottom))).permute(0, 2, 3, 1).numpy()
        assert ours.shape == expected.shape and np.abs(ours - expected).max() < 1e-4, (h, w)
        for factor in (2, 4, 8, 16):
            size = 2 * factor - 1
            filt = np.zeros((size, size, 3, 3), np.float32)
            for c in range(3):
                filt[:, :, c, c] = _linear_2d(size)
            up = tf.nn.conv2d_transpose(x, filt, [2, h * factor, w * factor, 3], strides=[1, factor, factor, 1],
                                        padding="SAME").numpy()
            with torch.no_grad():
                mine = network.BilinearUpsample(3, factor)(torch.from_numpy(x).permute(0, 3, 1, 2))
            assert np.abs(mine.permute(0, 2, 3, 1).numpy() - up).max() < 1e-4, (h, w, factor)


def test_a_checkpoint_with_missing_or_extra_variables_is_refused_naming_them(tf: Any, tmp_path: Path) -> None:
    convert = import_method_module(METHOD, "ukbb_fcn.convert")
    errors = import_method_module(METHOD, "segarena_kit.errors")
    prefix, _ = write_checkpoint(tf, tmp_path, [], drop=("batch_normalization_7/beta", "conv2d_20/bias"),
                                 extra=("conv2d_21/kernel",))
    with pytest.raises(errors.MethodError) as raised:
        convert.convert_checkpoint(prefix, tmp_path / "out.pt")
    message = str(raised.value)
    assert "missing variable(s) batch_normalization_7/beta, conv2d_20/bias" in message
    assert "unexpected variable(s) conv2d_21/kernel" in message
    assert not (tmp_path / "out.pt").exists()
    with pytest.raises(errors.MethodError, match="no nothing.index"):
        convert.convert_checkpoint(tmp_path / "nothing", tmp_path / "out.pt")
