"""Variants of the convolution: unshared and tiled weights, the FFT, separable and Gabor kernels.

A convolution layer shares one kernel across every output position. Relaxing or exploiting
that structure gives the variants of the lectures:

- locally connected layer: a different kernel at every output position (no sharing at all);
- tiled convolution: tH x tW kernels that take turns across the positions (partial sharing);
- convolution through the FFT: the correlation theorem turns the sum over kernel offsets into a
  product of spectra, which pays off for large kernels;
- separable kernels: a rank-one kernel k = v h^T is a column filter followed by a row filter,
  kH + kW multiplications per pixel instead of kH * kW;
- Gabor kernels: oriented band-pass filters that resemble the first-layer filters CNNs learn.

Layout is channels-first, "convolution" is cross-correlation, as everywhere in cnnkit.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._args import (as_float_array, check_conv, check_ndim, conv_geometry, fail, float_dtype,
                     is_int, pair)

__all__ = ["locally_connected2d", "tiled_conv2d", "fft_conv2d", "separable_factors", "gabor_kernel"]


def _patches(x, kernel, stride, out):
    """The receptive field of every output position: (N, C, H_out, W_out, kH, kW), a view."""
    v = sliding_window_view(x, kernel, axis=(2, 3))
    return v[:, :, :(out[0] - 1) * stride[0] + 1:stride[0], :(out[1] - 1) * stride[1] + 1:stride[1]]


def _unshared_geometry(x, w, stride, fn, wname, tiled):
    """Validate x (N, C_in, H, W) against w (P, Q, C_out, C_in, kH, kW); return (stride, out)."""
    check_ndim(x, 4, "x", "(N, C_in, H, W)", fn)
    layout = "(tH, tW, C_out, C_in, kH, kW)" if tiled else "(H_out, W_out, C_out, C_in, kH, kW)"
    check_ndim(w, 6, wname, layout, fn)
    s = pair(stride, "stride", fn)
    if w.shape[3] != x.shape[1]:
        fail(fn, f"channel mismatch: x has {x.shape[1]} channels (shape {tuple(x.shape)}) but w "
                 f"expects {w.shape[3]} (shape {tuple(w.shape)})")
    if 0 in w.shape:
        fail(fn, f"w must not be empty, got shape {tuple(w.shape)}")
    _, out = conv_geometry(x.shape, w.shape[4:], s, 0, (1, 1), fn)
    return s, out


def locally_connected2d(x, w, b=None, stride=1):
    """Locally connected layer: a convolution whose kernel differs at every output position.

    y[n, o, i, j] = b[o, i, j] + sum_{c, a, b'} w[i, j, o, c, a, b'] * x[n, c, i*sH + a, j*sW + b']

    The same receptive fields as conv2d (no padding), but H_out * W_out times the parameters.

    x: (N, C_in, H, W); w: (H_out, W_out, C_out, C_in, kH, kW); b: (C_out, H_out, W_out) or None
    stride: int or pair
    Returns y: (N, C_out, H_out, W_out).
    """
    fn = "locally_connected2d"
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    s, out = _unshared_geometry(x, w, stride, fn, "w", tiled=False)
    if w.shape[:2] != out:
        fail(fn, f"w must have one kernel per output position: w.shape[:2] must be (H_out, W_out) "
                 f"= {out} for x {tuple(x.shape)}, kernel {w.shape[4:]} and stride {s}, "
                 f"got w of shape {tuple(w.shape)}")
    arrays = [x, w]
    if b is not None:
        b = as_float_array(b, "b", fn)
        expected = (w.shape[2],) + out
        if b.shape != expected:
            fail(fn, f"b must have shape (C_out, H_out, W_out) = {expected}, "
                     f"got shape {tuple(b.shape)}")
        arrays.append(b)
    dt = float_dtype(*arrays)
    p = _patches(x.astype(dt, copy=False), w.shape[4:], s, out)
    y = np.einsum("ncijab,ijocab->noij", p, w.astype(dt, copy=False), optimize=True)
    if b is not None:
        y += b.astype(dt, copy=False)
    return y


def tiled_conv2d(x, w, b=None, stride=1):
    """Tiled convolution: tH x tW kernels used in turn across the output positions.

    y[n, o, i, j] = b[o] + sum_{c, a, b'} w[i % tH, j % tW, o, c, a, b'] * x[n, c, i*sH + a, j*sW + b']

    tH = tW = 1 is an ordinary convolution, tH = H_out and tW = W_out a locally connected layer.
    Each of the tH*tW kernels is applied to the output positions of its own residue class, a
    strided subset of the receptive fields.

    x: (N, C_in, H, W); w: (tH, tW, C_out, C_in, kH, kW); b: (C_out,) or None; stride: int or pair
    Returns y: (N, C_out, H_out, W_out).
    """
    fn = "tiled_conv2d"
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    s, out = _unshared_geometry(x, w, stride, fn, "w", tiled=True)
    c_out = w.shape[2]
    arrays = [x, w]
    if b is not None:
        b = as_float_array(b, "b", fn)
        if b.shape != (c_out,):
            fail(fn, f"b must have shape (C_out,) = ({c_out},), got shape {tuple(b.shape)}")
        arrays.append(b)
    dt = float_dtype(*arrays)
    p = _patches(x.astype(dt, copy=False), w.shape[4:], s, out)
    w = w.astype(dt, copy=False)
    th, tw = w.shape[:2]
    y = np.zeros((x.shape[0], c_out) + out, dtype=dt)
    for ti in range(min(th, out[0])):
        for tj in range(min(tw, out[1])):
            y[:, :, ti::th, tj::tw] = np.einsum("ncijab,ocab->noij", p[:, :, ti::th, tj::tw],
                                                w[ti, tj], optimize=True)
    if b is not None:
        y += b.astype(dt, copy=False).reshape(1, c_out, 1, 1)
    return y


def fft_conv2d(x, w, b=None, padding=0):
    """conv2d (stride 1, cross-correlation) computed through the FFT.

    Correlation theorem: the circular cross-correlation of x and w has the spectrum
    X * conj(W). With both zero-padded to the padded input size (Hp, Wp), the circular result
    at (i, j) equals the linear one for i <= Hp - kH and j <= Wp - kW (no wrap-around), which
    are exactly the H_out x W_out outputs of a "valid" correlation:
        y[n, o] = b[o] + sum_c irfft2( rfft2(x_pad[n, c]) * conj(rfft2(w[o, c], (Hp, Wp))) )[:H_out, :W_out]
    Cost O(N C_in C_out Hp Wp log(Hp Wp)), independent of the kernel size. The transforms run in
    float64 (round-off scales with the largest values of the image, not with each output), and
    the result is cast back to the input's dtype.

    x: (N, C_in, H, W); w: (C_out, C_in, kH, kW); b: (C_out,) or None
    padding: int, pair, "valid" or "same" (as conv2d)
    Returns y: (N, C_out, H_out, W_out), equal to conv2d(x, w, b, padding=padding) up to round-off.
    """
    fn = "fft_conv2d"
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    if b is not None:
        b = as_float_array(b, "b", fn)
    check_conv(x, w, b, 1, fn, 2)
    k = w.shape[2:]
    pads, out = conv_geometry(x.shape, k, (1, 1), padding, (1, 1), fn)
    dt = float_dtype(*[a for a in (x, w, b) if a is not None])
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0)) + pads)
    shape = xp.shape[2:]
    spec_x = np.fft.rfft2(xp, s=shape)                  # (N, C_in, Hp, Wp//2 + 1)
    spec_w = np.fft.rfft2(w.astype(np.float64), s=shape)  # (C_out, C_in, Hp, Wp//2 + 1)
    spec_y = np.einsum("nchw,ochw->nohw", spec_x, np.conj(spec_w), optimize=True)
    y = np.fft.irfft2(spec_y, s=shape)[:, :, :out[0], :out[1]]
    if b is not None:
        y = y + b.astype(np.float64).reshape(1, -1, 1, 1)
    return np.ascontiguousarray(y, dtype=dt)


def separable_factors(k, tol=1e-10):
    """Factor a rank-one 2-D kernel as k = outer(v, h), or return None.

    SVD k = U diag(s) V^T: k has rank one when every singular value after the first is at most
    tol * s[0]; then v = sqrt(s[0]) U[:, 0] and h = sqrt(s[0]) V[0] (the scale split evenly, the
    sign chosen so that the largest entry of v in magnitude is positive). Correlating with k
    then equals correlating the columns with v and the rows with h. The zero kernel factors as
    two zero vectors.

    k: (kH, kW); tol: relative tolerance on the singular values (>= 0)
    Returns (v, h): (kH,) and (kW,), or None when k is not rank one.
    """
    fn = "separable_factors"
    k = as_float_array(k, "k", fn)
    check_ndim(k, 2, "k", "(kH, kW)", fn)
    if k.size == 0:
        fail(fn, f"k must not be empty, got shape {tuple(k.shape)}")
    if not np.all(np.isfinite(k)):
        fail(fn, f"k must be finite, got non-finite entries in shape {tuple(k.shape)}")
    if not tol >= 0:
        fail(fn, f"tol must be non-negative, got {tol!r}")
    u, s, vt = np.linalg.svd(k.astype(np.float64))
    if s[0] == 0:
        return np.zeros(k.shape[0], k.dtype), np.zeros(k.shape[1], k.dtype)
    if np.any(s[1:] > tol * s[0]):
        return None
    v = np.sqrt(s[0]) * u[:, 0]
    h = np.sqrt(s[0]) * vt[0]
    if v[np.argmax(np.abs(v))] < 0:
        v, h = -v, -h
    return v.astype(k.dtype), h.astype(k.dtype)


def gabor_kernel(size, alpha=1.0, beta_x=None, beta_y=None, f=None, phi=0.0, tau=0.0, x0=0.0,
                 y0=0.0):
    """A Gabor kernel: a cosine carrier under a Gaussian envelope, rotated by tau.

    g(x, y) = alpha * exp(-beta_x x'^2 - beta_y y'^2) * cos(f x' + phi)
    x' = (x - x0) cos(tau) + (y - y0) sin(tau),  y' = -(x - x0) sin(tau) + (y - y0) cos(tau)

    on the size x size grid x, y in arange(size) - (size - 1)/2 (centred on 0; rows are y,
    columns are x). tau turns the carrier: tau = 0 stripes are vertical (they vary along x).

    Defaults, chosen so the kernel fills its grid at any size:
        beta_x = beta_y = 1 / (2 sigma^2) with sigma = size / 4  (the envelope falls to
                          exp(-2) ~ 0.14 at the border of the grid)
        f = 2 pi / lambda with wavelength lambda = max(size / 2, 2) pixels (two periods across
                          the grid, never finer than the 2-pixel Nyquist limit)

    size: positive int; alpha: amplitude; beta_x, beta_y: envelope widths (1/pixels^2);
    f: angular frequency (radians per pixel); phi: phase; tau: orientation (radians);
    x0, y0: centre offset (pixels)
    Returns g: (size, size), float64.
    """
    fn = "gabor_kernel"
    if not is_int(size) or size < 1:
        fail(fn, f"size must be a positive int, got {size!r}")
    sigma = size / 4
    if beta_x is None:
        beta_x = 1 / (2 * sigma ** 2)
    if beta_y is None:
        beta_y = 1 / (2 * sigma ** 2)
    if f is None:
        f = 2 * np.pi / max(size / 2, 2)
    c = np.arange(size) - (size - 1) / 2
    x, y = np.meshgrid(c, c)               # x varies along columns, y along rows
    dx, dy = x - x0, y - y0
    xr = dx * np.cos(tau) + dy * np.sin(tau)
    yr = -dx * np.sin(tau) + dy * np.cos(tau)
    return alpha * np.exp(-beta_x * xr ** 2 - beta_y * yr ** 2) * np.cos(f * xr + phi)
