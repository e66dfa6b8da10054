"""Assignment 05 in the one checks suite: correct implementations written differently (loops,
vectorised, and PyTorch), and wrong ones, each with the mistake the checks must name."""

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F

ASSIGNMENT = "05"


# ----------------------------------------------------------------------------- helpers of the implementations

def as_pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def as_tensor(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def window_count(n, k, s, p):
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
    eye = torch.eye(n, dtype=as_tensor(k).dtype)[:, None, :]
    return F.conv1d(eye, as_tensor(k)[None, None]).squeeze(1).T.contiguous().numpy()


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
    basis = torch.eye(n, dtype=as_tensor(w).dtype).reshape((n,) + tuple(input_shape))
    return F.conv2d(basis, as_tensor(w)).reshape(n, -1).T.contiguous().numpy()


def geometry(x, kernel_size, stride, padding):
    """kH, kW, sH, sW, pH, pW, H_out, W_out of an im2col of x (N, C, H, W)."""
    (kH, kW), (sH, sW), (pH, pW) = as_pair(kernel_size), as_pair(stride), as_pair(padding)
    H, W = x.shape[2:]
    return kH, kW, sH, sW, pH, pW, window_count(H, kH, sH, pH), window_count(W, kW, sW, pW)


def _padded(x, pH, pW):
    return np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW)))


def im2col_loops(x, kernel_size, stride=1, padding=0):
    kH, kW, sH, sW, pH, pW, Ho, Wo = geometry(x, kernel_size, stride, padding)
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
    kH, kW, sH, sW, pH, pW, Ho, Wo = geometry(x, kernel_size, stride, padding)
    win = np.lib.stride_tricks.sliding_window_view(_padded(x, pH, pW), (kH, kW), axis=(2, 3))
    win = win[:, :, ::sH, ::sW][:, :, :Ho, :Wo]                  # (N, C, Ho, Wo, kH, kW)
    N, C = x.shape[:2]
    return np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(N, C * kH * kW, Ho * Wo)


def im2col_torch(x, kernel_size, stride=1, padding=0):
    return F.unfold(as_tensor(x), as_pair(kernel_size), stride=as_pair(stride), padding=as_pair(padding)).numpy()


def conv2d_gemm_loops(x, w, b=None, stride=1, padding=0):
    D, _, kH, kW = w.shape
    cols = im2col_loops(x, (kH, kW), stride, padding)
    *_, Ho, Wo = geometry(x, (kH, kW), stride, padding)
    y = np.einsum("dr,nrl->ndl", w.reshape(D, -1), cols)
    if b is not None:
        y = y + b[:, None]
    return y.reshape(x.shape[0], D, Ho, Wo).astype(x.dtype)


def conv2d_gemm_one_product(x, w, b=None, stride=1, padding=0):
    """Every window of the batch side by side: one (D, CkHkW) @ (CkHkW, N*L) product for the whole batch."""
    D, _, kH, kW = w.shape
    N = x.shape[0]
    cols = im2col_strided(x, (kH, kW), stride, padding)
    *_, Ho, Wo = geometry(x, (kH, kW), stride, padding)
    wide = cols.transpose(1, 0, 2).reshape(cols.shape[1], -1)
    y = (w.reshape(D, -1) @ wide).reshape(D, N, Ho, Wo).transpose(1, 0, 2, 3)
    if b is not None:
        y = y + b.reshape(1, D, 1, 1)
    return np.ascontiguousarray(y)


def conv2d_torch(x, w, b=None, stride=1, padding=0):
    t = as_tensor
    return F.conv2d(t(x), t(w), None if b is None else t(b), stride=stride, padding=padding).numpy()


LOOPS = {"toeplitz_1d": toeplitz_1d_loops, "toeplitz_matrix": toeplitz_matrix_loops, "im2col": im2col_loops,
         "conv2d_gemm": conv2d_gemm_loops}
VECTORISED = {"toeplitz_1d": toeplitz_1d_scipy, "toeplitz_matrix": toeplitz_matrix_blocks,
              "im2col": im2col_strided, "conv2d_gemm": conv2d_gemm_one_product}
TORCH = {"toeplitz_1d": toeplitz_1d_impulses, "toeplitz_matrix": toeplitz_matrix_impulses, "im2col": im2col_torch,
         "conv2d_gemm": conv2d_torch}

CORRECT = {name: [LOOPS[name], VECTORISED[name], TORCH[name]] for name in LOOPS}


# ----------------------------------------------------------------------------- wrong, each with its mistake

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


def kernel_major(x, kernel_size, stride=1, padding=0):
    """im2col with its rows ordered (p, q, c), channel last: the row_order mistake."""
    cols = im2col_loops(x, kernel_size, stride, padding)
    N, C = x.shape[:2]
    kk = cols.shape[1] // C
    return cols.reshape(N, C, kk, -1).transpose(0, 2, 1, 3).reshape(cols.shape)


