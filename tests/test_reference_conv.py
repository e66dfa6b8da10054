"""cnnkit.reference convolution: signals, layers, GEMM forms; PyTorch, NumPy and SciPy as oracles."""

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st

from cnnkit import reference as R

TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-9, atol=1e-9)}
dtypes = st.sampled_from([np.float32, np.float64])


def t(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


# ----------------------------------------------------------------------------- lecture examples

def test_lecture_1d_convolution():
    assert np.array_equal(R.convolve1d([1, 2, 3, 4], [5, 6, 7]), [5, 16, 34, 52, 45, 28])


def test_lecture_2d_cross_correlation():
    x = np.arange(9).reshape(3, 3)
    k = np.array([[0, 1], [2, 3]])
    assert np.array_equal(R.correlate2d(x, k), [[19, 25], [37, 43]])
    # the same numbers through the batched layer and its GEMM / Toeplitz forms
    assert np.array_equal(R.conv2d(x[None, None], k[None, None])[0, 0], [[19, 25], [37, 43]])
    assert np.array_equal(R.conv2d_gemm(x[None, None], k[None, None])[0, 0], [[19, 25], [37, 43]])
    T = R.toeplitz_matrix(k[None, None], (1, 3, 3))
    assert np.array_equal(T @ x.ravel(), [19, 25, 37, 43])
    # true convolution flips the kernel
    assert np.array_equal(R.convolve2d(x, k), [[5, 11], [23, 29]])


def test_lecture_binary_image_7x7():
    # a 7x7 binary image of an "X" and a 3x3 diagonal detector: the response is 3 exactly where
    # the whole diagonal of the window is lit
    img = np.eye(7, dtype=int) | np.fliplr(np.eye(7, dtype=int))
    k = np.eye(3, dtype=int)
    out = R.correlate2d(img, k)
    expected = np.array([[sum(img[i + p, j + p] for p in range(3)) for j in range(5)] for i in range(5)])
    assert out.shape == (5, 5)
    assert np.array_equal(out, expected)
    assert np.array_equal(np.argwhere(out == 3), [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]])
    assert out[2, 2] == 3 and out[0, 4] == 1
    assert np.array_equal(out, scipy.signal.correlate2d(img, k, mode="valid"))


# ----------------------------------------------------------------------------- signal primitives

@given(n=st.integers(1, 12), m=st.integers(1, 12), mode=st.sampled_from(["full", "valid", "same"]),
       seed=st.integers(0, 2**31))
def test_1d_matches_numpy(n, m, mode, seed):
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal(n), rng.standard_normal(m)
    np.testing.assert_allclose(R.convolve1d(x, k, mode), np.convolve(x, k, mode), atol=1e-12)
    np.testing.assert_allclose(R.correlate1d(x, k, mode), np.correlate(x, k, mode), atol=1e-12)


@given(shape=st.tuples(*[st.integers(1, 7)] * 4), mode=st.sampled_from(["full", "valid", "same"]),
       seed=st.integers(0, 2**31))
def test_2d_matches_scipy(shape, mode, seed):
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal(shape[:2]), rng.standard_normal(shape[2:])
    for ours, theirs in ((R.convolve2d, scipy.signal.convolve2d), (R.correlate2d, scipy.signal.correlate2d)):
        try:
            expected = theirs(x, k, mode=mode)
        except ValueError:
            with pytest.raises(ValueError, match="valid"):
                ours(x, k, mode)
            continue
        np.testing.assert_allclose(ours(x, k, mode), expected, atol=1e-12)


def test_signal_defaults_and_dtypes():
    x32 = np.arange(5, dtype=np.float32)
    assert R.convolve1d(x32, np.ones(2, np.float32)).shape == (6,)       # full by default
    assert R.correlate1d(x32, np.ones(2, np.float32)).shape == (4,)      # valid by default
    assert R.convolve1d(x32, np.ones(2, np.float32)).dtype == np.float32
    assert R.correlate2d(np.ones((3, 3)), np.ones((2, 2))).shape == (2, 2)
    assert R.convolve2d(np.ones((3, 3), np.float32), np.ones((2, 2), np.float32)).dtype == np.float32


@pytest.mark.parametrize("call, match", [
    (lambda: R.convolve1d(np.ones((2, 2)), np.ones(2)), "x must be 1-D"),
    (lambda: R.correlate1d(np.ones(3), np.ones(0)), "k must not be empty"),
    (lambda: R.convolve1d(np.ones(3), np.ones(2), mode="circular"), "mode"),
    (lambda: R.correlate2d(np.ones(3), np.ones((2, 2))), "x must be 2-D"),
    (lambda: R.correlate2d(np.ones((4, 2)), np.ones((2, 4))), "valid"),
    (lambda: R.convolve2d(np.ones((3, 3)), np.array([["a"]])), "numeric"),
])
def test_signal_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- conv2d vs PyTorch

