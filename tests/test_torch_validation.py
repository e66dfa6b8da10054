"""Bad input to cnnkit.torch: a ValueError that names the argument and the shapes, the same
message as cnnkit.reference gives for the same input."""

import numpy as np
import pytest
import torch

import cnnkit.reference as ref
import cnnkit.torch as ct
from conftest import DEVICES



def t(*shape, device="cpu", dtype=torch.float32):
    return torch.ones(shape, dtype=dtype, device=device)


# (function name, positional args as shapes or values, keyword args, expected message pattern)
# A tuple of ints in the args stands for a tensor of that shape.
CASES = [
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3)], {}, r"conv2d: w must have 4 dimensions.*got shape \(4, 3, 3\)"),
    ("conv2d", [(3, 8, 8), (4, 3, 3, 3)], {}, r"conv2d: x must have 4 dimensions.*\(N, C, H, W\)"),
    ("conv2d", [(2, 3, 8, 8), (4, 2, 3, 3)], {}, r"channel mismatch: x has 3 channels.*\(4, 2, 3, 3\)"),
    ("conv2d", [(2, 4, 8, 8), (6, 2, 3, 3)], {"groups": 3}, r"groups=3 must divide"),
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3), (5,)], {}, r"b must have shape \(C_out,\) = \(4,\)"),
    ("conv2d", [(2, 3, 4, 4), (4, 3, 5, 5)], {}, r"kernel .* is larger than the padded input"),
    ("conv2d", [(2, 3, 4, 4), (4, 3, 3, 3)], {"dilation": 2}, r"larger than the padded input"),
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], {"stride": 0}, r"stride must be positive"),
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], {"stride": (1, -1)}, r"stride must be positive"),
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], {"padding": -1}, r"padding must be non-negative"),
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], {"padding": "same", "stride": 2}, r'padding="same" needs stride 1'),
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], {"padding": "full"}, r'padding must be an int, a tuple'),
    ("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], {"dilation": (1, 2, 3)}, r"dilation must be an int or a tuple of 2"),
    ("conv1d", [(2, 3, 8), (4, 3, 3, 3)], {}, r"conv1d: w must have 3 dimensions"),
    ("conv1d", [(2, 3, 2), (4, 3, 3)], {}, r"conv1d: kernel .* is larger than the padded input"),
    ("conv2d_gemm", [(2, 3, 8, 8), (4, 2, 3, 3)], {}, r"conv2d_gemm: channel mismatch"),
    ("im2col", [(8, 8), 3], {}, r"im2col: x must have shape \(N, C, H, W\) or \(C, H, W\), got shape \(8, 8\)"),
    ("im2col", [(1, 3, 2, 2), 3], {}, r"im2col: kernel .* is larger than the padded input"),
    ("col2im", [(1, 10, 4), (4, 4), 3], {}, r"col2im: cols.shape\[-2\] = 10 must be a multiple of kH\*kW = 9"),
    ("col2im", [(1, 9, 5), (4, 4), 3], {}, r"col2im: cols has L = 5 columns .* 2 x 2 = 4 windows"),
    ("col2im", [(9,), (4, 4), 3], {}, r"col2im: cols must have shape \(N, C\*kH\*kW, L\)"),
    ("toeplitz_matrix", [(2, 3, 3, 3), (2, 5, 5)], {}, r"toeplitz_matrix: channel mismatch"),
    ("toeplitz_matrix", [(2, 3, 3, 3), (3, 0, 5)], {}, r"input_shape must be three positive ints"),
    ("toeplitz_matrix", [(4, 1, 3, 3), (3, 5, 5)], {"groups": 2}, r"groups=2 must divide"),
    ("toeplitz_matrix", [(2, 3, 3, 3), (3, 2, 2)], {}, r"toeplitz_matrix: kernel .* larger"),
    ("max_pool2d", [(2, 3), 2], {}, r"max_pool2d: x must have 3 or 4 dimensions"),
    ("max_pool2d", [(1, 1, 4, 4), 2], {"padding": 2}, r"padding \(2, 2\) must be at most half the kernel size \(2, 2\)"),
    ("max_pool2d", [(1, 1, 2, 2), 3], {}, r"max_pool2d: kernel \(3, 3\).*larger than the padded input"),
    ("max_pool2d", [(1, 1, 4, 4), 2], {"stride": 0}, r"stride must be positive"),
    ("avg_pool2d", [(1, 1, 4, 4), 0], {}, r"kernel_size must be positive"),
    ("avg_pool2d", [(1, 1, 4, 4), 2], {"divisor_override": 0}, r"divisor_override must be a non-zero int"),
    ("global_avg_pool2d", [(2, 3)], {}, r"global_avg_pool2d: x must have 3 or 4 dimensions"),
    ("stochastic_pool2d", [(1, 1, 1, 1), 2], {}, r"larger than the padded input"),
    ("stochastic_pool2d", [(1, 1, 4, 4), 2], {"rng": -1}, r"rng must be None, a non-negative int seed"),
    ("linear", [(2, 5), (3, 4)], {}, r"linear: x must have shape \(\.\.\., in\) with in = 4"),
    ("linear", [(2, 4), (3, 4, 1)], {}, r"linear: w must have 2 dimensions"),
    ("linear", [(2, 4), (3, 4), (4,)], {}, r"linear: b must have shape \(out,\) = \(3,\)"),
    ("softmax", [(2, 3)], {"axis": 2}, r"softmax: axis must be an int in \[-2, 2\)"),
    ("squared_error", [(2, 3), (3, 2)], {}, r"squared_error: h and y must have the same shape"),
    ("batch_norm", [(4,), None, None, None, None, True], {}, r"batch_norm: x must have at least 2 dimensions"),
    ("batch_norm", [(4, 3), (2,), None, None, None, True], {}, r"gamma must have shape \(C,\) = \(3,\)"),
    ("batch_norm", [(1, 3), None, None, None, None, True], {}, r"expected more than 1 value per channel"),
    ("batch_norm", [(4, 3), None, None, None, None, False], {}, r"running_mean and running_var are required"),
    ("local_response_norm", [(2, 3), 2], {}, r"x must have at least 3 dimensions"),
    ("local_response_norm", [(2, 3, 4), 0], {}, r"size must be a positive int"),
]


