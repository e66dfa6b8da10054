"""1-D and 2-D convolution and cross-correlation of single-channel signals and images.

True convolution flips the kernel; cross-correlation does not:

    convolve1d:  y[n] = sum_m x[m] k[n - m]
    correlate1d: y[n] = sum_m x[n + m] k[m]

Modes follow `numpy.convolve` / `numpy.correlate` (1-D) and `scipy.signal.convolve2d` /
`correlate2d` (2-D, zero fill):

    "full"   every position where x and k overlap at all      length n + m - 1
    "valid"  only positions where they overlap completely     length max(n, m) - min(n, m) + 1
    "same"   the centre of "full", as long as x (as the longer input in 1-D)

All four are computed the same way: zero-pad x by (m - 1) on each side, take every window of
length m (a strided view, no copy), multiply each window by the (possibly flipped) kernel, and keep
the slice that the mode asks for.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._args import as_float_array, fail, float_dtype

__all__ = ["convolve1d", "correlate1d", "convolve2d", "correlate2d"]

MODES = ("full", "valid", "same")


def _prepare(x, k, ndim, fn, mode):
    if mode not in MODES:
        fail(fn, f"mode must be one of {MODES}, got {mode!r}")
    x = as_float_array(x, "x", fn)
    k = as_float_array(k, "k", fn)
    for name, a in (("x", x), ("k", k)):
        if a.ndim != ndim:
            fail(fn, f"{name} must be {ndim}-D, got shape {a.shape}")
        if a.size == 0:
            fail(fn, f"{name} must not be empty, got shape {a.shape}")
    dt = float_dtype(x, k)
    return x.astype(dt, copy=False), k.astype(dt, copy=False)


def _full_correlation(x, k):
    """Full cross-correlation of n-D arrays: every overlap of x and k, zero fill outside x."""
    x = np.pad(x, [(m - 1, m - 1) for m in k.shape])
    windows = sliding_window_view(x, k.shape)
    axes = tuple(range(k.ndim))
    return np.tensordot(windows, k, axes=(tuple(a + k.ndim for a in axes), axes))


def _crop(full, x_shape, k_shape, mode, same_start):
    """Slice `mode`'s part of the full result, axis by axis."""
    if mode == "full":
        return full
    idx = []
    for n, m in zip(x_shape, k_shape):
        if mode == "valid":
            lo, size = min(n, m) - 1, max(n, m) - min(n, m) + 1
        else:
            lo, size = same_start(n, m), n
        idx.append(slice(lo, lo + size))
    return np.ascontiguousarray(full[tuple(idx)])


def _check_valid_2d(x, k, fn, mode):
    # scipy's rule: in "valid" mode one input must be at least as large as the other on every axis
    if mode == "valid" and not (all(a >= b for a, b in zip(x.shape, k.shape))
                                or all(a <= b for a, b in zip(x.shape, k.shape))):
        fail(fn, f'mode="valid" needs one input at least as large as the other on every axis, '
                 f"got x {x.shape} and k {k.shape}")


def convolve1d(x, k, mode="full"):
    """True 1-D convolution (kernel flipped), as `numpy.convolve(x, k, mode)`.

    x: (n,)   k: (m,)   ->   full (n + m - 1,), valid (max - min + 1,), same (max(n, m),)
    """
    x, k = _prepare(x, k, 1, "convolve1d", mode)
    if len(k) > len(x):  # convolution commutes; numpy returns the same numbers either way
        x, k = k, x
    full = _full_correlation(x, k[::-1])
    return _crop(full, x.shape, k.shape, mode, lambda n, m: (m - 1) // 2)


def correlate1d(x, k, mode="valid"):
    """1-D cross-correlation (no flip), as `numpy.correlate(x, k, mode)`.

    x: (n,)   k: (m,)   ->   valid (max - min + 1,), same (max(n, m),), full (n + m - 1,)
    """
    x, k = _prepare(x, k, 1, "correlate1d", mode)
    if len(k) > len(x):
        # numpy swaps the arguments and reverses the output: correlate(x, k) = correlate(k, x)[::-1]
        full = _full_correlation(k, x)[::-1]
        return np.ascontiguousarray(_crop(full, k.shape, x.shape, mode, lambda n, m: m // 2))
    full = _full_correlation(x, k)
    return _crop(full, x.shape, k.shape, mode, lambda n, m: (m - 1) // 2)


def convolve2d(x, k, mode="valid"):
    """True 2-D convolution (kernel rotated by 180°), as `scipy.signal.convolve2d(x, k, mode)`.

    x: (H, W)   k: (kH, kW)   ->   valid (H - kH + 1, W - kW + 1), same (H, W), full (H + kH - 1, W + kW - 1)
    """
    x, k = _prepare(x, k, 2, "convolve2d", mode)
    _check_valid_2d(x, k, "convolve2d", mode)
    if mode == "valid" and all(a <= b for a, b in zip(x.shape, k.shape)):
        x, k = k, x
    full = _full_correlation(x, k[::-1, ::-1])
    return _crop(full, x.shape, k.shape, mode, lambda n, m: (m - 1) // 2)


def correlate2d(x, k, mode="valid"):
    """2-D cross-correlation (no flip), as `scipy.signal.correlate2d(x, k, mode)`.

    x: (H, W)   k: (kH, kW)   ->   valid (H - kH + 1, W - kW + 1), same (H, W), full (H + kH - 1, W + kW - 1)
    """
    x, k = _prepare(x, k, 2, "correlate2d", mode)
    _check_valid_2d(x, k, "correlate2d", mode)
    if mode == "valid" and all(a <= b for a, b in zip(x.shape, k.shape)) and x.shape != k.shape:
        # scipy swaps the inputs, which turns the correlation around: rotate the result back
        return np.ascontiguousarray(_crop(_full_correlation(k, x), k.shape, x.shape, mode, None)[::-1, ::-1])
    full = _full_correlation(x, k)
    return _crop(full, x.shape, k.shape, mode, lambda n, m: m // 2)
