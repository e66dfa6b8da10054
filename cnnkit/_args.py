"""Argument parsing and validation shared by every backend.

Both `cnnkit.reference` (NumPy) and `cnnkit.torch` accept the same arguments and must reject the
same bad input with the same message, so the rules live here once. Every error is a `ValueError`
that names the function, the argument and the shapes involved.
"""

import numbers

import numpy as np


def fail(fn, message):
    raise ValueError(f"{fn}: {message}")


def is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def tuple_of(value, n, name, fn, minimum):
    """An int or a sequence of `n` ints, each >= `minimum`, as a tuple of `n` ints."""
    if is_int(value):
        out = (int(value),) * n
    else:
        try:
            out = tuple(value)
        except TypeError:
            fail(fn, f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        if len(out) == 1 and n > 1:
            out = out * n
        if len(out) != n or not all(is_int(v) for v in out):
            fail(fn, f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        out = tuple(int(v) for v in out)
    if any(v < minimum for v in out):
        what = "positive" if minimum == 1 else "non-negative"
        fail(fn, f"{name} must be {what}, got {value!r}")
    return out


def pair(value, name, fn, minimum=1):
    """An int v as (v, v), a pair (height, width) as a tuple of two ints: cnnkit's one rule for
    kernel sizes, strides, paddings and dilations (any integer type, any sequence)."""
    return tuple_of(value, 2, name, fn, minimum)


def conv_padding(padding, kernel, stride, dilation, fn):
    """Padding of a convolution as ((before, after), ...) per spatial axis.

    `padding` is an int, a tuple with one int per axis (the same on both sides), "valid" or
    "same". "same" follows PyTorch: total padding dilation*(k-1), the extra pixel of an odd total
    on the far side, and only with stride 1.
    """
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                fail(fn, f'padding="same" needs stride 1, got stride={stride}')
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return tuple(out)
        fail(fn, f'padding must be an int, a tuple, "valid" or "same", got {padding!r}')
    return tuple((p, p) for p in tuple_of(padding, n, "padding", fn, 0))


def output_size(size, kernel, stride, pad, dilation):
    """floor((size + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1"""
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def check_ndim(x, ndim, name, layout, fn):
    if x.ndim != ndim:
        fail(fn, f"{name} must have {ndim} dimensions {layout}, got shape {tuple(x.shape)}")


def check_conv(x, w, b, groups, fn, spatial):
    """Validate x, w, b of a convolution with `spatial` (1 or 2) spatial axes."""
    names = {1: ("(N, C, L)", "(C_out, C_in // groups, kL)"),
             2: ("(N, C, H, W)", "(C_out, C_in // groups, kH, kW)")}[spatial]
    check_ndim(x, spatial + 2, "x", names[0], fn)
    check_ndim(w, spatial + 2, "w", names[1], fn)
    if not is_int(groups) or groups < 1:
        fail(fn, f"groups must be a positive int, got {groups!r}")
    c_in, c_out = x.shape[1], w.shape[0]
    if c_in % groups or c_out % groups:
        fail(fn, f"groups={groups} must divide the input channels ({c_in}) and the output "
                 f"channels ({c_out}); x has shape {tuple(x.shape)}, w has shape {tuple(w.shape)}")
    if w.shape[1] * groups != c_in:
        fail(fn, f"channel mismatch: x has {c_in} channels (shape {tuple(x.shape)}) but w expects "
                 f"{w.shape[1]} x groups={groups} = {w.shape[1] * groups} (shape {tuple(w.shape)})")
    if any(s == 0 for s in w.shape):
        fail(fn, f"w must not be empty, got shape {tuple(w.shape)}")
    if b is not None and tuple(b.shape) != (c_out,):
        fail(fn, f"b must have shape (C_out,) = ({c_out},), got shape {tuple(b.shape)}")


def conv_geometry(x_shape, kernel, stride, padding, dilation, fn):
    """Check that the kernel fits and return (pads, output sizes) for the spatial axes."""
    spatial = x_shape[-len(kernel):]
    pads = conv_padding(padding, kernel, stride, dilation, fn)
    outs = []
    for size, k, s, p, d in zip(spatial, kernel, stride, pads, dilation):
        o = output_size(size, k, s, p, d)
        if o < 1:
            fail(fn, f"kernel (size {tuple(kernel)}, dilation {tuple(dilation)}, effective "
                     f"{tuple(dd * (kk - 1) + 1 for kk, dd in zip(kernel, dilation))}) is larger "
                     f"than the padded input (input shape {tuple(x_shape)}, padding {padding!r})")
        outs.append(o)
    return pads, tuple(outs)


def float_dtype(*arrays):
    """The floating dtype a NumPy result keeps: the inputs' own, float64 for ints and bools."""
    dt = np.result_type(*arrays)
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def as_float_array(x, name, fn, dtype=None):
    """`x` as a floating NumPy array (no copy when it already is one)."""
    try:
        a = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        fail(fn, f"{name} must be array-like, got {type(x).__name__} ({e})")
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        fail(fn, f"{name} must be a numeric array, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.complexfloating):
        fail(fn, f"{name} must be real, got dtype {a.dtype}")
    dt = dtype if dtype is not None else float_dtype(a)
    return a.astype(dt, copy=False)


def pool_size(size, k, s, p, d, ceil_mode):
    """Output length of one pooling axis, PyTorch's rule (ceil mode included)."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    # in ceil mode the last window must still start inside the image or its left padding
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode, fn):
    """Check pooling arguments against an (N, C, H, W) shape.

    Returns (k, s, p, d, out, pads), each a pair but pads, which is ((top, bottom), (left, right)):
    enough padding to hold every window, the far side getting p or, in ceil mode, whatever more
    the last window overhangs. stride defaults to the kernel size.
    """
    k = pair(kernel_size, "kernel_size", fn)
    s = k if stride is None else pair(stride, "stride", fn)
    p = pair(padding, "padding", fn, minimum=0)
    d = pair(dilation, "dilation", fn)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        fail(fn, f"padding {p} must be at most half the kernel size {k}")
    sizes = tuple(shape[-2:])
    out = tuple(pool_size(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip(sizes, k, s, p, d))
    if min(out) < 1:
        eff = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
        fail(fn, f"kernel {k} (dilation {d}, effective {eff}) is larger than the padded input "
                 f"(input shape {tuple(shape)}, padding {p})")
    pads = tuple((pp, max((o - 1) * ss + dd * (kk - 1) + 1 - n - pp, 0))
                 for n, kk, ss, pp, dd, o in zip(sizes, k, s, p, d, out))
    return k, s, p, d, out, pads


def col2im_geometry(cols_shape, output_size, kernel_size, stride, padding, dilation, fn):
    """Check col2im's arguments for cols of shape (N, C*kH*kW, L).

    Returns (C, size, k, s, d, pads, out): channels, image size, kernel, stride, dilation,
    ((top, bottom), (left, right)) padding and the (H_out, W_out) grid of windows.
    """
    size = pair(output_size, "output_size", fn)
    k = pair(kernel_size, "kernel_size", fn)
    s = pair(stride, "stride", fn)
    d = pair(dilation, "dilation", fn)
    N, CK, L = cols_shape
    if CK % (k[0] * k[1]):
        fail(fn, f"cols.shape[-2] = {CK} must be a multiple of kH*kW = {k[0] * k[1]} "
                 f"(cols shape {tuple(cols_shape)}, kernel_size {k})")
    pads, out = conv_geometry((1, 1) + size, k, s, padding, d, fn)
    if L != out[0] * out[1]:
        fail(fn, f"cols has L = {L} columns but output_size {size} with kernel_size {k}, stride {s}, "
                 f"padding {padding!r}, dilation {d} has {out[0]} x {out[1]} = {out[0] * out[1]} windows")
    return CK // (k[0] * k[1]), size, k, s, d, pads, out


def image_shape(input_shape, fn):
    """`input_shape` as a tuple (C_in, H, W) of three positive ints."""
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError):
        fail(fn, f"input_shape must be (C_in, H, W), got {input_shape!r}")
    if len(shape) != 3 or not all(is_int(v) and v > 0 for v in input_shape):
        fail(fn, f"input_shape must be three positive ints (C_in, H, W), got {input_shape!r}")
    return shape