@st.composite
def conv2d_case(draw):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if draw(st.booleans()) and s == (1, 1):
        pad = draw(st.sampled_from(["same", "valid"]))
    else:
        pad = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    p = (0, 0) if isinstance(pad, str) else pad
    h = draw(st.integers(max(1, d[0] * (k[0] - 1) + 1 - 2 * p[0]), 11))
    w = draw(st.integers(max(1, d[1] * (k[1] - 1) + 1 - 2 * p[1]), 11))
    n = draw(st.integers(1, 3))
    return dict(x=(n, c_in, h, w), w=(c_out, c_in // groups) + k, stride=s, padding=pad, dilation=d,
                groups=groups, bias=draw(st.booleans()), dtype=draw(dtypes), seed=draw(st.integers(0, 2**31)))


def make(case):
    rng = np.random.default_rng(case["seed"])
    dt = case["dtype"]
    x = rng.standard_normal(case["x"]).astype(dt)
    w = rng.standard_normal(case["w"]).astype(dt)
    b = rng.standard_normal(case["w"][0]).astype(dt) if case["bias"] else None
    kw = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    return x, w, b, kw


@given(conv2d_case())
def test_conv2d_forward_backward_match_torch(case):
    x, w, b, kw = make(case)
    copies = [a.copy() for a in (x, w)]
    y = R.conv2d(x, w, b, **kw)
    xt, wt = t(x, True), t(w, True)
    bt = None if b is None else t(b, True)
    yt = F.conv2d(xt, wt, bt, **kw)
    tol = TOL[case["dtype"]]
    assert y.dtype == case["dtype"] and y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)

    dout = np.random.default_rng(1).standard_normal(y.shape).astype(case["dtype"])
    yt.backward(t(dout))
    dx, dw, db = R.conv2d_backward(dout, x, w, **kw)
    assert dx.dtype == dw.dtype == db.dtype == case["dtype"]
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(dw, wt.grad.numpy(), **tol)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), **tol)
    if b is not None:
        np.testing.assert_allclose(db, bt.grad.numpy(), **tol)
    # inputs are never modified
    assert all(np.array_equal(a, c) for a, c in zip((x, w), copies))


@settings(max_examples=30)
@given(conv2d_case())
def test_conv2d_gemm_naive_and_toeplitz_agree_with_conv2d(case):
    x, w, b, kw = make(case)
    y = R.conv2d(x, w, b, **kw)
    tol = TOL[case["dtype"]]
    np.testing.assert_allclose(R.conv2d_gemm(x, w, b, **kw), y, **tol)
    np.testing.assert_allclose(R.conv2d_naive(x, w, b, **kw), y, **tol)
    T = R.toeplitz_matrix(w, x.shape[1:], **kw)
    y0 = R.conv2d(x, w, None, **kw)
    assert T.shape == (y0[0].size, x[0].size)
    np.testing.assert_allclose(x.reshape(len(x), -1) @ T.T, y0.reshape(len(x), -1), **tol)


@given(n=st.integers(1, 3), c=st.integers(1, 4), o=st.integers(1, 4), L=st.integers(1, 16),
       k=st.integers(1, 5), s=st.integers(1, 3), p=st.integers(0, 3), d=st.integers(1, 3),
       g=st.integers(1, 2), dtype=dtypes)
def test_conv1d_matches_torch(n, c, o, L, k, s, p, d, g, dtype):
    assume(L + 2 * p >= d * (k - 1) + 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c * g, L)).astype(dtype)
    w = rng.standard_normal((o * g, c, k)).astype(dtype)
    b = rng.standard_normal(o * g).astype(dtype)
    y = R.conv1d(x, w, b, s, p, d, g)
    xt, wt, bt = t(x, True), t(w, True), t(b, True)
    yt = F.conv1d(xt, wt, bt, s, p, d, g)
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL[dtype])
    dout = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(t(dout))
    for ours, theirs in zip(R.conv1d_backward(dout, x, w, s, p, d, g), (xt, wt, bt)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), **TOL[dtype])


def test_conv1d_same_padding():
    x = np.random.default_rng(0).standard_normal((2, 3, 10))
    w = np.random.default_rng(1).standard_normal((4, 3, 4))
    np.testing.assert_allclose(R.conv1d(x, w, padding="same", dilation=2),
                               F.conv1d(t(x), t(w), padding="same", dilation=2).numpy(), atol=1e-12)


