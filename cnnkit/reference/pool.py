"""Pooling: max, average, global average and stochastic, with the backward passes.

A pooling layer slides a kH x kW window over every channel of every image on its own, with
stride (sH, sW) (the kernel size by default, so the windows tile the image) and optional padding,
and reduces each window to one number:

    max      y[n, c, i, j] = max_{a, b}  x_pad[n, c, i*sH + a*dH, j*sW + b*dW]
    average  y[n, c, i, j] = 1/|window| * sum_{a, b} x_pad[n, c, i*sH + a, j*sW + b]

The output size per axis is that of a convolution, floor((H + 2p - d(k-1) - 1) / s) + 1 (ceil
with `ceil_mode=True`, as in PyTorch). Every function takes a batch (N, C, H, W) or a single
image (C, H, W), as PyTorch does. Padding may be at most half the kernel (PyTorch's rule), so
every window holds at least one pixel of the image.

Backward passes route each output gradient back to where the output came from: to the single
maximum of its window (max), or spread evenly over the window (average). Windows that overlap
(stride < kernel) add up their contributions.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._args import as_float_array, fail, float_dtype, is_int, pool_geometry

__all__ = [
    "max_pool2d", "max_pool2d_with_indices", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
    "stochastic_pool2d",
]


# ---------------------------------------------------------------------------------------------
# Shared geometry
# ---------------------------------------------------------------------------------------------

def _batched(x, fn, name="x"):
    """`x` as a floating (N, C, H, W) array, and whether it came as a single (C, H, W) image."""
    x = as_float_array(x, name, fn)
    if x.ndim == 3:
        return x[None], True
    if x.ndim != 4:
        fail(fn, f"{name} must have 3 or 4 dimensions, (C, H, W) or (N, C, H, W), "
                 f"got shape {tuple(x.shape)}")
    return x, False


def _windows(x, k, s, d, out, pads, value):
    """Strided view of the pooling windows of x (N, C, H, W): (N, C, H_out, W_out, kH, kW)."""
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=value)
    ext = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    v = sliding_window_view(xp, ext, axis=(2, 3))
    return v[:, :, :(out[0] - 1) * s[0] + 1:s[0], :(out[1] - 1) * s[1] + 1:s[1], ::d[0], ::d[1]]


def _check_dout(dout, expected, fn):
    dout = as_float_array(dout, "dout", fn)
    if dout.shape != tuple(expected):
        fail(fn, f"dout must have the shape of the forward output {tuple(expected)}, "
                 f"got shape {tuple(dout.shape)}")
    return dout


# ---------------------------------------------------------------------------------------------
# Max pooling
# ---------------------------------------------------------------------------------------------

def _max_pool(x, k, s, p, d, out, pads):
    """Max over each window of x (N, C, H, W), and the (row, column) in x of each maximum.

    Ties go to the first maximum in row-major window order (np.argmax), as in PyTorch.
    """
    n, c = x.shape[:2]
    win = _windows(x, k, s, d, out, pads, -np.inf).reshape(n, c, out[0], out[1], k[0] * k[1])
    a = np.argmax(win, axis=-1)
    y = np.take_along_axis(win, a[..., None], axis=-1)[..., 0]
    top = np.arange(out[0]) * s[0] - p[0]          # first row of each window (may be padding)
    left = np.arange(out[1]) * s[1] - p[1]
    rows = top[:, None] + (a // k[1]) * d[0]
    cols = left[None, :] + (a % k[1]) * d[1]
    # A window whose maximum is -inf has no meaningful argmax: report its first pixel inside
    # the image (the padding is -inf too), which is what PyTorch reports.
    empty = y == -np.inf
    if empty.any():
        first_row = top + np.maximum(-(top // d[0]), 0) * d[0]    # top, stepped past the padding
        first_col = left + np.maximum(-(left // d[1]), 0) * d[1]
        rows = np.where(empty, first_row[:, None], rows)
        cols = np.where(empty, first_col[None, :], cols)
    return y, rows, cols


def max_pool2d(x, kernel_size, stride=None, padding=0, return_indices=False, *,
               dilation=1, ceil_mode=False):
    """Max pooling: the largest value of each window.

    y[n, c, i, j] = max_{a, b} x_pad[n, c, i*sH + a*dH, j*sW + b*dW], with x padded by -inf
    (so the padding never wins).

    x: (N, C, H, W) or (C, H, W)
    kernel_size, stride (default: kernel_size), padding (at most kernel_size // 2),
    dilation: int or pair; ceil_mode: round the output size up, as in PyTorch.
    Returns y: (N, C, H_out, W_out) (or (C, H_out, W_out)), and with `return_indices` also the
    int64 indices of the maxima, flat indices h*W + w into each unpadded input plane, as in
    PyTorch. Ties go to the first maximum in row-major window order.
    """
    fn = "max_pool2d"
    xb, single = _batched(x, fn)
    k, s, p, d, out, pads = pool_geometry(xb.shape, kernel_size, stride, padding, dilation, ceil_mode, fn)
    y, rows, cols = _max_pool(xb, k, s, p, d, out, pads)
    if single:
        y, rows, cols = y[0], rows[0], cols[0]
    y = np.ascontiguousarray(y)
    if not return_indices:
        return y
    return y, (rows * xb.shape[3] + cols).astype(np.int64)


def max_pool2d_with_indices(x, kernel_size, stride=None, padding=0, *, dilation=1, ceil_mode=False):
    """Max pooling and where each maximum was: `max_pool2d(..., return_indices=True)`.

    Returns (y, indices): y as `max_pool2d`, indices int64 of y's shape, the flat index h*W + w of
    each window's maximum in its (unpadded) input plane, as in PyTorch; ties go to the first maximum.
    """
    return max_pool2d(x, kernel_size, stride, padding, return_indices=True, dilation=dilation,
                      ceil_mode=ceil_mode)


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, *, dilation=1,
                        ceil_mode=False):
    """Backward pass of max pooling.

    Each output gradient goes, whole, to the input pixel that was the maximum of its window
    (the first maximum on ties); the other pixels of the window get nothing. A pixel that is
    the maximum of several overlapping windows collects the sum of their gradients.

    dout: (N, C, H_out, W_out), the gradient of the loss w.r.t. the forward output
    x: (N, C, H, W), the forward input (or both without the N axis)
    Returns dx: shaped like x.
    """
    fn = "max_pool2d_backward"
    xb, single = _batched(x, fn)
    k, s, p, d, out, pads = pool_geometry(xb.shape, kernel_size, stride, padding, dilation, ceil_mode, fn)
    n, c, h, w = xb.shape
    dout = _check_dout(dout, ((n,) if not single else ()) + (c,) + out, fn).reshape(n, c, *out)
    _, rows, cols = _max_pool(xb, k, s, p, d, out, pads)
    # One flat index per output into the whole of dx; bincount adds the repeats, which is the
    # accumulation of overlapping windows. A window that lies wholly in the padding (possible
    # only with dilation) does not depend on x at all and is left out.
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    plane = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    flat = plane + rows * w + cols
    dx = np.bincount(flat[inside], weights=dout[inside], minlength=n * c * h * w)
    dx = dx.astype(float_dtype(dout, xb), copy=False).reshape(xb.shape)
    return dx[0] if single else dx


# ---------------------------------------------------------------------------------------------
# Average pooling
# ---------------------------------------------------------------------------------------------

def _avg_divisor(shape, k, s, p, out, count_include_pad, divisor_override, fn):
    """The divisor of every window, (H_out, W_out), as PyTorch counts it.

    With count_include_pad the padding counts (but not the extra overhang of ceil mode);
    without it only the pixels of the image count.
    """
    if divisor_override is not None:
        if not is_int(divisor_override) or divisor_override == 0:
            fail(fn, f"divisor_override must be a non-zero int, got {divisor_override!r}")
        return np.full(out, divisor_override)
    counts = []
    for n, kk, ss, pp, o in zip(shape[-2:], k, s, p, out):
        start = np.arange(o) * ss - pp
        end = np.minimum(start + kk, n + pp)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, n) - np.maximum(start, 0))
    return np.outer(*counts)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling: the mean of each window.

    y[n, c, i, j] = 1/|window| * sum_{a, b} x_pad[n, c, i*sH + a, j*sW + b], x padded by zeros;
    |window| = kH*kW, unless `count_include_pad=False` (only the image pixels count) or
    `divisor_override` is given, as in PyTorch.

    x: (N, C, H, W) or (C, H, W)
    kernel_size, stride (default: kernel_size), padding (at most kernel_size // 2): int or pair
    Returns y: (N, C, H_out, W_out) (or (C, H_out, W_out)).
    """
    fn = "avg_pool2d"
    xb, single = _batched(x, fn)
    k, s, p, d, out, pads = pool_geometry(xb.shape, kernel_size, stride, padding, 1, ceil_mode, fn)
    div = _avg_divisor(xb.shape, k, s, p, out, count_include_pad, divisor_override, fn)
    y = _windows(xb, k, s, d, out, pads, 0).sum(axis=(-2, -1)) / div.astype(xb.dtype)
    return y[0] if single else y


def avg_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Backward pass of average pooling.

    Every pixel of a window gets dout / |window| from it: dx is the sum, over the kH*kW offsets
    (a, b) of the window, of dout / |window| placed with stride s at offset (a, b), cropped to
    the unpadded input.

    dout: (N, C, H_out, W_out), the gradient of the loss w.r.t. the forward output
    x: (N, C, H, W), the forward input (or both without the N axis); only its shape is used
    Returns dx: shaped like x.
    """
    fn = "avg_pool2d_backward"
    xb, single = _batched(x, fn)
    k, s, p, d, out, pads = pool_geometry(xb.shape, kernel_size, stride, padding, 1, ceil_mode, fn)
    n, c, h, w = xb.shape
    dout = _check_dout(dout, ((n,) if not single else ()) + (c,) + out, fn).reshape(n, c, *out)
    div = _avg_divisor(xb.shape, k, s, p, out, count_include_pad, divisor_override, fn)
    dt = float_dtype(dout, xb)
    g = dout.astype(dt, copy=False) / div.astype(dt)
    (pt, pb), (pl, pr) = pads
    dxp = np.zeros((n, c, pt + h + pb, pl + w + pr), dtype=dt)
    for a in range(k[0]):
        for b in range(k[1]):
            dxp[:, :, a:a + (out[0] - 1) * s[0] + 1:s[0], b:b + (out[1] - 1) * s[1] + 1:s[1]] += g
    dx = np.ascontiguousarray(dxp[:, :, pt:pt + h, pl:pl + w])
    return dx[0] if single else dx


def global_avg_pool2d(x):
    """Global average pooling: the mean of each channel over the whole image.

    y[n, c] = 1/(H*W) * sum_{h, w} x[n, c, h, w]; the usual replacement of the fully connected
    layers at the top of a CNN (one number per feature map).

    x: (N, C, H, W) or (C, H, W)
    Returns y: (N, C) (or (C,)).
    """
    fn = "global_avg_pool2d"
    xb, single = _batched(x, fn)
    if xb.shape[2] * xb.shape[3] == 0:
        fail(fn, f"x must have a non-empty image, got shape {tuple(np.shape(x))}")
    y = xb.mean(axis=(2, 3))
    return y[0] if single else y


def global_avg_pool2d_backward(dout, x):
    """Backward pass of global average pooling: every pixel gets dout[n, c] / (H*W).

    dout: (N, C); x: (N, C, H, W), the forward input (or both without the N axis)
    Returns dx: shaped like x.
    """
    fn = "global_avg_pool2d_backward"
    xb, single = _batched(x, fn)
    n, c, h, w = xb.shape
    dout = _check_dout(dout, ((n,) if not single else ()) + (c,), fn).reshape(n, c, 1, 1)
    dt = float_dtype(dout, xb)
    dx = np.broadcast_to(dout.astype(dt, copy=False) / dt.type(h * w), xb.shape).copy()
    return dx[0] if single else dx


# ---------------------------------------------------------------------------------------------
# Stochastic pooling
# ---------------------------------------------------------------------------------------------

def _generator(rng, fn):
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if is_int(rng) and rng >= 0:
        return np.random.default_rng(int(rng))
    fail(fn, f"rng must be None, a non-negative int seed or a numpy.random.Generator, got {rng!r}")


def stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None):
    """Stochastic pooling (Zeiler & Fergus, 2013).

    Within each window the activations a_i >= 0 define probabilities p_i = a_i / sum_j a_j.
    - training: the output is one activation a_i of the window, drawn with probability p_i
      (a window of zeros gives 0). Like max pooling it keeps a real activation, but a random
      one, which regularises like dropout.
    - evaluation: the output is the probability-weighted average sum_i p_i a_i
      = sum_i a_i^2 / sum_i a_i (0 for a window of zeros).

    The method assumes non-negative activations (the output of a ReLU); negative input raises
    ValueError. No padding.

    x: (N, C, H, W) or (C, H, W), non-negative
    kernel_size, stride (default: kernel_size): int or pair
    training: sample (True) or take the weighted average (False)
    rng: None (fresh entropy), an int seed, or a numpy.random.Generator (used, and advanced)
    Returns y: (N, C, H_out, W_out) (or (C, H_out, W_out)).
    """
    fn = "stochastic_pool2d"
    xb, single = _batched(x, fn)
    k, s, p, d, out, pads = pool_geometry(xb.shape, kernel_size, stride, 0, 1, False, fn)
    gen = _generator(rng, fn)
    if xb.size and not np.all(xb >= 0):       # `not >=` also catches NaN
        fail(fn, f"x must be non-negative (stochastic pooling samples activations in proportion "
                 f"to their value; apply a ReLU first), got min {np.min(xb)} in shape "
                 f"{tuple(np.shape(x))}")
    n, c = xb.shape[:2]
    win = _windows(xb, k, s, d, out, pads, 0).reshape(n, c, out[0], out[1], k[0] * k[1])
    if not training:
        total = win.sum(axis=-1)
        nonzero = total > 0
        y = np.where(nonzero, (win * win).sum(axis=-1) / np.where(nonzero, total, 1), 0)
    else:
        # Inverse-CDF sampling: u ~ U[0, total), pick the first i whose running sum exceeds u.
        # Running sums are non-decreasing, so that i has a_i > 0 and P(i) = a_i / total.
        cum = np.cumsum(win, axis=-1, dtype=np.float64)
        total = cum[..., -1]
        u = gen.random(total.shape) * total
        u = np.minimum(u, np.nextafter(total, 0))      # u * total may round up to total
        i = np.minimum((cum <= u[..., None]).sum(axis=-1), k[0] * k[1] - 1)
        y = np.where(total > 0, np.take_along_axis(win, i[..., None], axis=-1)[..., 0], 0)
    y = y.astype(xb.dtype, copy=False)
    return y[0] if single else y
