"""Batched, multi-channel convolution layers (cross-correlation, as in every DL framework).

Forward, for output channel o in group g, position (i, j):

    y[n, o, i, j] = b[o] + sum_{c in g} sum_{p, q} x_pad[n, c, i*s + p*d, j*s + q*d] * w[o, c, p, q]

with stride s, dilation d and x_pad the zero-padded input. The fast path is im2col + GEMM: every
receptive field is copied into a column of a matrix `cols: (C*kH*kW, N*H_out*W_out)` (rows grouped
by channel, so each group is a contiguous block of rows), and one matrix product per group does the
sums. The backward pass reuses the same matrix:

    db = sum over n, i, j of dout                       (C_out,)
    dw = dout_mat @ cols.T                              every position and batch item summed
    dx = col2im(w_mat.T @ dout_mat)                     each column's gradient added back to the
                                                        pixels it was copied from

`conv2d_naive` computes the same forward pass with explicit loops over output positions, for
reading and for timing against the fast version.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._args import (as_float_array, check_conv, conv_geometry, fail,
                     float_dtype, is_int, tuple_of)

__all__ = ["pad2d", "conv_output_size", "conv1d", "conv1d_backward", "conv2d", "conv2d_backward",
           "conv2d_naive"]


# ----------------------------------------------------------------------------- padding, sizes

def pad2d(x, padding, value=0.0):
    """Pad the last two axes of x with a constant.

    x: (..., H, W)
    padding: int p (all four sides), (ph, pw) (top and bottom ph, left and right pw), or
             (left, right, top, bottom) as in `torch.nn.functional.pad`; negative values crop.
    returns: (..., H + top + bottom, W + left + right)
    """
    fn = "pad2d"
    x = np.asarray(x)
    if x.ndim < 2:
        fail(fn, f"x must have at least 2 dimensions (..., H, W), got shape {x.shape}")
    if is_int(padding):
        left = right = top = bottom = int(padding)
    else:
        try:
            p = tuple(padding)
        except TypeError:
            fail(fn, f"padding must be an int, (ph, pw) or (left, right, top, bottom), got {padding!r}")
        if not all(is_int(v) for v in p) or len(p) not in (2, 4):
            fail(fn, f"padding must be an int, (ph, pw) or (left, right, top, bottom), got {padding!r}")
        left, right, top, bottom = (p[1], p[1], p[0], p[0]) if len(p) == 2 else p
    H, W = x.shape[-2:]
    if H + top + bottom < 0 or W + left + right < 0:
        fail(fn, f"padding {padding!r} crops more than the input of shape {x.shape} has")
    out = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))],
                 constant_values=value)
    # negative padding crops, as in torch
    h0, w0 = max(-top, 0), max(-left, 0)
    return out[..., h0:out.shape[-2] - max(-bottom, 0), w0:out.shape[-1] - max(-right, 0)].copy()


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1

    Ints give an int; pairs (for H and W) give a pair. `padding` may be "valid" or "same".
    """
    fn = "conv_output_size"
    n = 1 if is_int(size) else 2
    sizes = tuple_of(size, n, "size", fn, 1)
    k, s, d = (tuple_of(v, n, name, fn, 1) for v, name in ((kernel_size, "kernel_size"), (stride, "stride"),
                                                          (dilation, "dilation")))
    _, out = conv_geometry(sizes, k, s, padding, d, fn)
    return out[0] if n == 1 else out


# ----------------------------------------------------------------------------- shared machinery

def _parse(x, w, b, stride, padding, dilation, groups, fn, spatial=2):
    """Validate a convolution's arguments; arrays come back in their common float dtype.

    A 1-D convolution (spatial=1) is checked in its own terms, then returned as a 2-D one over
    images of height 1, so both share one implementation.
    """
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    b = None if b is None else as_float_array(b, "b", fn)
    check_conv(x, w, b, groups, fn, spatial=spatial)
    dt = float_dtype(x, w) if b is None else float_dtype(x, w, b)
    x, w = x.astype(dt, copy=False), w.astype(dt, copy=False)
    b = None if b is None else b.astype(dt, copy=False)
    k = w.shape[2:]
    s = tuple_of(stride, spatial, "stride", fn, 1)
    d = tuple_of(dilation, spatial, "dilation", fn, 1)
    pads, out = conv_geometry(x.shape, k, s, padding, d, fn)
    if spatial == 1:
        return x[:, :, None], w[:, :, None], b, (1,) + k, (1,) + s, (1,) + d, ((0, 0),) + pads, (1,) + out
    return x, w, b, k, s, d, pads, out


