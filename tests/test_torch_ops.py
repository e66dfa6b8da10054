"""cnnkit.torch operations against torch.nn.functional (forward) and torch autograd through the
built-in operations (backward), plus gradcheck of every hand-written backward pass in float64.

Every test runs on the CPU and, when one is present, on a CUDA device.
"""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnkit.torch as ct
from conftest import DEVICES

DTYPES = [torch.float32, torch.float64]


pytestmark = pytest.mark.usefixtures("exact_cuda_float32")


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-10)


def rand(shape, dtype=torch.float64, device="cpu", grad=True, seed=None):
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.randn(shape, dtype=dtype, generator=g).to(device).requires_grad_(grad)


def close(a, b, dtype):
    torch.testing.assert_close(a, b, **tol(dtype))


def grads(out, inputs, dout):
    """Gradients of <out, dout> with respect to the inputs that are not None."""
    inputs = [t for t in inputs if t is not None]
    return torch.autograd.grad(out, inputs, dout)


def compare(ours, theirs, inputs, dtype):
    """Same forward result and same gradients for a random upstream gradient."""
    close(ours, theirs, dtype)
    dout = torch.randn_like(theirs)
    for a, b in zip(grads(ours, inputs, dout), grads(theirs, inputs, dout)):
        close(a, b, dtype)


def gradcheck(f, *inputs):
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------- convolution

@st.composite
def conv_cases(draw, spatial=2):
    G = draw(st.integers(1, 3))
    c_in, c_out = G * draw(st.integers(1, 2)), G * draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 4)) for _ in range(spatial))
    d = tuple(draw(st.integers(1, 2)) for _ in range(spatial))
    mode = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    if mode == "same":
        stride, pads = 1, [0] * spatial
    else:
        s = tuple(draw(st.integers(1, 3)) for _ in range(spatial))
        stride = s[0] if draw(st.booleans()) else s
        if mode == "valid":
            pads = [0] * spatial
        elif mode == "int":
            pads = [draw(st.integers(0, 2))] * spatial
        else:
            pads = [draw(st.integers(0, 2)) for _ in range(spatial)]
    padding = {"int": pads[0], "tuple": tuple(pads)}.get(mode, mode)
    sizes = tuple(max(1, dd * (kk - 1) + 1 - 2 * p) + draw(st.integers(0, 5))
                  for kk, dd, p in zip(k, d, pads))
    return dict(shape=(draw(st.integers(1, 2)), c_in) + sizes, w_shape=(c_out, c_in // G) + k,
                bias=draw(st.booleans()), stride=stride, padding=padding,
                dilation=d if draw(st.booleans()) else d[0] if len(set(d)) == 1 else d, groups=G,
                dtype=draw(st.sampled_from(DTYPES)))


def conv_inputs(case, device):
    dt = case["dtype"]
    x = rand(case["shape"], dt, device)
    w = rand(case["w_shape"], dt, device)
    b = rand(case["w_shape"][:1], dt, device) if case["bias"] else None
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    return x, w, b, kw


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("device", DEVICES)
@given(case=conv_cases(2))
def test_conv2d_matches_torch(device, case):
    x, w, b, kw = conv_inputs(case, device)
    out = ct.conv2d(x, w, b, **kw)
    assert out.dtype == x.dtype and out.device == x.device
    compare(out, F.conv2d(x, w, b, **kw), (x, w, b), case["dtype"])


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30)
@given(case=conv_cases(1))
def test_conv1d_matches_torch(device, case):
    x, w, b, kw = conv_inputs(case, device)
    compare(ct.conv1d(x, w, b, **kw), F.conv1d(x, w, b, **kw), (x, w, b), case["dtype"])


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30)
@given(case=conv_cases(2))
def test_conv2d_gemm_matches_torch(device, case):
    x, w, b, kw = conv_inputs(case, device)
    compare(ct.conv2d_gemm(x, w, b, **kw), F.conv2d(x, w, b, **kw), (x, w, b), case["dtype"])


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30)
@given(case=conv_cases(2).filter(lambda c: c["shape"][2] * c["shape"][3] <= 40))
def test_toeplitz_matrix(device, case):
    x, w, _, kw = conv_inputs(case, device)
    N, C, H, W = x.shape
    T = ct.toeplitz_matrix(w, (C, H, W), **kw)
    ref = F.conv2d(x, w, **kw)
    assert T.shape == (ref[0].numel(), C * H * W) and T.dtype == w.dtype
    close(x.reshape(N, -1) @ T.T, ref.reshape(N, -1), case["dtype"])


