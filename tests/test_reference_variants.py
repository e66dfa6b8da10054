"""cnnkit.reference convolution variants: locally connected and tiled layers, the FFT convolution
(against torch.nn.functional.conv2d and unfold), separable factors and Gabor kernels."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, strategies as st

from cnnkit import reference as R
from cnnkit._args import pair

DTYPES = st.sampled_from([np.float32, np.float64])
SEEDS = st.integers(0, 2 ** 32 - 1)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-11)


def unshared_oracle(x, w_full, b, stride):
    """Locally connected layer in torch: unfold the receptive fields, one product per position.

    w_full: (H_out, W_out, C_out, C_in, kH, kW); b: (C_out, H_out, W_out) or None.
    """
    ho, wo, c_out, c_in, kh, kw = w_full.shape
    cols = F.unfold(torch.tensor(x, dtype=torch.float64), (kh, kw), stride=stride)  # (N, C*kH*kW, L)
    wl = torch.tensor(w_full, dtype=torch.float64).reshape(ho * wo, c_out, c_in * kh * kw)
    y = torch.einsum("nkl,lok->nol", cols, wl).reshape(x.shape[0], c_out, ho, wo)
    if b is not None:
        y = y + torch.tensor(b, dtype=torch.float64)
    return y.numpy()


@st.composite
def unshared_case(draw):
    rng = np.random.default_rng(draw(SEEDS))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    square = draw(st.booleans())              # an int stride rather than a pair
    if square:
        sw = sh
    h, w = draw(st.integers(kh, 7)), draw(st.integers(kw, 7))
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(DTYPES)
    x = rng.standard_normal((n, c_in, h, w)).astype(dtype)
    out = ((h - kh) // sh + 1, (w - kw) // sw + 1)
    return rng, x, (kh, kw), sh if square else (sh, sw), out, c_out, draw(st.booleans())


@given(unshared_case())
def test_locally_connected2d_matches_torch_unfold(case):
    rng, x, k, stride, out, c_out, bias = case
    w = rng.standard_normal((*out, c_out, x.shape[1], *k)).astype(x.dtype)
    b = rng.standard_normal((c_out, *out)).astype(x.dtype) if bias else None
    y = R.locally_connected2d(x, w, b, stride)
    assert y.dtype == x.dtype and y.shape == (x.shape[0], c_out, *out)
    np.testing.assert_allclose(y, unshared_oracle(x, w, b, stride), **tol(x.dtype))


@given(unshared_case(), st.integers(1, 3), st.integers(1, 3))
def test_tiled_conv2d_matches_torch_unfold(case, th, tw):
    rng, x, k, stride, out, c_out, bias = case
    w = rng.standard_normal((th, tw, c_out, x.shape[1], *k)).astype(x.dtype)
    b = rng.standard_normal(c_out).astype(x.dtype) if bias else None
    rows, cols = np.arange(out[0]) % th, np.arange(out[1]) % tw
    w_full = w[rows][:, cols]                                   # kernel w[i % tH, j % tW] at (i, j)
    y = R.tiled_conv2d(x, w, b, stride)
    assert y.dtype == x.dtype and y.shape == (x.shape[0], c_out, *out)
    expected = unshared_oracle(x, w_full, None if b is None else b[:, None, None] * np.ones(out), stride)
    np.testing.assert_allclose(y, expected, **tol(x.dtype))


def test_tiled_conv2d_spans_convolution_and_locally_connected():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    conv = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=(1, 2)).numpy()
    np.testing.assert_allclose(R.tiled_conv2d(x, w[None, None], b, (1, 2)), conv, rtol=1e-10, atol=1e-12)
    wl = rng.standard_normal((4, 2, 4, 3, 3, 2))                # one kernel per output position
    np.testing.assert_allclose(R.tiled_conv2d(x, wl, None, (1, 2)),
                               R.locally_connected2d(x, wl, None, (1, 2)), rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(seed=SEEDS, kh=st.integers(1, 4), kw=st.integers(1, 4), h=st.integers(1, 8), w=st.integers(1, 8),
       padding=st.sampled_from([0, 1, 2, (0, 1), (2, 0), "valid", "same"]), dtype=DTYPES,
       bias=st.booleans(), scale=st.sampled_from([1.0, 100.0]))
def test_fft_conv2d_matches_torch_conv2d(seed, kh, kw, h, w, padding, dtype, bias, scale):
    p = padding if isinstance(padding, str) else pair(padding, "padding", "test", minimum=0)
    if not isinstance(p, str):
        assume(h + 2 * p[0] >= kh and w + 2 * p[1] >= kw)
    elif padding == "valid":
        assume(h >= kh and w >= kw)
    rng = np.random.default_rng(seed)
    n, c_in, c_out = rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 4)
    x = (scale * rng.standard_normal((n, c_in, h, w))).astype(dtype)
    wt = rng.standard_normal((c_out, c_in, kh, kw)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    expected = F.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(wt, dtype=torch.float64),
                        None if b is None else torch.tensor(b, dtype=torch.float64), padding=padding)
    y = R.fft_conv2d(x, wt, b, padding=padding)
    assert y.dtype == dtype and y.shape == tuple(expected.shape)
    np.testing.assert_allclose(y, expected.numpy(), rtol=tol(dtype)["rtol"],
                               atol=tol(dtype)["atol"] * scale)


# ---------------------------------------------------------------------------------------------
# Separable kernels
# ---------------------------------------------------------------------------------------------

@given(seed=SEEDS, kh=st.integers(1, 6), kw=st.integers(1, 6), dtype=DTYPES)
def test_separable_factors_recovers_rank_one_kernels(seed, kh, kw, dtype):
    rng = np.random.default_rng(seed)
    k = np.outer(rng.standard_normal(kh), rng.standard_normal(kw)).astype(dtype)
    f = R.separable_factors(k, tol=1e-5 if dtype == np.float32 else 1e-10)
    assert f is not None
    v, h = f
    assert v.shape == (kh,) and h.shape == (kw,) and v.dtype == dtype and h.dtype == dtype
    np.testing.assert_allclose(np.outer(v, h), k, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-5 if dtype == np.float32 else 1e-12)
    # Correlating with k is correlating the columns with v, then the rows with h.
    x = torch.tensor(rng.standard_normal((1, 1, kh + 3, kw + 2)))
    full = F.conv2d(x, torch.tensor(k, dtype=torch.float64)[None, None])
    two = F.conv2d(F.conv2d(x, torch.tensor(v, dtype=torch.float64).reshape(1, 1, kh, 1)),
                   torch.tensor(h, dtype=torch.float64).reshape(1, 1, 1, kw))
    np.testing.assert_allclose(two.numpy(), full.numpy(), rtol=1e-4, atol=1e-5)


@given(seed=SEEDS, kh=st.integers(2, 6), kw=st.integers(2, 6))
def test_separable_factors_rejects_higher_rank(seed, kh, kw):
    rng = np.random.default_rng(seed)
    k = rng.standard_normal((kh, kw))
    assert R.separable_factors(k) is None
    assert R.separable_factors(k + 1e-3 * np.eye(kh, kw)) is None


def test_separable_factors_of_classic_kernels():
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    v, h = R.separable_factors(sobel)
    assert v.dtype == np.float64
    np.testing.assert_allclose(np.outer(v, h), sobel, atol=1e-12)
    np.testing.assert_allclose(v / v[0], [1, 2, 1])
    assert v[np.argmax(np.abs(v))] > 0
    v, h = R.separable_factors(-np.ones((2, 3)) / 6)          # box filter with a sign
    np.testing.assert_allclose(np.outer(v, h), -np.ones((2, 3)) / 6, atol=1e-15)
    assert R.separable_factors(np.array([[0, 1], [1, 0]])) is None
    almost = np.outer([1, 2, 1], [1, 0, -1]) + np.diag([1e-8, 0, 0])
    assert R.separable_factors(almost) is None
    assert R.separable_factors(almost, tol=1e-6) is not None
    v, h = R.separable_factors(np.zeros((2, 2)))
    np.testing.assert_array_equal(np.outer(v, h), np.zeros((2, 2)))


# ---------------------------------------------------------------------------------------------
# Gabor kernels
# ---------------------------------------------------------------------------------------------

def gabor_by_hand(size, alpha, bx, by, f, phi, tau, x0, y0):
    g = np.empty((size, size))
    for r in range(size):
        for c in range(size):
            x, y = c - (size - 1) / 2, r - (size - 1) / 2
            xr = (x - x0) * np.cos(tau) + (y - y0) * np.sin(tau)
            yr = -(x - x0) * np.sin(tau) + (y - y0) * np.cos(tau)
            g[r, c] = alpha * np.exp(-bx * xr ** 2 - by * yr ** 2) * np.cos(f * xr + phi)
    return g


@given(size=st.integers(1, 9), alpha=st.floats(-2, 2), bx=st.floats(0, 1), by=st.floats(0, 1),
       f=st.floats(0, 3), phi=st.floats(-3.2, 3.2), tau=st.floats(-3.2, 3.2), x0=st.floats(-2, 2),
       y0=st.floats(-2, 2))
def test_gabor_kernel_follows_the_formula(size, alpha, bx, by, f, phi, tau, x0, y0):
    g = R.gabor_kernel(size, alpha, bx, by, f, phi, tau, x0, y0)
    assert g.shape == (size, size) and g.dtype == np.float64
    np.testing.assert_allclose(g, gabor_by_hand(size, alpha, bx, by, f, phi, tau, x0, y0),
                               rtol=1e-12, atol=1e-12)


def test_gabor_kernel_defaults_and_orientation():
    g = R.gabor_kernel(7)
    beta = 1 / (2 * (7 / 4) ** 2)
    np.testing.assert_allclose(g, gabor_by_hand(7, 1.0, beta, beta, 2 * np.pi / 3.5, 0, 0, 0, 0),
                               rtol=1e-12)
    assert g[3, 3] == 1.0                                     # peak alpha at the centre
    np.testing.assert_allclose(g, g[::-1, ::-1], atol=1e-15)  # even (cosine) kernel
    # tau = 0: stripes vary along x (columns); a quarter turn makes them vary along y.
    np.testing.assert_allclose(R.gabor_kernel(7, tau=np.pi / 2), g.T, atol=1e-12)
    odd = R.gabor_kernel(7, phi=-np.pi / 2)                   # sine phase: odd along x
    np.testing.assert_allclose(odd, -odd[:, ::-1], atol=1e-12)
    assert R.gabor_kernel(3).shape == (3, 3)                  # default f stays below Nyquist


# ---------------------------------------------------------------------------------------------
# Dtypes, inputs left alone, bad input
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_is_kept_and_inputs_are_not_modified(dtype):
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (2, 2, 5, 4)).astype(dtype)
    wl = rng.integers(-3, 4, (4, 3, 2, 2, 2, 2)).astype(dtype)
    wt = rng.integers(-3, 4, (2, 2, 2, 2, 2, 2)).astype(dtype)
    wc = rng.integers(-3, 4, (2, 2, 2, 2)).astype(dtype)
    k = np.outer([1, 2], [3, 1, 2]).astype(dtype)
    inputs = [x, wl, wt, wc, k]
    before = [a.copy() for a in inputs]
    outputs = [R.locally_connected2d(x, wl), R.tiled_conv2d(x, wt), R.fft_conv2d(x, wc, padding="same"),
               *R.separable_factors(k)]
    for a, b in zip(inputs, before):
        np.testing.assert_array_equal(a, b)
    expected = np.float64 if dtype == np.int64 else dtype
    for y in outputs:
        assert y.dtype == expected
        assert not any(np.shares_memory(y, a) for a in inputs)


BAD = [
    (lambda: R.locally_connected2d(np.ones((1, 2, 4, 4)), np.ones((3, 3, 1, 2, 2, 2)), stride=2),
     r"locally_connected2d: w must have one kernel per output position.*\(2, 2\).*\(3, 3, 1, 2, 2, 2\)"),
    (lambda: R.locally_connected2d(np.ones((1, 2, 4, 4)), np.ones((3, 3, 1, 3, 2, 2))),
     r"locally_connected2d: channel mismatch.*\(1, 2, 4, 4\).*\(3, 3, 1, 3, 2, 2\)"),
    (lambda: R.locally_connected2d(np.ones((1, 2, 4, 4)), np.ones((3, 3, 1, 2, 2))),
     r"locally_connected2d: w must have 6 dimensions.*\(3, 3, 1, 2, 2\)"),
    (lambda: R.locally_connected2d(np.ones((2, 4, 4)), np.ones((3, 3, 1, 2, 2, 2))),
     r"locally_connected2d: x must have 4 dimensions.*\(2, 4, 4\)"),
    (lambda: R.locally_connected2d(np.ones((1, 2, 4, 4)), np.ones((3, 3, 1, 2, 2, 2)), np.ones(1)),
     r"locally_connected2d: b must have shape \(C_out, H_out, W_out\) = \(1, 3, 3\).*\(1,\)"),
    (lambda: R.locally_connected2d(np.ones((1, 2, 2, 2)), np.ones((1, 1, 1, 2, 3, 3))),
     r"locally_connected2d: kernel.*larger than the padded input"),
    (lambda: R.tiled_conv2d(np.ones((1, 2, 4, 4)), np.ones((2, 2, 1, 2, 2, 2)), stride=0),
     r"tiled_conv2d: stride must be positive"),
    (lambda: R.tiled_conv2d(np.ones((1, 2, 4, 4)), np.ones((2, 2, 3, 2, 2, 2)), np.ones((3, 3, 3))),
     r"tiled_conv2d: b must have shape \(C_out,\) = \(3,\).*\(3, 3, 3\)"),
    (lambda: R.fft_conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 3, 2, 2))), r"fft_conv2d: channel mismatch"),
    (lambda: R.fft_conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 2, 6, 6)), padding=0),
     r"fft_conv2d: kernel.*larger than the padded input.*\(1, 2, 4, 4\)"),
    (lambda: R.fft_conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 2, 2, 2)), padding="full"),
     r"fft_conv2d: padding must be"),
    (lambda: R.separable_factors(np.ones(3)), r"separable_factors: k must have 2 dimensions.*\(3,\)"),
    (lambda: R.separable_factors(np.array([[1.0, np.nan]])), r"separable_factors: k must be finite"),
    (lambda: R.gabor_kernel(0), r"gabor_kernel: size must be a positive int"),
]


@pytest.mark.parametrize("call, match", BAD)
def test_bad_input_raises_value_error_naming_function_and_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
