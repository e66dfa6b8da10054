"""Tests of the checks of assignment 05 (convolution as matrix multiplication): correct implementations
pass, typical mistakes are named, hostile output fails cleanly, and the reference answers agree with
PyTorch."""

import pickle

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from cnnkit import checks
from cnnkit import reference as R
from cnnkit.checks.core import Case
from judging import HOSTILE, diagnosed

A05 = checks.for_assignment("05")
NAMES = checks.GRADED["05"]
SEEDS = (0, 1, 7)


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def _size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# ----------------------------------------------------------------------------- correct, written differently

def toeplitz_1d_loops(k, n):
    m = len(k)
    T = np.zeros((n - m + 1, n), dtype=k.dtype)
    for i in range(n - m + 1):
        for j in range(m):
            T[i, i + j] = k[j]
    return T


def toeplitz_1d_scipy(k, n):
    """scipy's Toeplitz matrix from its first column (k[0], 0, ...) and first row (k, 0, ...)."""
    m = len(k)
    first_row = np.concatenate([k, np.zeros(n - m, k.dtype)])
    first_col = np.zeros(n - m + 1, k.dtype)
    first_col[0] = k[0]
    return scipy.linalg.toeplitz(first_col, first_row).astype(k.dtype)


def toeplitz_1d_impulses(k, n):
    """Column c of T is the response to the impulse e_c: correlate every impulse at once."""
    eye = torch.eye(n, dtype=_t(k).dtype)[:, None, :]
    return F.conv1d(eye, _t(k)[None, None]).squeeze(1).T.contiguous().numpy()


def toeplitz_matrix_loops(w, input_shape):
    C, H, W = input_shape
    D, _, kH, kW = w.shape
    Ho, Wo = H - kH + 1, W - kW + 1
    T = np.zeros((D * Ho * Wo, C * H * W), dtype=w.dtype)
    for o in range(D):
        for i in range(Ho):
            for j in range(Wo):
                row = (o * Ho + i) * Wo + j
                for c in range(C):
                    for p in range(kH):
                        for q in range(kW):
                            T[row, (c * H + i + p) * W + j + q] = w[o, c, p, q]
    return T


def toeplitz_matrix_blocks(w, input_shape):
    """Block (o, c) is doubly block Toeplitz: block (i, h) of it is the 1-D Toeplitz matrix of kernel row h - i."""
    C, H, W = input_shape
    D, _, kH, kW = w.shape
    Ho, Wo = H - kH + 1, W - kW + 1
    T = np.zeros((D, Ho, Wo, C, H, W), dtype=w.dtype)
    for o in range(D):
        for c in range(C):
            for i in range(Ho):
                for p in range(kH):
                    T[o, i, :, c, i + p, :] = toeplitz_1d_scipy(w[o, c, p], W)
    return T.reshape(D * Ho * Wo, C * H * W)


def toeplitz_matrix_impulses(w, input_shape):
    """Column c of T is the layer's (flattened) response to the image with a single 1 at input position c."""
    n = int(np.prod(input_shape))
    basis = torch.eye(n, dtype=_t(w).dtype).reshape((n,) + tuple(input_shape))
    return F.conv2d(basis, _t(w)).reshape(n, -1).T.contiguous().numpy()


def _geometry(x, kernel_size, stride, padding):
    (kH, kW), (sH, sW), (pH, pW) = _pair(kernel_size), _pair(stride), _pair(padding)
    H, W = x.shape[2:]
    return kH, kW, sH, sW, pH, pW, _size(H, kH, sH, pH), _size(W, kW, sW, pW)


def _padded(x, pH, pW):
    return np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW)))