def test_toeplitz_single_channel_is_doubly_block_toeplitz():
    w = torch.arange(1.0, 5.0, dtype=torch.float64).view(1, 1, 2, 2)   # [[1, 2], [3, 4]]
    T = ct.toeplitz_matrix(w, (1, 3, 3))
    expected = torch.tensor([[1, 2, 0, 3, 4, 0, 0, 0, 0],
                             [0, 1, 2, 0, 3, 4, 0, 0, 0],
                             [0, 0, 0, 1, 2, 0, 3, 4, 0],
                             [0, 0, 0, 0, 1, 2, 0, 3, 4]], dtype=torch.float64)
    assert torch.equal(T, expected)


@st.composite
def window_cases(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = tuple(max(1, dd * (kk - 1) + 1 - 2 * pp) + draw(st.integers(0, 4))
                 for kk, dd, pp in zip(k, d, p))
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(1, 3))) + size,
                kw=dict(kernel_size=k, dilation=d, padding=p, stride=s),
                dtype=draw(st.sampled_from(DTYPES)))


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40)
@given(case=window_cases())
def test_im2col_col2im_match_unfold_fold(device, case):
    dt, kw = case["dtype"], case["kw"]
    x = rand(case["shape"], dt, device)
    compare(ct.im2col(x, **kw), F.unfold(x, **kw), (x,), dt)
    cols = rand(tuple(F.unfold(x, **kw).shape), dt, device)
    size = case["shape"][2:]
    compare(ct.col2im(cols, size, **kw), F.fold(cols, size, **kw), (cols,), dt)
    # col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>
    lhs = (ct.im2col(x, **kw) * cols).sum()
    rhs = (x * ct.col2im(cols, size, **kw)).sum()
    close(lhs, rhs, dt)
    # a single image (no batch axis), as in torch
    close(ct.im2col(x[0], **kw), F.unfold(x[0], **kw), dt)
    close(ct.col2im(cols[0], size, **kw), F.fold(cols[0], size, **kw), dt)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_convolutions(device):
    x, w, b = rand((2, 4, 6, 5), device=device, seed=0), rand((6, 2, 3, 2), device=device, seed=1), \
        rand((6,), device=device, seed=2)
    gradcheck(lambda x, w, b: ct.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2), x, w, b)
    gradcheck(lambda x, w, b: ct.conv2d(x, w, b, padding="same", groups=2), x, w, b)
    w1 = rand((3, 4, 3, 3), device=device, seed=3)
    gradcheck(lambda x, w, b: ct.conv2d_gemm(x, w, b, stride=2, padding=(1, 0)), x, w1, b[:3])
    gradcheck(lambda x, w, b: ct.conv2d_gemm(x, w, b, padding="same", dilation=2, groups=2), x, w, b)
    x1, w2 = rand((2, 4, 7), device=device, seed=4), rand((2, 2, 3), device=device, seed=5)
    gradcheck(lambda x, w, b: ct.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2), x1, w2, b[:2])
    gradcheck(lambda w: ct.toeplitz_matrix(w, (4, 4, 3), stride=1, padding=1), w1)
    gradcheck(lambda w: ct.toeplitz_matrix(w, (4, 3, 3), stride=2, padding=1, groups=2), w)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_im2col_col2im(device):
    x = rand((1, 2, 5, 4), device=device, seed=0)
    kw = dict(kernel_size=(2, 3), stride=(1, 2), padding=1, dilation=(2, 1))
    gradcheck(lambda x: ct.im2col(x, **kw), x)
    cols = rand(tuple(F.unfold(x, **kw).shape), device=device, seed=1)
    gradcheck(lambda c: ct.col2im(c, (5, 4), **kw), cols)
    assert torch.autograd.gradgradcheck(lambda c: ct.col2im(c, (5, 4), **kw), (cols,))