def test_conv2d_numerical_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2))
    dout = rng.standard_normal(R.conv2d(x, w, b, **kw).shape)
    dx, dw, db = R.conv2d_backward(dout, x, w, **kw)

    def numeric(f, a, eps=1e-6):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + eps
            hi = f()
            a[i] = old - eps
            lo = f()
            a[i] = old
            g[i] = (hi - lo) / (2 * eps)
        return g

    loss = lambda: float((R.conv2d(x, w, b, **kw) * dout).sum())  # noqa: E731
    np.testing.assert_allclose(dx, numeric(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numeric(loss, w), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(db, numeric(loss, b), rtol=1e-6, atol=1e-7)


def test_integer_input_gives_float64():
    y = R.conv2d(np.ones((1, 1, 3, 3), dtype=np.int64), np.ones((1, 1, 2, 2), dtype=np.int64))
    assert y.dtype == np.float64 and np.all(y == 4)


# ----------------------------------------------------------------------------- im2col / col2im

@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)), s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)), d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       dtype=dtypes)
def test_im2col_col2im_match_unfold_fold(n, c, h, w, k, s, p, d, dtype):
    assume(h + 2 * p[0] >= d[0] * (k[0] - 1) + 1 and w + 2 * p[1] >= d[1] * (k[1] - 1) + 1)
    x = np.random.default_rng(0).standard_normal((n, c, h, w)).astype(dtype)
    cols = R.im2col(x, k, s, p, d)
    ref = F.unfold(t(x), k, d, p, s).numpy()
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, ref)
    np.testing.assert_allclose(R.col2im(cols, (h, w), k, s, p, d),
                               F.fold(t(cols), (h, w), k, d, p, s).numpy(), **TOL[dtype])
    # unbatched forms
    np.testing.assert_array_equal(R.im2col(x[0], k, s, p, d), ref[0])
    assert R.col2im(cols[0], (h, w), k, s, p, d).shape == (c, h, w)


def test_col2im_bad_input():
    with pytest.raises(ValueError, match="multiple of kH\\*kW"):
        R.col2im(np.ones((1, 5, 4)), (3, 3), 2)
    with pytest.raises(ValueError, match="windows"):
        R.col2im(np.ones((1, 4, 5)), (3, 3), 2)


def test_toeplitz_1_channel_is_doubly_block_toeplitz():
    k = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    T = R.toeplitz_matrix(k, (1, 4, 4))
    assert T.shape == (9, 16)
    # blocks of W_out x W rows/columns; block (i, r) depends only on r - i, and each block is Toeplitz
    blocks = T.reshape(3, 3, 4, 4).transpose(0, 2, 1, 3)
    for i in range(3):
        for r in range(4):
            blk = blocks[i, r]
            expected = blocks[0, r - i] if 0 <= r - i < 4 else np.zeros((3, 4))
            np.testing.assert_array_equal(blk, expected)
            for a in range(1, 3):
                for b in range(1, 4):
                    assert blk[a, b] == blk[a - 1, b - 1]


# ----------------------------------------------------------------------------- padding and sizes

@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5)),
       pad=st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)),
                     st.tuples(*[st.integers(-1, 3)] * 4)),
       value=st.sampled_from([0.0, 1.5]), dtype=dtypes)
def test_pad2d_matches_torch(shape, pad, value, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    if isinstance(pad, int):
        tp = (pad,) * 4
    elif len(pad) == 2:
        tp = (pad[1], pad[1], pad[0], pad[0])
    else:
        tp = pad
    assume(shape[2] + tp[2] + tp[3] >= 0 and shape[3] + tp[0] + tp[1] >= 0)
    out = R.pad2d(x, pad, value)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, F.pad(t(x), tp, value=value).numpy())


def test_pad2d_lecture_shapes_and_bad_input():
    x = np.ones((2, 3, 4, 5))
    assert R.pad2d(x, 1).shape == (2, 3, 6, 7)
    assert R.pad2d(x, (1, 2)).shape == (2, 3, 6, 9)
    assert R.pad2d(x, (1, 2, 0, 3)).shape == (2, 3, 7, 8)
    assert R.pad2d(np.ones((3, 3)), 1).sum() == 9        # only the last two axes, zeros around
    with pytest.raises(ValueError, match="padding"):
        R.pad2d(x, (1, 2, 3))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        R.pad2d(np.ones(3), 1)