def im2col_loops(x, kernel_size, stride=1, padding=0):
    kH, kW, sH, sW, pH, pW, Ho, Wo = _geometry(x, kernel_size, stride, padding)
    xp = _padded(x, pH, pW)
    N, C = x.shape[:2]
    cols = np.zeros((N, C * kH * kW, Ho * Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for p in range(kH):
                for q in range(kW):
                    for i in range(Ho):
                        for j in range(Wo):
                            cols[n, (c * kH + p) * kW + q, i * Wo + j] = xp[n, c, i * sH + p, j * sW + q]
    return cols


def im2col_strided(x, kernel_size, stride=1, padding=0):
    kH, kW, sH, sW, pH, pW, Ho, Wo = _geometry(x, kernel_size, stride, padding)
    win = np.lib.stride_tricks.sliding_window_view(_padded(x, pH, pW), (kH, kW), axis=(2, 3))
    win = win[:, :, ::sH, ::sW][:, :, :Ho, :Wo]                  # (N, C, Ho, Wo, kH, kW)
    N, C = x.shape[:2]
    return np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(N, C * kH * kW, Ho * Wo)


def im2col_torch(x, kernel_size, stride=1, padding=0):
    return F.unfold(_t(x), _pair(kernel_size), stride=_pair(stride), padding=_pair(padding)).numpy()


def conv2d_gemm_loops(x, w, b=None, stride=1, padding=0):
    D, _, kH, kW = w.shape
    cols = im2col_loops(x, (kH, kW), stride, padding)
    *_, Ho, Wo = _geometry(x, (kH, kW), stride, padding)
    y = np.einsum("dr,nrl->ndl", w.reshape(D, -1), cols)
    if b is not None:
        y = y + b[:, None]
    return y.reshape(x.shape[0], D, Ho, Wo).astype(x.dtype)


def conv2d_gemm_one_product(x, w, b=None, stride=1, padding=0):
    """Every window of the batch side by side: one (D, CkHkW) @ (CkHkW, N*L) product for the whole batch."""
    D, _, kH, kW = w.shape
    N = x.shape[0]
    cols = im2col_strided(x, (kH, kW), stride, padding)
    *_, Ho, Wo = _geometry(x, (kH, kW), stride, padding)
    wide = cols.transpose(1, 0, 2).reshape(cols.shape[1], -1)
    y = (w.reshape(D, -1) @ wide).reshape(D, N, Ho, Wo).transpose(1, 0, 2, 3)
    if b is not None:
        y = y + b.reshape(1, D, 1, 1)
    return np.ascontiguousarray(y)


def conv2d_torch(x, w, b=None, stride=1, padding=0):
    return F.conv2d(_t(x), _t(w), None if b is None else _t(b), stride=stride, padding=padding).numpy()


LOOPS = {"toeplitz_1d": toeplitz_1d_loops, "toeplitz_matrix": toeplitz_matrix_loops, "im2col": im2col_loops,
         "conv2d_gemm": conv2d_gemm_loops}
VECTORISED = {"toeplitz_1d": toeplitz_1d_scipy, "toeplitz_matrix": toeplitz_matrix_blocks,
              "im2col": im2col_strided, "conv2d_gemm": conv2d_gemm_one_product}
TORCH = {"toeplitz_1d": toeplitz_1d_impulses, "toeplitz_matrix": toeplitz_matrix_impulses, "im2col": im2col_torch,
         "conv2d_gemm": conv2d_torch}


def test_assignment_05_grades_the_functions_of_the_course():
    assert NAMES == ("toeplitz_1d", "toeplitz_matrix", "im2col", "conv2d_gemm")
    assert all(c.assignment == "05" for c in A05.cases("im2col"))


@pytest.mark.parametrize("impl", [LOOPS, VECTORISED, TORCH], ids=["loops", "vectorised", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_correct_implementations_pass_every_case(name, impl, capsys):
    A05.check(name, impl[name])
    assert f"checks passed for {name}" in capsys.readouterr().out
    for seed in SEEDS:
        A05.check(name, impl[name], seed=seed, hidden=True)


# ----------------------------------------------------------------------------- the reference and PyTorch

def _all_cases(name):
    return A05.cases(name) + [c for s in SEEDS for c in A05.cases(name, seed=s, hidden=True)]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def test_toeplitz_1d_times_x_is_pytorchs_valid_cross_correlation():
    for case in _all_cases("toeplitz_1d"):
        k, n = case.args
        T = checks.expected(case)
        assert T.shape == (n - len(k) + 1, n) and T.dtype == k.dtype
        x = np.random.default_rng(n).standard_normal(n).astype(k.dtype)
        want = F.conv1d(_t(x)[None, None], _t(k)[None, None])[0, 0].numpy()
        np.testing.assert_allclose(T @ x, want, **_tol(k.dtype), err_msg=case.label)
        np.testing.assert_allclose(T @ x, R.correlate1d(x, k), **_tol(k.dtype))


def test_toeplitz_matrix_is_pytorchs_conv2d_on_flattened_images():
    for case in _all_cases("toeplitz_matrix"):
        w, shape = case.args
        T = checks.expected(case)
        x = np.random.default_rng(0).standard_normal((3,) + shape).astype(w.dtype)
        want = F.conv2d(_t(x), _t(w)).numpy()
        assert T.shape == (want[0].size, x[0].size) and T.dtype == w.dtype
        np.testing.assert_allclose(x.reshape(3, -1) @ T.T, want.reshape(3, -1), **_tol(w.dtype), err_msg=case.label)


def test_im2col_and_conv2d_gemm_references_are_pytorchs_unfold_and_conv2d():
    for case in _all_cases("im2col"):
        got = checks.expected(case)
        np.testing.assert_array_equal(got, im2col_torch(*case.args, **case.kwargs), err_msg=case.label)
        assert got.dtype == case.args[0].dtype
    for case in _all_cases("conv2d_gemm"):
        got = checks.expected(case)
        want = conv2d_torch(*case.args, **case.kwargs)
        np.testing.assert_allclose(got, want, **_tol(case.args[0].dtype), err_msg=case.label)
        assert got.dtype == case.args[0].dtype


def test_lecture_examples_are_visible_cases():
    T = checks.expected(A05.cases("toeplitz_1d")[0])
    np.testing.assert_array_equal(T, [[5, 6, 7, 0], [0, 5, 6, 7]])
    np.testing.assert_array_equal(T @ [1, 2, 3, 4], [38, 56])
    T2 = checks.expected(A05.cases("toeplitz_matrix")[0])
    np.testing.assert_array_equal(T2 @ np.arange(9), [19, 25, 37, 43])
    cols = checks.expected(A05.cases("im2col")[0])[0]
    np.testing.assert_array_equal(cols[:, 0], [0, 1, 3, 4])          # the top-left window, row by row
    np.testing.assert_array_equal(checks.expected(A05.cases("conv2d_gemm")[0])[0, 0], [[19, 25], [37, 43]])


# ----------------------------------------------------------------------------- cases

@pytest.mark.parametrize("name", NAMES)
def test_cases_deterministic_per_seed_differ_across_seeds_and_are_picklable(name):
    a, b, c = (A05.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    assert [u.label for u in a] == [v.label for v in b]
    for u, v in zip(a, b):
        assert u.kwargs == v.kwargs
        for p, q in zip(u.args, v.args):
            assert type(p) is type(q)
            if isinstance(p, np.ndarray):
                assert p.dtype == q.dtype and np.array_equal(p, q)
            else:
                assert p == q
    assert any(not np.array_equal(u.args[0], v.args[0]) for u, v in zip(a, c))
    assert {u.args[0].dtype for u in a} == {np.dtype(np.float32), np.dtype(np.float64)}
    for case in A05.cases(name) + a:
        pickle.loads(pickle.dumps(case))


def test_hidden_cases_cover_the_awkward_geometry():
    im = A05.cases("im2col", hidden=True)
    geo = [(c, *_geometry(c.args[0], c.args[1], *(c.args[2:] or (c.kwargs.get("stride", 1),
                                                                c.kwargs.get("padding", 0))))) for c in im]
    assert any(sH > 1 for _, kH, kW, sH, *_ in geo) and any(pH > 0 for _, kH, kW, sH, sW, pH, *_ in geo)
    assert any(kH != kW for _, kH, kW, *_ in geo) and any(sH != sW for _, kH, kW, sH, sW, *_ in geo)
    assert any((c.args[0].shape[2] + 2 * pH - kH) % sH for c, kH, kW, sH, sW, pH, *_ in geo)   # ragged edges
    assert any(len(c.args) == 4 for c in im)                                                   # by position
    # a transposed (L, C*kH*kW) layout has the right shape in some case, so only its values give it away
    assert any(checks.expected(c).shape[1] == checks.expected(c).shape[2] for c in im)
    gemm = A05.cases("conv2d_gemm", hidden=True)
    bias_fits = [c for c in gemm if len(c.args) > 2 and c.args[2] is not None
                 and c.args[1].shape[0] == np.prod(checks.expected(c).shape[2:])]
    assert {c.args[0].dtype for c in bias_fits} == {np.dtype(np.float32), np.dtype(np.float64)}
    assert any(len(c.args) == 3 and c.args[2] is None for c in gemm)                           # b=None given
    tm = A05.cases("toeplitz_matrix", hidden=True)
    assert any(c.args[0].shape[0] > 1 and c.args[0].shape[1] > 1 for c in tm)
    assert any(c.args[0].shape[2] != c.args[0].shape[3] for c in tm)


# ----------------------------------------------------------------------------- diagnoses

def _named(name, fn, code, text, hidden=False):
    """The first verdict with diagnosis `code` whose message says `text` (asserting there is one); cases
    the wrong implementation crashes on are skipped (check() reports those itself)."""
    hits = diagnosed(A05, name, fn, code, hidden, skip_raising=True)
    found = [v for v in hits if text in v.message]
    assert found, f"{name}: no [{code}] message says {text!r}:\n{hits[0].message}"
    return found[0]


def _band(k, rows, n, sign):
    return sum(v * np.eye(rows, n, sign * j, dtype=k.dtype) for j, v in enumerate(k))


def _modifies_first(fn):
    def wrong(a, *args, **kwargs):
        out = fn(a, *args, **kwargs)
        a[...] = 0
        return out
    return wrong


WRONG_T1 = [
    (lambda k, n: toeplitz_1d_loops(k[::-1].copy(), n), "flipped_kernel", "true convolution"),
    (lambda k, n: _band(k, n - len(k) + 1, n, -1), "shift_direction", "BELOW the main one"),
    (lambda k, n: toeplitz_1d_loops(k, n)[::-1], "shift_direction", "reverse order"),
    (lambda k, n: toeplitz_1d_loops(k, n)[:, ::-1], "shift_direction", "mirrored"),
    (lambda k, n: toeplitz_1d_loops(k, n).T, "transposed", "transposed"),
    (lambda k, n: _band(k, n, n, 1), "wrong_size", "cut off at the right edge"),
    (lambda k, n: _band(k, n + len(k) - 1, n, -1), "wrong_size", "FULL true convolution"),
    (lambda k, n: _band(k, n - len(k), n, 1), "wrong_size", "one row too few"),
    (_modifies_first(toeplitz_1d_loops), "input_modified", "in place"),
]


def _rows_by_position(w, shape):
    D, _, kH, kW = w.shape
    T = toeplitz_matrix_loops(w, shape)
    return T.reshape(D, shape[1] - kH + 1, shape[2] - kW + 1, -1).transpose(1, 2, 0, 3).reshape(T.shape)


def _columns_channel_last(w, shape):
    T = toeplitz_matrix_loops(w, shape)
    return T.reshape((T.shape[0],) + tuple(shape)).transpose(0, 2, 3, 1).reshape(T.shape)


def _first_channel_only(w, shape):
    w = w.copy()
    w[:, 1:] = 0
    return toeplitz_matrix_loops(w, shape)


def _one_channel_wide(w, shape):
    return toeplitz_matrix_loops(w.sum(axis=1, keepdims=True), (1,) + tuple(shape[1:]))


def _row_per_input_pixel(w, shape):
    """Rows for every (i, j) < (H, W), each kernel cut off where it leaves the image."""
    C, H, W = shape
    D, _, kH, kW = w.shape
    T = np.zeros((D * H * W, C * H * W), dtype=w.dtype)
    for o in range(D):
        for i in range(H):
            for j in range(W):
                for c in range(C):
                    for p in range(kH):
                        for q in range(kW):
                            if i + p < H and j + q < W:
                                T[(o * H + i) * W + j, (c * H + i + p) * W + j + q] = w[o, c, p, q]
    return T


def _size_without_plus_one(w, shape):
    """H_out = H - kH and W_out = W - kW: the last row and column of windows are missing."""
    D, _, kH, kW = w.shape
    T = toeplitz_matrix_loops(w, shape)
    Ho, Wo = shape[1] - kH + 1, shape[2] - kW + 1
    return T.reshape(D, Ho, Wo, -1)[:, :-1, :-1].reshape(D * (Ho - 1) * (Wo - 1), -1)


WRONG_TM = [
    (lambda w, s: toeplitz_matrix_loops(w[:, :, ::-1, ::-1].copy(), s), "flipped_kernel", "true convolution"),
    (lambda w, s: toeplitz_matrix_loops(w.transpose(0, 1, 3, 2).copy(), s), "kernel_transposed", "w[o, c, q, p]"),
    (lambda w, s: toeplitz_matrix_loops(w, s).T, "transposed", "one ROW per output value"),
    (_rows_by_position, "row_order", "(i, j, o)"),
    (_columns_channel_last, "column_order", "(h, w, c)"),
    (_first_channel_only, "channels_not_summed", "only the first input channel"),
    (_one_channel_wide, "channels_not_summed", "one block of H*W columns per input channel"),
    (_row_per_input_pixel, "wrong_size", "a row per INPUT pixel"),
    (_size_without_plus_one, "wrong_size", "one window too few in height and in width"),
    (_modifies_first(toeplitz_matrix_loops), "input_modified", "in place"),
]


def _kernel_major(x, kernel_size, stride=1, padding=0):
    cols = im2col_loops(x, kernel_size, stride, padding)
    N, C = x.shape[:2]
    kk = cols.shape[1] // C
    return cols.reshape(N, C, kk, -1).transpose(0, 2, 1, 3).reshape(cols.shape)


def _taps_by_column(x, kernel_size, stride=1, padding=0):
    cols = im2col_loops(x, kernel_size, stride, padding)
    kH, kW = _pair(kernel_size)
    N, C = x.shape[:2]
    return cols.reshape(N, C, kH, kW, -1).transpose(0, 1, 3, 2, 4).reshape(cols.shape)


def _windows_by_column(x, kernel_size, stride=1, padding=0):
    *_, Ho, Wo = _geometry(x, kernel_size, stride, padding)
    cols = im2col_loops(x, kernel_size, stride, padding)
    return cols.reshape(cols.shape[:2] + (Ho, Wo)).transpose(0, 1, 3, 2).reshape(cols.shape)


def _padded_counted_without(x, kernel_size, stride=1, padding=0):
    kH, kW, sH, sW, pH, pW, Ho, Wo = _geometry(x, kernel_size, stride, padding)
    Hc, Wc = _size(x.shape[2], kH, sH, 0), _size(x.shape[3], kW, sW, 0)
    cols = im2col_loops(x, kernel_size, stride, padding)
    return cols.reshape(cols.shape[:2] + (Ho, Wo))[:, :, :Hc, :Wc].reshape(cols.shape[:2] + (Hc * Wc,))


def _top_left_padding(x, kernel_size, stride=1, padding=0):
    pH, pW = _pair(padding)
    return im2col_loops(np.pad(x, ((0, 0), (0, 0), (pH, 0), (pW, 0))), kernel_size, stride, 0)


def _stride_only_in_count(x, kernel_size, stride=1, padding=0):
    *_, Ho, Wo = _geometry(x, kernel_size, stride, padding)
    *_, H1, W1 = _geometry(x, kernel_size, 1, padding)
    cols = im2col_loops(x, kernel_size, 1, padding)
    return cols.reshape(cols.shape[:2] + (H1, W1))[:, :, :Ho, :Wo].reshape(cols.shape[:2] + (Ho * Wo,))


def _ceil_count(x, kernel_size, stride=1, padding=0):
    """The last window is taken even where it hangs over the edge (reading zeros there)."""
    kH, kW, sH, sW, pH, pW, Ho, Wo = _geometry(x, kernel_size, stride, padding)
    Hc = -(-(x.shape[2] + 2 * pH - kH) // sH) + 1
    Wc = -(-(x.shape[3] + 2 * pW - kW) // sW) + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pH, pH + sH), (pW, pW + sW)))
    return im2col_loops(xp, kernel_size, stride, 0).reshape(x.shape[0], -1, _size(xp.shape[2], kH, sH, 0),
                                                             _size(xp.shape[3], kW, sW, 0))[:, :, :Hc, :Wc] \
        .reshape(x.shape[0], kH * kW * x.shape[1], Hc * Wc)


def _count_without_plus_one(x, kernel_size, stride=1, padding=0):
    *_, Ho, Wo = _geometry(x, kernel_size, stride, padding)
    cols = im2col_loops(x, kernel_size, stride, padding)
    return cols.reshape(cols.shape[:2] + (Ho, Wo))[:, :, :Ho - 1, :Wo - 1].reshape(cols.shape[:2] + (-1,))


def _swapped_pairs(x, kernel_size, stride=1, padding=0):
    return im2col_loops(x, _pair(kernel_size)[::-1], _pair(stride)[::-1], _pair(padding)[::-1])


WRONG_IM2COL = [
    (_kernel_major, "row_order", "kernel-major"),
    (_taps_by_column, "row_order", "column by column ((q, p))"),
    (lambda *a, **kw: im2col_loops(*a, **kw).transpose(0, 2, 1), "transposed", "each window is a ROW"),
    (_windows_by_column, "column_order", "column by column (j*H_out + i)"),
    (lambda x, k, stride=1, padding=0: im2col_loops(x, k, stride, 0), "padding_ignored", "padding was left out"),
    (_padded_counted_without, "padding_ignored", "counted without the padding"),
    (_top_left_padding, "pad_wrong_sides", "only the top and left"),
    (lambda x, k, stride=1, padding=0: im2col_loops(x, k, 1, padding), "stride_ignored", "one pixel at a time"),
    (_stride_only_in_count, "stride_ignored", "multiply by the stride"),
    (_ceil_count, "floor_vs_ceil", "rounded up"),
    (_count_without_plus_one, "wrong_size", "one window too few in height and in width"),
    (_swapped_pairs, "pair_swapped", "(height, width)"),
    (lambda *a, **kw: im2col_loops(*a, **kw)[0] if a[0].shape[0] == 1 else im2col_loops(*a, **kw),
     "wrong_shape", "batch axis is missing"),
    (_modifies_first(im2col_loops), "input_modified", "in place"),
]


def _gemm_with(transform):
    """conv2d_gemm whose (N, D, L) product y and bias b become transform(y, b, (Ho, Wo))."""
    def fn(x, w, b=None, stride=1, padding=0):
        D = w.shape[0]
        *_, Ho, Wo = _geometry(x, w.shape[2:], stride, padding)
        y = np.einsum("dr,nrl->ndl", w.reshape(D, -1), im2col_loops(x, w.shape[2:], stride, padding))
        return transform(y, b, (Ho, Wo))
    return fn


def _with_bias(y, b, hw):
    return y if b is None else y + b[:, None]


def _gemm_kernel_major(x, w, b=None, stride=1, padding=0):
    D = w.shape[0]
    *_, Ho, Wo = _geometry(x, w.shape[2:], stride, padding)
    y = np.einsum("dr,nrl->ndl", w.reshape(D, -1), _kernel_major(x, w.shape[2:], stride, padding))
    return _with_bias(y, b, None).reshape((x.shape[0], D, Ho, Wo))


def _gemm_bias_on_width(x, w, b=None, stride=1, padding=0):
    y = conv2d_gemm_loops(x, w, None, stride, padding)
    return y if b is None else y + b


WRONG_GEMM = [
    (_gemm_with(lambda y, b, hw: _with_bias(y, b, hw)), "not_reshaped", "(N, C_out, L)"),
    (_gemm_with(lambda y, b, hw: _with_bias(y, b, hw).transpose(0, 2, 1)), "not_reshaped", "(N, L, C_out)"),
    (_gemm_with(lambda y, b, hw: _with_bias(y, b, hw).transpose(0, 2, 1).reshape(y.shape[:2] + hw)),
     "wrong_reshape", "never moves values"),
    (_gemm_with(lambda y, b, hw: (y if b is None else y + b).reshape(y.shape[:2] + hw)), "bias_wrong_axis",
     "per COLUMN"),
    (_gemm_bias_on_width, "bias_wrong_axis", "width"),
    (lambda x, w, b=None, **kw: conv2d_gemm_loops(x, w, None, **kw), "bias_missing", "not added"),
    (lambda x, w, b=None, **kw: conv2d_gemm_loops(x, w[:, :, ::-1, ::-1].copy(), b, **kw), "flipped_kernel",
     "rotated by 180°"),
    (_gemm_kernel_major, "row_order", "another order than the rows of im2col"),
    (lambda x, w, b=None, **kw: conv2d_gemm_loops(x[:, :1].copy(), w[:, :1].copy(), b, **kw),
     "channels_not_summed", "first input channel"),
    (lambda x, w, b=None, stride=1, padding=0: conv2d_gemm_loops(x, w, b, stride, 0), "padding_ignored",
     "padding was left out"),
    (lambda x, w, b=None, stride=1, padding=0: conv2d_gemm_loops(x, w, b, 1, padding), "stride_ignored",
     "one pixel at a time"),
    (lambda x, w, b=None, stride=1, padding=0: conv2d_gemm_loops(x, w, b, _pair(stride)[::-1], _pair(padding)[::-1]),
     "pair_swapped", "(height, width)"),
    (lambda *a, **kw: conv2d_gemm_loops(*a, **kw)[:, :, :-1], "wrong_size", "one window too few in height"),
    (lambda *a, **kw: conv2d_gemm_loops(*a, **kw)[0] if a[0].shape[0] == 1 else conv2d_gemm_loops(*a, **kw),
     "wrong_shape", "batch axis is missing"),
    (_modifies_first(conv2d_gemm_loops), "input_modified", "in place"),
]

WRONG = ([("toeplitz_1d",) + w for w in WRONG_T1] + [("toeplitz_matrix",) + w for w in WRONG_TM]
         + [("im2col",) + w for w in WRONG_IM2COL] + [("conv2d_gemm",) + w for w in WRONG_GEMM])


@pytest.mark.parametrize("name,fn,code,text", WRONG, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_each_mistake_is_named(name, fn, code, text):
    _named(name, fn, code, text)
    with pytest.raises(AssertionError) as e:
        A05.check(name, fn)
    assert f"[{code}]" in str(e.value)


@pytest.mark.parametrize("name,fn,code,text", [w for w in WRONG if w[2] not in ("input_modified", "wrong_shape")],
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)
                              if w[2] not in ("input_modified", "wrong_shape")])
def test_each_mistake_is_named_on_hidden_cases_too(name, fn, code, text):
    diagnosed(A05, name, fn, code, hidden=True, skip_raising=True)


def test_the_floor_vs_ceil_mistake_of_conv2d_gemm_is_named_by_its_shape():
    case = next(c for c in A05.cases("conv2d_gemm") if "everything" in c.label)
    ref = checks.expected(case)
    v = checks.judge(case, np.zeros(ref.shape[:2] + (ref.shape[2] + 1, ref.shape[3])))
    assert not v.passed and v.diagnosis in ("floor_vs_ceil", "wrong_size")


@pytest.mark.parametrize("name", NAMES)
def test_float64_for_float32_is_named_on_hidden_cases(name):
    impl = lambda *a, **kw: LOOPS[name](*(v.astype(np.float64) if isinstance(v, np.ndarray) else v for v in a), **kw)
    A05.check(name, impl)   # the visible cases are float64
    diagnosed(A05, name, impl, "wrong_dtype", hidden=True)


# ----------------------------------------------------------------------------- any geometry (hypothesis)

@st.composite
def im2col_cases(draw):
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kH, kW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sH, sW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pH, pW = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kH - 2 * pH), 9))
    W = draw(st.integers(max(1, kW - 2 * pW), 9))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).standard_normal((N, C, H, W)).astype(dtype)
    return Case("im2col", (x, (kH, kW)), {"stride": (sH, sW), "padding": (pH, pW)}, "hypothesis", "05")


@given(im2col_cases())
def test_any_geometry_correct_im2col_passes_and_kernel_major_rows_are_named(case):
    x, k = case.args
    assert checks.judge(case, im2col_loops(x, k, **case.kwargs)).passed
    assert checks.judge(case, im2col_strided(x, k, **case.kwargs)).passed
    ref = checks.expected(case)
    np.testing.assert_array_equal(ref, im2col_torch(x, k, **case.kwargs))
    # a wrong layout is named whenever it changes the output (windows of padding zeros alone, or
    # a symmetric cols, can hide it)
    kernel_major = _kernel_major(x, k, **case.kwargs)
    if not np.array_equal(kernel_major, ref):
        v = checks.judge(case, kernel_major)
        assert not v.passed and v.diagnosis == "row_order", v.message
    rows_as_windows = ref.transpose(0, 2, 1)
    if rows_as_windows.shape != ref.shape or not np.array_equal(rows_as_windows, ref):
        v = checks.judge(case, rows_as_windows)
        assert not v.passed and v.diagnosis == "transposed", v.message


@given(st.integers(1, 6), st.integers(0, 8), st.integers(0, 2 ** 16))
def test_any_size_toeplitz_1d_flipped_and_transposed_are_named(m, extra, seed):
    k = np.random.default_rng(seed).standard_normal(m)
    n = m + extra
    case = Case("toeplitz_1d", (k, n), {}, "hypothesis", "05")
    assert checks.judge(case, toeplitz_1d_scipy(k, n)).passed
    if m > 1:
        v = checks.judge(case, toeplitz_1d_loops(k[::-1].copy(), n))
        assert not v.passed and v.diagnosis == "flipped_kernel", v.message
    if m > 1:   # for m = 1, T = k[0] * I is its own transpose
        v = checks.judge(case, toeplitz_1d_loops(k, n).T)
        assert not v.passed and v.diagnosis == "transposed", v.message


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 1), st.integers(0, 2 ** 16))
def test_any_geometry_conv2d_gemm_unreshaped_output_is_named(N, C, D, k, s, p, seed):
    rng = np.random.default_rng(seed)
    H, W = rng.integers(k, k + 6, size=2)
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((D, C, k, k)), rng.standard_normal(D)
    case = Case("conv2d_gemm", (x, w, b), {"stride": s, "padding": p}, "hypothesis", "05")
    ref = checks.expected(case)
    np.testing.assert_allclose(ref, conv2d_torch(x, w, b, stride=s, padding=p), rtol=1e-10, atol=1e-10)
    assert checks.judge(case, conv2d_gemm_one_product(x, w, b, stride=s, padding=p)).passed
    assume(ref.shape[2] * ref.shape[3] > 1)
    v = checks.judge(case, ref.reshape(N, D, -1))
    assert not v.passed and v.diagnosis == "not_reshaped", v.message


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 3),
       st.integers(0, 3), st.integers(0, 2 ** 16))