@pytest.mark.parametrize("device", DEVICES)
def test_conv_leaves_inputs_alone_and_works_without_grad(device):
    x, w, b = rand((1, 2, 5, 5), device=device, grad=False), rand((3, 2, 3, 3), device=device, grad=False), \
        rand((3,), device=device, grad=False)
    copies = [t.clone() for t in (x, w, b)]
    out = ct.conv2d(x, w, b, padding="same")
    assert not out.requires_grad and out.shape == (1, 3, 5, 5)
    for t, c in zip((x, w, b), copies):
        assert torch.equal(t, c)
    # only some inputs need a gradient
    w.requires_grad_(True)
    (dw,) = torch.autograd.grad(ct.conv2d(x, w, b).sum(), (w,))
    (ref,) = torch.autograd.grad(F.conv2d(x, w, b).sum(), (w,))
    close(dw, ref, torch.float64)


# ------------------------------------------------------------------- pooling

@st.composite
def pool_cases(draw, dilation=False):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = None if draw(st.booleans()) else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    size = tuple(max(1, dd * (kk - 1) + 1 - 2 * pp) + draw(st.integers(0, 5)) for kk, pp, dd in zip(k, p, d))
    batch = (draw(st.integers(1, 2)),) if draw(st.integers(0, 3)) else ()      # sometimes a single image
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=draw(st.booleans()))
    if dilation:
        kw["dilation"] = d
    return dict(shape=batch + (draw(st.integers(1, 3)),) + size, kw=kw, dtype=draw(st.sampled_from(DTYPES)))


@pytest.mark.parametrize("device", DEVICES)
@given(case=pool_cases(dilation=True))
def test_max_pool2d_matches_torch(device, case):
    dt, kw = case["dtype"], case["kw"]
    x = rand(case["shape"], dt, device)
    out, idx = ct.max_pool2d(x, **kw, return_indices=True)
    ref, ref_idx = F.max_pool2d(x, **kw, return_indices=True)
    assert torch.equal(idx, ref_idx) and idx.dtype == torch.int64
    if torch.isinf(ref).any():
        # A dilated window can lie wholly in the padding (output -inf). torch's own CPU backward
        # then writes outside the input plane, so only the forward pass is compared here; see
        # test_max_pool2d_window_wholly_in_padding for the gradient.
        close(out, ref, dt)
        return
    compare(out, ref, (x,), dt)
    compare(ct.max_pool2d(x, **kw), F.max_pool2d(x, **kw), (x,), dt)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_window_wholly_in_padding(device):
    """Width 1, kernel 2 with dilation 2 and padding 1: the only window reads columns -1 and 1,
    both padding. Its output is -inf and depends on no input, so it sends no gradient (its
    index, 1, lies outside the plane, as torch reports it)."""
    x = torch.tensor([[[[5.0]], [[7.0]]]], device=device, requires_grad=True)
    kw = dict(kernel_size=(1, 2), padding=(0, 1), dilation=(1, 2))
    out, idx = ct.max_pool2d(x, **kw, return_indices=True)
    ref, ref_idx = F.max_pool2d(x.detach(), **kw, return_indices=True)
    assert torch.equal(out.detach(), ref) and torch.equal(idx, ref_idx)
    assert out.flatten().tolist() == [float("-inf")] * 2 and idx.flatten().tolist() == [1, 1]
    (dx,) = torch.autograd.grad(out.sum(), x)
    assert dx.flatten().tolist() == [0.0, 0.0]


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_ties_go_to_first_maximum(device):
    x = torch.tensor([[3.0, 1.0, 3.0], [3.0, 2.0, 0.0], [1.0, 3.0, 3.0]], device=device)
    x = x.view(1, 1, 3, 3).requires_grad_(True)
    out, idx = ct.max_pool2d(x, 2, stride=1, return_indices=True)
    assert idx.flatten().tolist() == [0, 2, 3, 7]      # first maximum of each window, row-major
    (dx,) = torch.autograd.grad(out.sum(), x)
    assert dx.flatten().tolist() == [1, 0, 1, 1, 0, 0, 0, 1, 0]
    (ref,) = torch.autograd.grad(F.max_pool2d(x, 2, stride=1).sum(), x)
    assert torch.equal(dx, ref)


