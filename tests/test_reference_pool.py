"""cnnkit.reference pooling against torch.nn.functional (forward) and autograd (backward)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, strategies as st

from cnnkit import reference as R

DTYPES = st.sampled_from([np.float32, np.float64])


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def leaf(a):
    """A float64 torch leaf holding a (the oracle always computes in float64)."""
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


@st.composite
def pool_case(draw, dilation=True, padding=True, infinite=False):
    """A random pooling problem: x, kernel, stride, padding, dilation, ceil_mode.

    With `infinite`, some draws turn the negative values into -inf (windows whose maximum is -inf).
    """
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph = draw(st.integers(0, kh // 2)) if padding else 0
    pw = draw(st.integers(0, kw // 2)) if padding else 0
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    h = draw(st.integers(dh * (kh - 1) + 1 - 2 * ph, 7))
    w = draw(st.integers(dw * (kw - 1) + 1 - 2 * pw, 7))
    assume(h >= 1 and w >= 1)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    if draw(st.booleans()):
        shape = shape[1:]                                   # single (C, H, W) image
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    dtype = draw(DTYPES)
    if draw(st.booleans()):
        x = rng.integers(-2, 3, shape).astype(dtype)        # small integers: many ties
    else:
        x = rng.standard_normal(shape).astype(dtype)
    if infinite and draw(st.booleans()):
        x[x < 0] = -np.inf
    return x, (kh, kw), (sh, sw), (ph, pw), (dh, dw), draw(st.booleans())


def every_window_sees_the_image(n, k, s, p, d, out):
    starts = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
    return bool(np.all(((starts >= 0) & (starts < n)).any(axis=1)))


# ---------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------

@given(pool_case(infinite=True))
def test_max_pool2d_forward_indices_and_backward_match_torch(case):
    x, k, s, p, d, ceil = case
    t = leaf(x)
    y_t, i_t = F.max_pool2d(t, k, s, p, d, ceil_mode=ceil, return_indices=True)
    y, i = R.max_pool2d(x, k, s, p, return_indices=True, dilation=d, ceil_mode=ceil)
    assert y.dtype == x.dtype and i.dtype == np.int64
    np.testing.assert_array_equal(y, y_t.detach().numpy().astype(x.dtype))
    np.testing.assert_array_equal(i, i_t.numpy())
    np.testing.assert_array_equal(R.max_pool2d(x, k, s, p, dilation=d, ceil_mode=ceil), y)

    # A window lying wholly in the padding (dilation can do that) makes torch's backward write
    # out of bounds; the mathematical gradient there is 0 and is checked separately.
    assume(every_window_sees_the_image(x.shape[-2], k[0], s[0], p[0], d[0], y.shape[-2]))
    assume(every_window_sees_the_image(x.shape[-1], k[1], s[1], p[1], d[1], y.shape[-1]))
    dout = np.random.default_rng(0).standard_normal(y.shape).astype(x.dtype)
    y_t.backward(torch.tensor(dout, dtype=torch.float64))
    dx = R.max_pool2d_backward(dout, x, k, s, p, dilation=d, ceil_mode=ceil)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, t.grad.numpy(), **tol(x.dtype))


def test_max_pool2d_worked_example():
    x = np.array([[1, 1, 2, 4],
                  [5, 6, 7, 8],
                  [3, 2, 1, 0],
                  [1, 2, 3, 4]], dtype=np.float64)[None, None]
    y, i = R.max_pool2d(x, 2, 2, return_indices=True)
    np.testing.assert_array_equal(y[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(i[0, 0], [[5, 7], [8, 15]])
    dx = R.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]])


def test_max_pool2d_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[0, 5], [5, 5]], dtype=np.float64)[None, None]
    y, i = R.max_pool2d(x, 2, return_indices=True)
    assert y.item() == 5 and i.item() == 1
    np.testing.assert_array_equal(R.max_pool2d_backward(np.full((1, 1, 1, 1), 3.0), x, 2)[0, 0],
                                  [[0, 3], [0, 0]])
    flat = np.zeros((1, 1, 3, 3))
    _, i = R.max_pool2d(flat, 3, return_indices=True)
    assert i.item() == 0
    np.testing.assert_array_equal(R.max_pool2d_backward(np.ones((1, 1, 1, 1)), flat, 3)[0, 0],
                                  [[1, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_max_pool2d_backward_accumulates_over_overlapping_windows():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 2] = 10.0                         # the maximum of every 3x3 window (stride 1)
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])[None, None]
    dx = R.max_pool2d_backward(dout, x, 3, 1)
    expected = np.zeros((4, 4))
    expected[1, 2] = 10.0
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_max_pool2d_pads_with_minus_infinity():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)           # all negative: zero padding would win
    y, i = R.max_pool2d(x, 3, 1, 1, return_indices=True)
    y_t, i_t = F.max_pool2d(torch.tensor(x), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(y, y_t.numpy())
    np.testing.assert_array_equal(i, i_t.numpy())
    assert y.max() == -1
    # -inf everywhere: the index is the first pixel of the window inside the image, as in torch.
    x = np.full((1, 1, 3, 4), -np.inf)
    y, i = R.max_pool2d(x, 3, 2, 1, return_indices=True, dilation=(1, 2), ceil_mode=True)
    y_t, i_t = F.max_pool2d(torch.tensor(x), 3, 2, 1, (1, 2), True, return_indices=True)
    np.testing.assert_array_equal(y, y_t.numpy())
    np.testing.assert_array_equal(i, i_t.numpy())


def test_max_pool2d_backward_ignores_windows_wholly_in_the_padding():
    # W = 1, kernel 2 with dilation 2 and padding 1 reads columns -1 and 1: no pixel at all.
    x = np.arange(3.0).reshape(1, 1, 3, 1)
    y = R.max_pool2d(x, (1, 2), 1, (0, 1), dilation=(1, 2))
    assert y.shape == (1, 1, 3, 1) and np.all(y == -np.inf)
    np.testing.assert_array_equal(R.max_pool2d_backward(np.ones(y.shape), x, (1, 2), 1, (0, 1),
                                                        dilation=(1, 2)), np.zeros(x.shape))


# ---------------------------------------------------------------------------------------------
# Average pooling
# ---------------------------------------------------------------------------------------------

@given(pool_case(dilation=False), st.booleans(), st.sampled_from([None, None, 1, 3]))
def test_avg_pool2d_forward_and_backward_match_torch(case, include_pad, divisor):
    x, k, s, p, _, ceil = case
    t = leaf(x)
    y_t = F.avg_pool2d(t, k, s, p, ceil, include_pad, divisor)
    y = R.avg_pool2d(x, k, s, p, ceil, include_pad, divisor)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, y_t.detach().numpy(), **tol(x.dtype))
    dout = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    y_t.backward(torch.tensor(dout, dtype=torch.float64))
    dx = R.avg_pool2d_backward(dout, x, k, s, p, ceil, include_pad, divisor)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, t.grad.numpy(), **tol(x.dtype))


def test_avg_pool2d_defaults_match_torch():
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 5))
    np.testing.assert_allclose(R.avg_pool2d(x, 2), F.avg_pool2d(torch.tensor(x), 2).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(R.avg_pool2d(x, 3, 2, 1),
                               F.avg_pool2d(torch.tensor(x), 3, 2, 1).numpy(), rtol=1e-12)


@given(st.integers(0, 2 ** 32 - 1), DTYPES, st.booleans())
def test_global_avg_pool2d_matches_torch(seed, dtype, single):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 5, 4))
    x = rng.standard_normal(shape[1:] if single else shape).astype(dtype)
    t = leaf(x)
    y_t = F.adaptive_avg_pool2d(t, 1).flatten(-3 if single else 1)
    y = R.global_avg_pool2d(x)
    assert y.dtype == x.dtype and y.shape == ((shape[1],) if single else shape[:2])
    np.testing.assert_allclose(y, y_t.detach().numpy(), **tol(dtype))
    dout = rng.standard_normal(y.shape).astype(dtype)
    y_t.backward(torch.tensor(dout, dtype=torch.float64))
    dx = R.global_avg_pool2d_backward(dout, x)
    assert dx.dtype == x.dtype
    np.testing.assert_allclose(dx, t.grad.numpy(), **tol(dtype))


# ---------------------------------------------------------------------------------------------
# Numerical gradient checks
# ---------------------------------------------------------------------------------------------

def test_pool_backward_passes_agree_with_numerical_gradients():
    rng = np.random.default_rng(3)
    x = rng.permutation(50)[:2 * 25].reshape(2, 1, 5, 5) + rng.uniform(0, 0.1, (2, 1, 5, 5))
    dout = rng.standard_normal((2, 1, 3, 3))
    for forward, backward in [(R.max_pool2d, R.max_pool2d_backward),
                              (R.avg_pool2d, R.avg_pool2d_backward)]:
        num = R.numerical_gradient(lambda z: np.sum(forward(z, 3, 2, 1) * dout), x)
        np.testing.assert_allclose(backward(dout, x, 3, 2, 1), num, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# Stochastic pooling
# ---------------------------------------------------------------------------------------------

@st.composite
def non_negative_case(draw):
    x, k, s, _, _, _ = draw(pool_case(dilation=False, padding=False))
    x = np.maximum(x, 0)                      # ReLU output: many zeros, whole zero windows too
    return x, k, s


@given(non_negative_case())
def test_stochastic_pool2d_evaluation_is_the_probability_weighted_average(case):
    x, k, s = case
    y = R.stochastic_pool2d(x, k, s, training=False)
    t = torch.tensor(x, dtype=torch.float64)
    # sum_i p_i a_i with p_i = a_i / sum a  =  sum a^2 / sum a  =  mean(a^2) / mean(a)
    num, den = F.avg_pool2d(t * t, k, s), F.avg_pool2d(t, k, s)
    expected = torch.where(den > 0, num / torch.where(den > 0, den, 1), 0)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, expected.numpy(), **tol(x.dtype))


@given(non_negative_case(), st.integers(0, 2 ** 32 - 1))
def test_stochastic_pool2d_training_samples_a_nonzero_element_of_each_window(case, seed):
    x, k, s = case
    y = R.stochastic_pool2d(x, k, s, training=True, rng=seed)
    assert y.dtype == x.dtype
    t = torch.tensor(x, dtype=torch.float64)
    single = x.ndim == 3
    cols = F.unfold(t[None] if single else t, k, stride=s)           # (N, C*kH*kW, L)
    n, c = (1,) + x.shape[:1] if single else x.shape[:2]
    win = cols.reshape(n, c, k[0] * k[1], -1).numpy()                 # (N, C, kH*kW, L)
    flat = y.reshape(n, c, 1, -1).astype(np.float64)
    zero_window = win.sum(axis=2) == 0
    sampled = ((win == flat) & (win > 0)).any(axis=2)
    assert np.all(np.where(zero_window, flat[:, :, 0] == 0, sampled))
    np.testing.assert_array_equal(R.stochastic_pool2d(x, k, s, rng=seed), y)   # reproducible


def test_stochastic_pool2d_rng_kinds():
    x = np.random.default_rng(4).uniform(0, 1, (2, 3, 8, 8))
    a = R.stochastic_pool2d(x, 2, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, R.stochastic_pool2d(x, 2, rng=7))
    g = np.random.default_rng(7)
    first, second = R.stochastic_pool2d(x, 2, rng=g), R.stochastic_pool2d(x, 2, rng=g)
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(first, second)           # a Generator is advanced, not reset
    assert R.stochastic_pool2d(x, 2).shape == (2, 3, 4, 4)
    for bad in (-1, 1.5, "seed", np.random.RandomState(0)):
        with pytest.raises(ValueError, match="stochastic_pool2d: rng"):
            R.stochastic_pool2d(x, 2, rng=bad)


def test_stochastic_pool2d_sampling_frequencies_follow_the_probabilities():
    a = np.array([[1.0, 0.0], [2.0, 5.0]])                       # p = 1/8, 0, 2/8, 5/8
    x = np.broadcast_to(a, (2000, 2, 2))                         # 2000 independent windows
    y = R.stochastic_pool2d(x, 2, rng=123)
    assert y.shape == (2000, 1, 1)
    freq = [np.mean(y == v) for v in (1.0, 0.0, 2.0, 5.0)]
    np.testing.assert_allclose(freq, [1 / 8, 0, 2 / 8, 5 / 8], atol=0.04)
    assert freq[1] == 0


def test_stochastic_pool2d_rejects_negative_input():
    x = np.ones((1, 1, 2, 2))
    x[0, 0, 1, 1] = -0.5
    with pytest.raises(ValueError, match="stochastic_pool2d: x must be non-negative"):
        R.stochastic_pool2d(x, 2)
    with pytest.raises(ValueError, match="stochastic_pool2d: x must be non-negative"):
        R.stochastic_pool2d(x, 2, training=False)


# ---------------------------------------------------------------------------------------------
# Dtypes, inputs left alone, bad input
# ---------------------------------------------------------------------------------------------

CALLS = {
    "max_pool2d": lambda x: R.max_pool2d(x, 2, 1, 1),
    "max_pool2d_backward": lambda x: R.max_pool2d_backward(np.ones((2, 3, 5, 4), x.dtype), x, 2, 1, 1),
    "avg_pool2d": lambda x: R.avg_pool2d(x, 2, 1, 1),
    "avg_pool2d_backward": lambda x: R.avg_pool2d_backward(np.ones((2, 3, 5, 4), x.dtype), x, 2, 1, 1),
    "global_avg_pool2d": R.global_avg_pool2d,
    "global_avg_pool2d_backward": lambda x: R.global_avg_pool2d_backward(np.ones((2, 3), x.dtype), x),
    "stochastic_pool2d": lambda x: R.stochastic_pool2d(np.abs(x), 2, rng=0),
    "stochastic_pool2d_eval": lambda x: R.stochastic_pool2d(np.abs(x), 2, training=False),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_is_kept_and_input_is_not_modified(name, dtype):
    x = np.random.default_rng(5).integers(-3, 4, (2, 3, 4, 3)).astype(dtype)
    before = x.copy()
    y = CALLS[name](x)
    np.testing.assert_array_equal(x, before)
    assert y.dtype == (np.float64 if dtype == np.int64 else dtype)
    assert not np.shares_memory(y, x)


BAD = [
    (lambda: R.max_pool2d(np.ones((4, 4)), 2), r"max_pool2d: x must have 3 or 4 dimensions.*\(4, 4\)"),
    (lambda: R.max_pool2d(np.ones((1, 1, 1, 4, 4)), 2), r"max_pool2d: x must have 3 or 4.*\(1, 1, 1, 4, 4\)"),
    (lambda: R.max_pool2d(np.ones((1, 1, 2, 2)), 3), r"max_pool2d: kernel \(3, 3\).*larger.*\(1, 1, 2, 2\)"),
    (lambda: R.max_pool2d(np.ones((1, 1, 4, 4)), 2, 0), r"max_pool2d: stride must be positive"),
    (lambda: R.max_pool2d(np.ones((1, 1, 4, 4)), 0), r"max_pool2d: kernel_size must be positive"),
    (lambda: R.max_pool2d(np.ones((1, 1, 4, 4)), 3, padding=2), r"max_pool2d: padding \(2, 2\).*half.*\(3, 3\)"),
    (lambda: R.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=-1), r"max_pool2d: padding must be non-negative"),
    (lambda: R.max_pool2d(np.ones((1, 1, 4, 4)), (2, 2, 2)), r"max_pool2d: kernel_size must be an int or a tuple"),
    (lambda: R.max_pool2d_backward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4)), 2),
     r"max_pool2d_backward: dout must have the shape of the forward output \(1, 1, 2, 2\).*\(1, 1, 3, 3\)"),
    (lambda: R.avg_pool2d(np.ones((1, 1, 4, 4)), 2, padding=(0, 2)), r"avg_pool2d: padding \(0, 2\)"),
    (lambda: R.avg_pool2d(np.ones((1, 1, 4, 4)), 5), r"avg_pool2d: kernel \(5, 5\).*larger"),
    (lambda: R.avg_pool2d(np.ones((1, 1, 4, 4)), 2, divisor_override=0), r"avg_pool2d: divisor_override"),
    (lambda: R.avg_pool2d_backward(np.ones((2, 1, 2, 2)), np.ones((1, 1, 4, 4)), 2),
     r"avg_pool2d_backward: dout must have the shape.*\(1, 1, 2, 2\).*\(2, 1, 2, 2\)"),
    (lambda: R.global_avg_pool2d(np.ones((3, 3))), r"global_avg_pool2d: x must have 3 or 4"),
    (lambda: R.global_avg_pool2d_backward(np.ones((1, 2)), np.ones((1, 3, 2, 2))),
     r"global_avg_pool2d_backward: dout must have the shape.*\(1, 3\).*\(1, 2\)"),
    (lambda: R.stochastic_pool2d(np.ones((1, 1, 1, 4)), 2), r"stochastic_pool2d: kernel \(2, 2\).*larger"),
    (lambda: R.max_pool2d(np.array([["a"]]), 1), r"max_pool2d: x must be a numeric array"),
]


@pytest.mark.parametrize("call, match", BAD)
def test_bad_input_raises_value_error_naming_function_and_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