def _pad(x, pads):
    if not any(p for pp in pads for p in pp):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(pads))


def _windows(xp, k, s, d, out):
    """A read-only strided view of every receptive field: (N, C, kH, kW, H_out, W_out), no copy."""
    sn, sc, sh, sw = xp.strides
    return as_strided(xp, shape=xp.shape[:2] + tuple(k) + tuple(out),
                      strides=(sn, sc, sh * d[0], sw * d[1], sh * s[0], sw * s[1]), writeable=False)


def _cols(xp, k, s, d, out):
    """im2col in GEMM order: (C*kH*kW, N*H_out*W_out); rows are channel-major, as w.reshape(C_out, -1)."""
    win = _windows(xp, k, s, d, out)
    N, C = xp.shape[:2]
    # (C, kH, kW, N, H_out, W_out): the innermost copy runs along W_out, contiguous at stride 1
    return win.transpose(1, 2, 3, 0, 4, 5).reshape(C * k[0] * k[1], N * out[0] * out[1])


class _Layout:
    """Where each output pixel (n, i, j) lives among the columns of the GEMM of a convolution.

    At stride 1 the output rows are taken the padded input's width Wp wide: image n owns the
    T = (H_out - 1)*Wp + W_out columns n*T + i*Wp + j. Then the window of kernel offset (p, q) is
    one contiguous run of T values of the flattened image, starting at p*dH*Wp + q*dW, so im2col
    copies and col2im adds run over long contiguous memory instead of rows W_out long. The
    columns j >= W_out of each row are junk: dropped in the forward pass, zero in the backward.
    At other strides the columns are simply (n, i, j), T = H_out*W_out.
    """

    def __init__(self, xp_shape, k, s, d, out):
        self.N, self.C, self.Hp, self.Wp = xp_shape
        self.k, self.s, self.d, self.out = k, s, d, out
        self.wide = s == (1, 1)
        self.T = (out[0] - 1) * self.Wp + out[1] if self.wide else out[0] * out[1]

    def cols(self, xp):
        """(C*kH*kW, N*T): column (n, t) of row (c, p, q) is the pixel that offset (p, q) reads."""
        if not self.wide:
            return _cols(xp, self.k, self.s, self.d, self.out)
        xp = np.ascontiguousarray(xp)
        it = xp.itemsize
        view = as_strided(xp, shape=(self.C, self.k[0], self.k[1], self.N, self.T),
                          strides=(xp.strides[1], self.d[0] * self.Wp * it, self.d[1] * it, xp.strides[0], it),
                          writeable=False)
        return view.reshape(self.C * self.k[0] * self.k[1], self.N * self.T)

    def _pixels(self, a):
        """The (rows, N, H_out, W_out) view of the real pixels in a (rows, N*T) array."""
        it = a.itemsize
        rows = a.shape[0]
        step = self.Wp if self.wide else self.out[1]
        return as_strided(a, shape=(rows, self.N) + self.out,
                          strides=(a.strides[0], self.T * it, step * it, it))

    def to_image(self, y):
        """(C_out, N*T) -> (N, C_out, H_out, W_out), contiguous."""
        return np.ascontiguousarray(self._pixels(y).transpose(1, 0, 2, 3))

    def from_image(self, dout):
        """(N, C_out, H_out, W_out) -> (C_out, N*T), junk columns zero."""
        g = (np.zeros if self.wide else np.empty)((dout.shape[1], self.N * self.T), dtype=dout.dtype)
        self._pixels(g)[...] = dout.transpose(1, 0, 2, 3)
        return g

    def fold(self, dcols, dtype):
        """col2im of (C*kH*kW, N*T) onto the padded input: (N, C, Hp, Wp)."""
        C, (kH, kW), N = self.C, self.k, self.N
        if not self.wide:
            dc = dcols.reshape(C, kH, kW, N, *self.out).transpose(0, 3, 1, 2, 4, 5)
            return _fold(dc, (C, N, self.Hp, self.Wp), self.k, self.s, self.d, self.out, dtype).transpose(1, 0, 2, 3)
        dc = dcols.reshape(C, kH, kW, N, self.T)
        img = np.zeros((C, N, self.Hp * self.Wp), dtype=dtype)
        for p in range(kH):
            for q in range(kW):
                off = p * self.d[0] * self.Wp + q * self.d[1]
                img[:, :, off:off + self.T] += dc[:, p, q]
        return img.reshape(C, N, self.Hp, self.Wp).transpose(1, 0, 2, 3)