@pytest.mark.parametrize("device", DEVICES)
@given(case=pool_cases(), count_include_pad=st.booleans(), divisor=st.sampled_from([None, 1, 3, -2]))
def test_avg_pool2d_matches_torch(device, case, count_include_pad, divisor):
    dt, kw = case["dtype"], case["kw"]
    x = rand(case["shape"], dt, device)
    extra = dict(count_include_pad=count_include_pad, divisor_override=divisor)
    compare(ct.avg_pool2d(x, **kw, **extra), F.avg_pool2d(x, **kw, **extra), (x,), dt)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_global_avg_pool2d(device, dtype):
    x = rand((2, 3, 4, 5), dtype, device)
    out = ct.global_avg_pool2d(x)
    assert out.shape == (2, 3) and out.dtype == dtype
    compare(out, F.adaptive_avg_pool2d(x, 1).flatten(1), (x,), dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_pooling(device):
    x = rand((1, 2, 5, 6), device=device, seed=0)
    gradcheck(lambda x: ct.max_pool2d(x, (3, 2), stride=(2, 1), padding=1), x)
    gradcheck(lambda x: ct.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1), x)
    gradcheck(lambda x: ct.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False), x)
    gradcheck(ct.global_avg_pool2d, x)
    gradcheck(lambda x: ct.max_pool2d(x, 2, stride=1, dilation=(2, 1), ceil_mode=True), x)
    gradcheck(lambda x: ct.avg_pool2d(x, 2, 2, 1, True, False), x)
    gradcheck(lambda x: ct.stochastic_pool2d(x, 2, stride=1, training=False), x.detach().abs().requires_grad_())


