"""Convolution as matrix multiplication: im2col / col2im, conv2d_gemm and the Toeplitz matrix.

im2col copies every receptive field of x into a column:

    cols[n, (c, p, q), (i, j)] = x_pad[n, c, i*s + p*d, j*s + q*d]        cols: (N, C*kH*kW, L)

so that a convolution becomes one matrix product with the flattened kernels,
y[n] = w.reshape(C_out, -1) @ cols[n]. col2im is its adjoint: it adds every column entry back onto
the pixel it was copied from (overlapping windows sum), which is exactly the input-gradient step of
backpropagation.

The Toeplitz view goes the other way round: it writes the convolution as one fixed matrix T acting
on the flattened image, y.reshape(N, -1) = x.reshape(N, -1) @ T.T. Each row of T holds one output
pixel's kernel, shifted to the input positions it reads; for one channel T is doubly block Toeplitz.
"""

import numpy as np

from .._args import as_float_array, check_conv, col2im_geometry, conv_geometry, fail, image_shape, is_int, pair
from .conv import _fold, _pad, _parse, _windows

__all__ = ["im2col", "col2im", "conv2d_gemm", "toeplitz_matrix", "toeplitz_1d"]


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Every receptive field as a column, as `torch.nn.functional.unfold`.

    x: (N, C, H, W) (or (C, H, W))
    returns cols: (N, C*kH*kW, L) (or (C*kH*kW, L)), L = H_out * W_out, rows ordered (c, p, q)
    """
    fn = "im2col"
    x = as_float_array(x, "x", fn)
    if x.ndim not in (3, 4):
        fail(fn, f"x must have shape (N, C, H, W) or (C, H, W), got shape {x.shape}")
    xb = x if x.ndim == 4 else x[None]
    k, s, d = (pair(v, n, fn) for v, n in ((kernel_size, "kernel_size"), (stride, "stride"),
                                            (dilation, "dilation")))
    pads, out = conv_geometry(xb.shape, k, s, padding, d, fn)
    N, C = xb.shape[:2]
    cols = _windows(_pad(xb, pads), k, s, d, out).reshape(N, C * k[0] * k[1], out[0] * out[1])
    return cols if x.ndim == 4 else cols[0]


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """Sum columns back into an image, as `torch.nn.functional.fold` (the adjoint of im2col).

    cols: (N, C*kH*kW, L) (or (C*kH*kW, L)), output_size: (H, W) or int
    returns x: (N, C, H, W) (or (C, H, W)); pixels covered by several windows get the sum
    """
    fn = "col2im"
    cols = as_float_array(cols, "cols", fn)
    if cols.ndim not in (2, 3):
        fail(fn, f"cols must have shape (N, C*kH*kW, L) or (C*kH*kW, L), got shape {cols.shape}")
    cb = cols if cols.ndim == 3 else cols[None]
    C, size, k, s, d, pads, out = col2im_geometry(cb.shape, output_size, kernel_size, stride, padding,
                                                  dilation, fn)
    N = cb.shape[0]
    shape = (N, C, size[0] + sum(pads[0]), size[1] + sum(pads[1]))
    img = _fold(cb.reshape(N, C, k[0], k[1], *out), shape, k, s, d, out, cb.dtype)
    (t, _), (l, _) = pads
    img = np.ascontiguousarray(img[:, :, t:t + size[0], l:l + size[1]])
    return img if cols.ndim == 3 else img[0]


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d computed as im2col followed by one (batched) matrix product.

    x: (N, C_in, H, W), w: (C_out, C_in // groups, kH, kW), b: (C_out,) or None
    returns y: (N, C_out, H_out, W_out), equal to conv2d(x, w, b, ...)
    """
    x, w, b, k, s, d, pads, out = _parse(x, w, b, stride, padding, dilation, groups, "conv2d_gemm")
    N, C_out = x.shape[0], w.shape[0]
    cols = _windows(_pad(x, pads), k, s, d, out).reshape(N, groups, -1, out[0] * out[1])
    w_mat = w.reshape(groups, C_out // groups, -1)                     # (G, C_out/G, C_in/G*kH*kW)
    y = np.matmul(w_mat, cols).reshape(N, C_out, *out)                 # (N, G, C_out/G, L)
    if b is not None:
        y += b[:, None, None]
    return y


def toeplitz_matrix(w, input_shape, stride=1, padding=0, dilation=1, groups=1):
    """The dense matrix T of the convolution with w on inputs of shape (C_in, H, W).

    w: (C_out, C_in // groups, kH, kW), input_shape: (C_in, H, W)
    returns T: (C_out*H_out*W_out, C_in*H*W) with
        conv2d(x, w, stride=..., padding=..., dilation=...).reshape(N, -1) == x.reshape(N, -1) @ T.T
    Row (o, i, j) holds w[o] placed where output pixel (i, j) reads the input; zero padding
    contributes nothing, so padded positions are simply left out.
    """
    fn = "toeplitz_matrix"
    w = as_float_array(w, "w", fn)
    shape = image_shape(input_shape, fn)
    check_conv(np.empty((1,) + shape, dtype=w.dtype), w, None, groups, fn, spatial=2)
    C_out, Cg, kH, kW = w.shape
    k, s, d = (kH, kW), pair(stride, "stride", fn), pair(dilation, "dilation", fn)
    ((top, _), (left, _)), (Ho, Wo) = conv_geometry((1,) + shape, k, s, padding, d, fn)
    C, H, W = shape
    o, i, j, c, p, q = np.ix_(range(C_out), range(Ho), range(Wo), range(Cg), range(kH), range(kW))
    h = i * s[0] - top + p * d[0]                          # input row read by (i, p)
    v = j * s[1] - left + q * d[1]                         # input column read by (j, q)
    ch = (o // (C_out // groups)) * Cg + c                 # input channel in o's group
    row = (o * Ho + i) * Wo + j
    col = (ch * H + h) * W + v
    inside = (h >= 0) & (h < H) & (v >= 0) & (v < W)
    full = (C_out, Ho, Wo, Cg, kH, kW)
    inside, row, col = (np.broadcast_to(a, full) for a in (inside, row, col))
    vals = np.broadcast_to(w[:, None, None], full)
    T = np.zeros((C_out * Ho * Wo, C * H * W), dtype=w.dtype)
    T[row[inside], col[inside]] = vals[inside]
    return T


def toeplitz_1d(k, n):
    """The (n - m + 1, n) matrix T with T @ x == correlate1d(x, k) for every x of length n.

    k: (m,), n: the signal length (n >= m). Row i holds k at columns i .. i + m - 1, T[i, i + j] = k[j]:
    the one-channel, one-row case of `toeplitz_matrix`.
    """
    fn = "toeplitz_1d"
    k = as_float_array(k, "k", fn)
    if k.ndim != 1 or k.size == 0:
        fail(fn, f"k must be a non-empty 1-D kernel, got shape {k.shape}")
    if not is_int(n) or n < k.size:
        fail(fn, f"n must be an int at least len(k) = {k.size}, got {n!r}")
    return toeplitz_matrix(k.reshape(1, 1, 1, -1), (1, 1, int(n)))