def _grouped_matmul(a, b, groups, transpose_a=False):
    """Per group g: a_g @ b_g, the groups being equal blocks of rows of a and b (before transposing).

    a: (G*M, K) (or (G*K, M) with transpose_a), b: (G*K, P)
    returns (G*M, P). Plain 2-D products, so every one goes to BLAS.
    """
    out = [(x.T if transpose_a else x) @ y for x, y in zip(np.split(a, groups), np.split(b, groups))]
    return out[0] if groups == 1 else np.concatenate(out)


def _fold(dc, shape, k, s, d, out, dtype):
    """Add dc: (N, C, kH, kW, H_out, W_out) back onto a zero image of `shape` (N, C, Hp, Wp).

    This is col2im: one strided add per kernel offset (p, q), so overlapping windows accumulate,
    which is the chain rule's sum over every position that read a pixel.
    """
    img = np.zeros(shape, dtype=dtype)
    for p in range(k[0]):
        for q in range(k[1]):
            h0, w0 = p * d[0], q * d[1]
            img[:, :, h0:h0 + s[0] * (out[0] - 1) + 1:s[0], w0:w0 + s[1] * (out[1] - 1) + 1:s[1]] += dc[:, :, p, q]
    return img


def _unpad(xp, pads):
    (t, b_), (l, r) = pads
    return xp[:, :, t:xp.shape[2] - b_, l:xp.shape[3] - r]


# ----------------------------------------------------------------------------- conv2d