def _expected_stochastic(x, k, s):
    """Probability-weighted average of each window, computed directly from the definition."""
    N, C, H, W = x.shape
    out = torch.zeros(N, C, (H - k) // s + 1, (W - k) // s + 1, dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            r = x[:, :, i * s:i * s + k, j * s:j * s + k].flatten(2)
            tot = r.sum(-1, keepdim=True)
            p = torch.where(tot > 0, r / torch.where(tot > 0, tot, 1), 0)
            out[:, :, i, j] = (p * r).sum(-1)
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_stochastic_pool2d_evaluation(device, dtype):
    x = rand((2, 3, 6, 7), dtype, device, grad=False, seed=0).relu()
    x[0, 0, :2, :2] = 0.0                        # a window of zeros
    out = ct.stochastic_pool2d(x, 2, training=False)
    assert out.dtype == dtype and out.shape == (2, 3, 3, 3)
    close(out.cpu(), _expected_stochastic(x.cpu(), 2, 2), dtype)
    assert out[0, 0, 0, 0] == 0


@pytest.mark.parametrize("device", DEVICES)
def test_stochastic_pool2d_training_samples_from_window(device):
    x = rand((2, 3, 6, 6), device=device, seed=0, grad=False).relu()
    x[1, 2, :3, :3] = 0.0
    x.requires_grad_(True)
    out = ct.stochastic_pool2d(x, 3, stride=3, training=True, rng=torch.Generator().manual_seed(1))
    r = x.detach().unfold(2, 3, 3).unfold(3, 3, 3).flatten(-2)                # (N, C, 2, 2, 9)
    hit = (r == out.detach().unsqueeze(-1)) & (r > 0)
    # every output is a positive activation of its window (one of them), or 0 for a window of zeros
    assert torch.all((hit.sum(-1) == 1) | ((out == 0) & (r.amax(-1) == 0)))
    assert out[1, 2, 0, 0] == 0
    # the gradient goes to the sampled activation only
    (dx,) = torch.autograd.grad(out.sum(), x)
    assert torch.equal(dx.unfold(2, 3, 3).unfold(3, 3, 3).flatten(-2), hit.to(dx.dtype))
    # same seed, same sample
    again = ct.stochastic_pool2d(x, 3, stride=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, again)
    assert torch.equal(ct.stochastic_pool2d(x, 3, rng=7), ct.stochastic_pool2d(x, 3, rng=7))
    # single image
    assert torch.equal(ct.stochastic_pool2d(x[0], 3, rng=7), ct.stochastic_pool2d(x[:1], 3, rng=7)[0])


@pytest.mark.parametrize("device", DEVICES)
def test_stochastic_pool2d_sampling_frequencies(device):
    values = torch.tensor([0.0, 1.0, 2.0, 3.0, 0.0, 4.0], dtype=torch.float64)
    x = values.view(1, 1, 1, 6).expand(4000, 1, 1, 6).contiguous().to(device)
    out = ct.stochastic_pool2d(x, (1, 6), rng=torch.Generator().manual_seed(0)).flatten().cpu()
    freq = torch.stack([(out == v).double().mean() for v in (1.0, 2.0, 3.0, 4.0)])
    torch.testing.assert_close(freq, torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64), atol=0.03, rtol=0)
    assert set(out.tolist()) <= {1.0, 2.0, 3.0, 4.0}


# ------------------------------------------------------ linear, activations

@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), n_in=st.integers(1, 5),
       n_out=st.integers(1, 5), bias=st.booleans(), dtype=st.sampled_from(DTYPES))
def test_linear_matches_torch(device, lead, n_in, n_out, bias, dtype):
    x, w = rand(tuple(lead) + (n_in,), dtype, device), rand((n_out, n_in), dtype, device)
    b = rand((n_out,), dtype, device) if bias else None
    compare(ct.linear(x, w, b), F.linear(x, w, b), (x, w, b), dtype)


ACTIVATIONS = [(ct.sigmoid, torch.sigmoid), (ct.tanh, torch.tanh), (ct.relu, F.relu),
               (lambda x: ct.softmax(x), lambda x: F.softmax(x, -1)),
               (lambda x: ct.softmax(x, axis=1), lambda x: F.softmax(x, 1)),
               (lambda x: ct.softmax(x, dim=0), lambda x: F.softmax(x, 0))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours,theirs", ACTIVATIONS)
def test_activations_match_torch(device, dtype, ours, theirs):
    x = rand((3, 4, 5), dtype, device) * 4
    out = ours(x)
    assert out.dtype == dtype
    compare(out, theirs(x), (x,), dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_activations_extreme_inputs(device):
    x = torch.tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0], device=device)
    assert torch.isfinite(ct.sigmoid(x)).all() and torch.isfinite(ct.softmax(x)).all()
    close(ct.softmax(x), F.softmax(x, -1), torch.float32)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_linear_activations_losses(device):
    x, w, b = rand((2, 3, 4), device=device, seed=0), rand((5, 4), device=device, seed=1), \
        rand((5,), device=device, seed=2)
    gradcheck(ct.linear, x, w, b)
    gradcheck(ct.sigmoid, x)
    gradcheck(ct.tanh, x)
    gradcheck(ct.relu, x)
    gradcheck(lambda x: ct.softmax(x, axis=1), x)
    gradcheck(ct.squared_error, x, rand((2, 3, 4), device=device, seed=3))
    labels = torch.tensor([4, 0, 2], device=device)
    gradcheck(lambda z: ct.cross_entropy(z, labels), rand((3, 5), device=device, seed=4))