def _torch_args(name, args, device):
    # output_size (col2im) and input_shape (toeplitz_matrix) are shapes, not tensors
    keep = {"col2im": {1}, "toeplitz_matrix": {1}}.get(name, set())
    return [a if i in keep else (t(*a, device=device) if isinstance(a, tuple) else a) for i, a in enumerate(args)]


def _numpy_args(name, args):
    keep = {"col2im": {1}, "toeplitz_matrix": {1}}.get(name, set())
    return [a if i in keep else (np.ones(a, dtype=np.float32) if isinstance(a, tuple) else a)
            for i, a in enumerate(args)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,args,kwargs,match", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_raises_value_error(device, name, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(ct, name)(*_torch_args(name, args, device), **kwargs)


# The one message that differs from the reference on purpose: the rng message names
# torch.Generator where the reference names numpy.random.Generator.
DIFFERENT = {r"rng must be None, a non-negative int seed"}


@pytest.mark.parametrize("name,args,kwargs,match", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_same_message_as_reference(name, args, kwargs, match):
    if match in DIFFERENT:
        pytest.skip("message differs from the reference on purpose (see DIFFERENT)")
    f = getattr(ref, name, None)
    if f is None:
        pytest.skip(f"cnnkit.reference.{name} is not available")
    with pytest.raises(ValueError) as ours:
        getattr(ct, name)(*_torch_args(name, args, "cpu"), **kwargs)
    try:
        f(*_numpy_args(name, args), **kwargs)
    except ValueError as theirs:
        assert str(ours.value) == str(theirs)
    else:
        pytest.fail(f"cnnkit.reference.{name} accepted the input that cnnkit.torch rejects")


@pytest.mark.parametrize("device", DEVICES)
def test_tensor_type_dtype_and_device_checks(device):
    x, w = t(1, 2, 5, 5, device=device), t(3, 2, 3, 3, device=device)
    with pytest.raises(ValueError, match="conv2d: x must be a torch.Tensor, got ndarray"):
        ct.conv2d(np.ones((1, 2, 5, 5)), w)
    with pytest.raises(ValueError, match="x must be a floating-point tensor, got dtype torch.int64"):
        ct.conv2d(x.long(), w)
    with pytest.raises(ValueError, match="w has dtype torch.float64 but x has dtype torch.float32"):
        ct.conv2d(x, w.double())
    with pytest.raises(ValueError, match="relu: x must be a floating-point tensor"):
        ct.relu(torch.arange(3, device=device))
    if device != "cpu":
        with pytest.raises(ValueError, match="w is on cpu"):
            ct.conv2d(x, w.cpu())


@pytest.mark.parametrize("device", DEVICES)
def test_label_checks(device):
    z = t(3, 4, device=device)
    with pytest.raises(ValueError, match=r"labels must be integer class indices, got dtype torch.float32"):
        ct.cross_entropy(z, t(3, device=device))
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\) = \(3,\)"):
        ct.cross_entropy(z, torch.zeros(2, dtype=torch.long, device=device))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, K\) = \[0, 4\).*from 0 to 4"):
        ct.cross_entropy(z, torch.tensor([0, 4, 1], device=device))
    with pytest.raises(ValueError, match=r"logits must have 2 dimensions"):
        ct.cross_entropy(t(3, device=device), torch.zeros(3, dtype=torch.long, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_stochastic_pool_rejects_negative_input(device):
    x = -t(1, 1, 4, 4, device=device)
    with pytest.raises(ValueError, match=r"x must be non-negative .* apply a ReLU first\), got min -1.0"):
        ct.stochastic_pool2d(x, 2)
    with pytest.raises(ValueError, match="non-negative"):
        ct.stochastic_pool2d(torch.full((1, 1, 2, 2), float("nan"), device=device), 2, training=False)


def test_module_and_model_arguments():
    with pytest.raises(ValueError, match="groups=2 must divide in_channels"):
        ct.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        ct.Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match="backend must be one of"):
        ct.LeNet5(backend="cudnn")