def _taps_by_column(x, kernel_size, stride=1, padding=0):
    cols = im2col_loops(x, kernel_size, stride, padding)
    kH, kW = as_pair(kernel_size)
    N, C = x.shape[:2]
    return cols.reshape(N, C, kH, kW, -1).transpose(0, 1, 3, 2, 4).reshape(cols.shape)


def _windows_by_column(x, kernel_size, stride=1, padding=0):
    *_, Ho, Wo = geometry(x, kernel_size, stride, padding)
    cols = im2col_loops(x, kernel_size, stride, padding)
    return cols.reshape(cols.shape[:2] + (Ho, Wo)).transpose(0, 1, 3, 2).reshape(cols.shape)


def _padded_counted_without(x, kernel_size, stride=1, padding=0):
    kH, kW, sH, sW, pH, pW, Ho, Wo = geometry(x, kernel_size, stride, padding)
    Hc, Wc = window_count(x.shape[2], kH, sH, 0), window_count(x.shape[3], kW, sW, 0)
    cols = im2col_loops(x, kernel_size, stride, padding)
    return cols.reshape(cols.shape[:2] + (Ho, Wo))[:, :, :Hc, :Wc].reshape(cols.shape[:2] + (Hc * Wc,))


def _top_left_padding(x, kernel_size, stride=1, padding=0):
    pH, pW = as_pair(padding)
    return im2col_loops(np.pad(x, ((0, 0), (0, 0), (pH, 0), (pW, 0))), kernel_size, stride, 0)


def _stride_only_in_count(x, kernel_size, stride=1, padding=0):
    *_, Ho, Wo = geometry(x, kernel_size, stride, padding)
    *_, H1, W1 = geometry(x, kernel_size, 1, padding)
    cols = im2col_loops(x, kernel_size, 1, padding)
    return cols.reshape(cols.shape[:2] + (H1, W1))[:, :, :Ho, :Wo].reshape(cols.shape[:2] + (Ho * Wo,))


def _ceil_count(x, kernel_size, stride=1, padding=0):
    """The last window is taken even where it hangs over the edge (reading zeros there)."""
    kH, kW, sH, sW, pH, pW, Ho, Wo = geometry(x, kernel_size, stride, padding)
    Hc = -(-(x.shape[2] + 2 * pH - kH) // sH) + 1
    Wc = -(-(x.shape[3] + 2 * pW - kW) // sW) + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pH, pH + sH), (pW, pW + sW)))
    return im2col_loops(xp, kernel_size, stride, 0).reshape(x.shape[0], -1, window_count(xp.shape[2], kH, sH, 0),
                                                             window_count(xp.shape[3], kW, sW, 0))[:, :, :Hc, :Wc] \
        .reshape(x.shape[0], kH * kW * x.shape[1], Hc * Wc)


def _count_without_plus_one(x, kernel_size, stride=1, padding=0):
    *_, Ho, Wo = geometry(x, kernel_size, stride, padding)
    cols = im2col_loops(x, kernel_size, stride, padding)
    return cols.reshape(cols.shape[:2] + (Ho, Wo))[:, :, :Ho - 1, :Wo - 1].reshape(cols.shape[:2] + (-1,))


def _swapped_pairs(x, kernel_size, stride=1, padding=0):
    return im2col_loops(x, as_pair(kernel_size)[::-1], as_pair(stride)[::-1], as_pair(padding)[::-1])


WRONG_IM2COL = [
    (kernel_major, "row_order", "kernel-major"),
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
        *_, Ho, Wo = geometry(x, w.shape[2:], stride, padding)
        y = np.einsum("dr,nrl->ndl", w.reshape(D, -1), im2col_loops(x, w.shape[2:], stride, padding))
        return transform(y, b, (Ho, Wo))
    return fn


def _with_bias(y, b, hw):
    return y if b is None else y + b[:, None]


def _gemm_kernel_major(x, w, b=None, stride=1, padding=0):
    D = w.shape[0]
    *_, Ho, Wo = geometry(x, w.shape[2:], stride, padding)
    y = np.einsum("dr,nrl->ndl", w.reshape(D, -1), kernel_major(x, w.shape[2:], stride, padding))
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
    (lambda x, w, b=None, stride=1, padding=0: conv2d_gemm_loops(x, w, b, as_pair(stride)[::-1],
                                                                  as_pair(padding)[::-1]),
     "pair_swapped", "(height, width)"),
    (lambda *a, **kw: conv2d_gemm_loops(*a, **kw)[:, :, :-1], "wrong_size", "one window too few in height"),
    (lambda *a, **kw: conv2d_gemm_loops(*a, **kw)[0] if a[0].shape[0] == 1 else conv2d_gemm_loops(*a, **kw),
     "wrong_shape", "batch axis is missing"),
    (_modifies_first(conv2d_gemm_loops), "input_modified", "in place"),
]

WRONG = ([("toeplitz_1d",) + w for w in WRONG_T1] + [("toeplitz_matrix",) + w for w in WRONG_TM]
         + [("im2col",) + w for w in WRONG_IM2COL] + [("conv2d_gemm",) + w for w in WRONG_GEMM])

FLOAT64_FOR_FLOAT32 = tuple(LOOPS)