# -------------------------------------------------------------------- losses

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_squared_error(device, dtype):
    h, y = rand((4, 3), dtype, device), rand((4, 3), dtype, device)
    out = ct.squared_error(h, y)
    assert out.shape == () and out.dtype == dtype
    compare(out, 0.5 * F.mse_loss(h, y, reduction="sum"), (h, y), dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels_dtype", [torch.int64, torch.int32, torch.uint8])
def test_cross_entropy_matches_torch(device, dtype, labels_dtype):
    z = rand((6, 7), dtype, device) * 5
    labels = torch.randint(0, 7, (6,), device=device).to(labels_dtype)
    out = ct.cross_entropy(z, labels)
    assert out.shape == () and out.dtype == dtype
    compare(out, F.cross_entropy(z, labels.long()), (z,), dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy_large_logits_and_empty_batch(device):
    z = torch.tensor([[1000.0, 0.0, -1000.0]], device=device, requires_grad=True)
    out = ct.cross_entropy(z, torch.tensor([1], device=device))
    assert torch.isfinite(out) and abs(out.item() - 1000.0) < 1e-3
    assert torch.isnan(ct.cross_entropy(torch.zeros(0, 3, device=device), torch.zeros(0, dtype=torch.long, device=device)))


# ------------------------------------------------------------- normalisation

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_torch(device, dtype, shape, training, affine):
    x = rand(shape, dtype, device) * 3 + 1
    gamma, beta = (rand((3,), dtype, device), rand((3,), dtype, device)) if affine else (None, None)
    rm, rv = rand((3,), dtype, device, grad=False), rand((3,), dtype, device, grad=False).abs() + 0.5
    rm2, rv2 = rm.clone(), rv.clone()
    out = ct.batch_norm(x, gamma, beta, rm, rv, training, momentum=0.3, eps=1e-3)
    ref = F.batch_norm(x, rm2, rv2, gamma, beta, training, momentum=0.3, eps=1e-3)
    compare(out, ref, (x, gamma, beta), dtype)
    close(rm, rm2, dtype)
    close(rv, rv2, dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_without_running_stats(device):
    x = rand((4, 3, 2, 2), device=device)
    compare(ct.batch_norm(x, None, None, None, None, True), F.batch_norm(x, None, None, training=True),
            (x,), torch.float64)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_batch_norm(device):
    x, g, b = rand((3, 2, 2, 2), device=device, seed=0), rand((2,), device=device, seed=1), \
        rand((2,), device=device, seed=2)
    rm, rv = torch.zeros(2, dtype=torch.float64, device=device), torch.ones(2, dtype=torch.float64, device=device)
    gradcheck(lambda x, g, b: ct.batch_norm(x, g, b, None, None, True), x, g, b)
    gradcheck(lambda x, g, b: ct.batch_norm(x, g, b, rm, rv, False), x, g, b)
    gradcheck(lambda x: ct.batch_norm(x, None, None, None, None, True), x)


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=30)
@given(shape=st.sampled_from([(2, 7, 3), (1, 5, 3, 4), (2, 3, 2, 2, 2)]), size=st.integers(1, 8),
       alpha=st.floats(1e-4, 1.0), beta=st.floats(0.1, 1.5), k=st.floats(0.5, 3.0),
       dtype=st.sampled_from(DTYPES))
def test_local_response_norm_matches_torch(device, shape, size, alpha, beta, k, dtype):
    x = rand(shape, dtype, device)
    compare(ct.local_response_norm(x, size, alpha, beta, k), F.local_response_norm(x, size, alpha, beta, k),
            (x,), dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", [1, 2, 5])
def test_gradcheck_local_response_norm(device, size):
    x = rand((2, 6, 2, 3), device=device, seed=0)
    gradcheck(lambda x: ct.local_response_norm(x, size, alpha=0.5, beta=0.75, k=2.0), x)


def test_device():
    assert ct.device().type == ("cuda" if torch.cuda.is_available() else "cpu")