@given(size=st.integers(1, 64), k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3))
def test_conv_output_size_formula(size, k, s, p, d):
    expected = (size + 2 * p - d * (k - 1) - 1) // s + 1
    if expected < 1:
        with pytest.raises(ValueError, match="larger than the padded input"):
            R.conv_output_size(size, k, s, p, d)
        return
    assert R.conv_output_size(size, k, s, p, d) == expected
    assert R.conv_output_size((size, size), k, s, p, d) == (expected, expected)
    if size <= 12:
        y = R.conv2d(np.zeros((1, 1, size, 3 + d * (k - 1))), np.zeros((1, 1, k, k)), None, s, p, d)
        assert y.shape[2] == expected


def test_conv_output_size_lecture_values():
    assert R.conv_output_size(32, 5) == 28               # LeNet C1
    assert R.conv_output_size(227, 11, stride=4) == 55   # AlexNet conv1
    assert R.conv_output_size(224, 3, padding=1) == 224  # VGG
    assert R.conv_output_size(7, 3, stride=2) == 3
    assert R.conv_output_size(10, 3, padding="same") == 10


# ----------------------------------------------------------------------------- bad input

X, W = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))


@pytest.mark.parametrize("call, match", [
    (lambda: R.conv2d(np.ones((3, 5, 5)), W), r"x must have 4 dimensions.*\(3, 5, 5\)"),
    (lambda: R.conv2d(X, np.ones((4, 3, 3))), r"w must have 4 dimensions"),
    (lambda: R.conv2d(X, np.ones((4, 2, 3, 3))), r"channel mismatch.*\(2, 3, 5, 5\).*\(4, 2, 3, 3\)"),
    (lambda: R.conv2d(X, np.ones((4, 3, 6, 6))), r"larger than the padded input"),
    (lambda: R.conv2d(X, W, stride=0), r"stride must be positive"),
    (lambda: R.conv2d(X, W, padding=-1), r"padding must be non-negative"),
    (lambda: R.conv2d(X, W, dilation=(1, 0)), r"dilation must be positive"),
    (lambda: R.conv2d(X, W, padding="same", stride=2), r"same.*stride 1"),
    (lambda: R.conv2d(X, W, padding="circular"), r"padding must be"),
    (lambda: R.conv2d(X, W, b=np.ones(3)), r"b must have shape \(C_out,\) = \(4,\)"),
    (lambda: R.conv2d(X, np.ones((4, 1, 3, 3)), groups=2), r"groups=2 must divide"),
    (lambda: R.conv2d(X, W, stride=(1, 2, 3)), r"stride must be an int or a tuple of 2"),
    (lambda: R.conv2d_backward(np.ones((2, 4, 2, 2)), X, W), r"dout must have the forward output's shape \(2, 4, 3, 3\)"),
    (lambda: R.conv1d(np.ones((2, 3, 4)), np.ones((1, 3, 5))), r"conv1d: .*larger than the padded input"),
    (lambda: R.conv2d_gemm(X, np.ones((4, 2, 3, 3))), r"conv2d_gemm: channel mismatch"),
    (lambda: R.toeplitz_matrix(W, (2, 5, 5)), r"channel mismatch"),
    (lambda: R.toeplitz_matrix(W, (3, 5)), r"input_shape"),
    (lambda: R.im2col(np.ones((5, 5)), 3), r"im2col: x must have shape"),
])
def test_conv_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("kw", [dict(stride=(1, 2), padding=1, dilation=(2, 1), groups=2),
                                dict(stride=1, padding=(2, 0), dilation=(1, 2), groups=1)])
def test_conv2d_in_runs_of_images_matches_whole_batch(monkeypatch, kw):
    # the batch is processed in runs of images that fit a cache-sized im2col matrix; tiny runs
    # (one image each) must give the same result as one run for the whole batch
    from cnnkit.reference import conv as C

    rng = np.random.default_rng(7)
    g = kw["groups"]
    x, w, b = rng.standard_normal((5, 4, 9, 8)), rng.standard_normal((6, 4 // g, 3, 2)), rng.standard_normal(6)
    dout = rng.standard_normal(R.conv2d(x, w, b, **kw).shape)
    whole = R.conv2d(x, w, b, **kw), *R.conv2d_backward(dout, x, w, **kw)
    monkeypatch.setattr(C, "CHUNK", 1)
    runs = R.conv2d(x, w, b, **kw), *R.conv2d_backward(dout, x, w, **kw)
    for a, c in zip(whole, runs):
        np.testing.assert_allclose(a, c, atol=1e-12)