def test_any_geometry_toeplitz_matrix_is_the_layer(D, C, kH, kW, dh, dw, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((D, C, kH, kW))
    shape = (C, kH + dh, kW + dw)
    case = Case("toeplitz_matrix", (w, shape), {}, "hypothesis", "05")
    T = checks.expected(case)
    np.testing.assert_allclose(T, toeplitz_matrix_impulses(w, shape), rtol=1e-12, atol=1e-12)
    assert checks.judge(case, toeplitz_matrix_blocks(w, shape)).passed
    if kH > 1 or kW > 1:
        v = checks.judge(case, toeplitz_matrix_loops(w[:, :, ::-1, ::-1].copy(), shape))
        assert not v.passed and v.diagnosis == "flipped_kernel", v.message


# ----------------------------------------------------------------------------- hostile output

HOSTILE = {**HOSTILE,
           "object_right": lambda ref: ref.astype(object)}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("name", NAMES)
def test_judge_fails_cleanly_on_hostile_output(name, kind):
    for case in A05.cases(name)[:2]:
        v = checks.judge(case, HOSTILE[kind](checks.expected(case)))
        assert isinstance(v, checks.Verdict)
        if kind == "object_right":   # the right numbers in an object array: accepted, as for every judge
            continue
        assert v.passed is False and v.message and len(v.message) < 5000
        assert name in v.message


def test_messages_show_small_inputs_and_the_expected_matrix():
    case = A05.cases("toeplitz_1d")[0]
    msg = checks.judge(case, np.zeros((2, 4))).message
    assert "k = [5. 6. 7.]" in msg and "n = 4" in msg and "expected" in msg
    case = A05.cases("im2col")[2]
    msg = checks.judge(case, _kernel_major(*case.args)).message
    assert "x = " in msg and "kernel_size = 2" in msg and "[row_order]" in msg