def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution layer (cross-correlation), as `torch.nn.functional.conv2d`.

    x: (N, C_in, H, W)
    w: (C_out, C_in // groups, kH, kW)
    b: (C_out,) or None
    stride, dilation: int or (sH, sW); padding: int, (pH, pW), "valid" or "same"
    returns y: (N, C_out, H_out, W_out), H_out = floor((H + 2pH - dH(kH - 1) - 1) / sH) + 1
    """
    return _forward(*_parse(x, w, b, stride, padding, dilation, groups, "conv2d"), groups)


def _forward(x, w, b, k, s, d, pads, out, groups):
    xp = _pad(x, pads)
    N, C_out = x.shape[0], w.shape[0]
    w_mat = w.reshape(C_out, -1)                                       # (C_out, C_in/G*kH*kW)
    y = np.empty((N, C_out) + out, dtype=x.dtype)
    for n0, n1, lay in _batches(xp.shape, k, s, d, out):
        yc = _grouped_matmul(w_mat, lay.cols(xp[n0:n1]), groups)       # (C_out, n*T)
        if b is not None:
            yc += b[:, None]
        y[n0:n1] = lay.to_image(yc)
    return y


def _batches(xp_shape, k, s, d, out):
    """Split the batch into runs of images whose im2col matrix is about CHUNK elements.

    A few megabytes of columns stay in cache between the copy that makes them and the products
    that read them, and memory stays bounded however large the batch; (n0, n1, layout) each.
    """
    N = xp_shape[0]
    per_image = _Layout((1,) + tuple(xp_shape[1:]), k, s, d, out)
    size = per_image.C * k[0] * k[1] * per_image.T
    n = max(1, min(N, CHUNK // max(size, 1)))
    for n0 in range(0, N, n):
        n1 = min(N, n0 + n)
        yield n0, n1, _Layout((n1 - n0,) + tuple(xp_shape[1:]), k, s, d, out)


CHUNK = 1 << 21       # elements of im2col per run of images: 8 MB in float32, measured best here


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of conv2d with respect to its inputs.

    dout: (N, C_out, H_out, W_out)  upstream gradient dL/dy
    x: (N, C_in, H, W), w: (C_out, C_in // groups, kH, kW): the forward inputs
    returns (dx, dw, db): (N, C_in, H, W), (C_out, C_in // groups, kH, kW), (C_out,)
    """
    fn = "conv2d_backward"
    x, w, _, k, s, d, pads, out = _parse(x, w, None, stride, padding, dilation, groups, fn)
    dout = _check_dout(dout, (x.shape[0], w.shape[0]) + out, x, w, fn)
    return _backward(dout, x, w, k, s, d, pads, out, groups)


def _check_dout(dout, shape, x, w, fn):
    dout = as_float_array(dout, "dout", fn)
    if dout.shape != shape:
        fail(fn, f"dout must have the forward output's shape {shape} for x {x.shape} and "
                 f"w {w.shape}, got {dout.shape}")
    return dout.astype(x.dtype, copy=False)


def _backward(dout, x, w, k, s, d, pads, out, groups):
    xp = _pad(x, pads)
    C_out = w.shape[0]
    w_mat = w.reshape(C_out, -1)                                       # (C_out, C_in/G*kH*kW)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.zeros_like(w_mat)
    dxp = np.empty(xp.shape, dtype=x.dtype)
    for n0, n1, lay in _batches(xp.shape, k, s, d, out):
        g = lay.from_image(dout[n0:n1])                                # (C_out, n*T)
        # each group's kernels meet only their own block of rows of cols; (cols @ g.T).T is the
        # same product as g @ cols.T, but OpenBLAS runs it markedly faster when n*T is long
        cols = np.split(lay.cols(xp[n0:n1]), groups)
        dw += np.concatenate([(c @ gg.T).T for c, gg in zip(cols, np.split(g, groups))])
        dcols = _grouped_matmul(w_mat, g, groups, transpose_a=True)  # (C_in*kH*kW, n*T)
        dxp[n0:n1] = lay.fold(dcols, x.dtype)
    return np.ascontiguousarray(_unpad(dxp, pads)), dw.reshape(w.shape), db


def conv2d_naive(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d with explicit loops over output positions: the definition, written out.

    Same arguments and result as `conv2d`; slow, for reading and timing only.
    """
    x, w, b, k, s, d, pads, out = _parse(x, w, b, stride, padding, dilation, groups, "conv2d_naive")
    xp = _pad(x, pads)
    N, C_out = x.shape[0], w.shape[0]
    M, Cg = C_out // groups, w.shape[1]
    y = np.zeros((N, C_out) + out, dtype=x.dtype)
    for o in range(C_out):
        c0 = (o // M) * Cg                      # first input channel of o's group
        for i in range(out[0]):
            for j in range(out[1]):
                h, v = i * s[0], j * s[1]
                field = xp[:, c0:c0 + Cg, h:h + d[0] * (k[0] - 1) + 1:d[0], v:v + d[1] * (k[1] - 1) + 1:d[1]]
                y[:, o, i, j] = (field * w[o]).sum(axis=(1, 2, 3))
        if b is not None:
            y[:, o] += b[o]
    return y


# ----------------------------------------------------------------------------- conv1d

def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution layer (cross-correlation), as `torch.nn.functional.conv1d`.

    x: (N, C_in, L), w: (C_out, C_in // groups, kL), b: (C_out,) or None
    returns y: (N, C_out, L_out), L_out = floor((L + 2p - d(kL - 1) - 1) / s) + 1
    """
    return _forward(*_parse(x, w, b, stride, padding, dilation, groups, "conv1d", spatial=1), groups)[:, :, 0]


def conv1d_backward(dout, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of conv1d: dout (N, C_out, L_out) -> (dx, dw, db) shaped like x, w and (C_out,)."""
    fn = "conv1d_backward"
    x2, w2, _, k, s, d, pads, out = _parse(x, w, None, stride, padding, dilation, groups, fn, spatial=1)
    dout = _check_dout(dout, (x2.shape[0], w2.shape[0], out[1]), x2[:, :, 0], w2[:, :, 0], fn)
    dx, dw, db = _backward(dout[:, :, None], x2, w2, k, s, d, pads, out, groups)
    return dx[:, :, 0], dw[:, :, 0], db
