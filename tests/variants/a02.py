"""Assignment 02 in the one checks suite: correct implementations written differently (loops, and
PyTorch), and wrong ones, each with the mistake the checks must name."""

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

ASSIGNMENT = "02"


# ----------------------------------------------------------------------------- helpers of the implementations

def as_pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(u) for u in v)


def four_sides(padding):
    """(left, right, top, bottom) of pad2d's padding."""
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * 4
    if len(padding) == 2:
        return padding[1], padding[1], padding[0], padding[0]
    return tuple(padding)


def conv_pads(padding, k, d):
    """((top, bottom), (left, right)) of a convolution's padding: int, pair, "valid" or "same"."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        totals = [dd * (kk - 1) for kk, dd in zip(k, d)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = as_pair(padding)
    return (ph, ph), (pw, pw)


def _conv2d(*args, **kwargs):
    """F.conv2d, quiet about "same" padding of an even kernel copying the input (no problem here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using padding='same'")
        return F.conv2d(*args, **kwargs)


# ----------------------------------------------------------------------------- correct, written differently

def pad2d_slices(x, padding):
    left, right, top, bottom = four_sides(padding)
    H, W = x.shape[-2:]
    y = np.zeros(x.shape[:-2] + (H + top + bottom, W + left + right), dtype=x.dtype)
    y[..., top:top + H, left:left + W] = x
    return y


def pad2d_torch(x, padding):
    return F.pad(torch.from_numpy(x), four_sides(padding)).numpy()


def size_count(size, kernel_size, stride=1, padding=0, dilation=1):
    """Count the window starts one by one: 0, s, 2s, ... while the dilated kernel still fits."""
    if not isinstance(size, (int, np.integer)):
        per = lambda v: (v, v) if isinstance(v, (int, np.integer, str)) else v
        return tuple(size_count(*a) for a in zip(size, per(kernel_size), per(stride), per(padding), per(dilation)))
    if padding == "same":
        return size
    pad = 0 if padding == "valid" else padding
    span = dilation * (kernel_size - 1) + 1
    count, start = 0, 0
    while start + span <= size + 2 * pad:
        count, start = count + 1, start + stride
    return count


def size_torch(size, kernel_size, stride=1, padding=0, dilation=1):
    """The output size PyTorch's own convolution gives a zero image of that size."""
    pair = not isinstance(size, (int, np.integer))
    H, W = size if pair else (1, size)
    k = kernel_size if pair else (1, kernel_size)
    s = stride if pair or isinstance(stride, tuple) else (1, stride)
    p = padding if pair or isinstance(padding, str) else (0, padding)
    d = dilation if pair else (1, dilation)
    y = _conv2d(torch.zeros(1, 1, H, W), torch.zeros(1, 1, *as_pair(k)), stride=s, padding=p, dilation=d)
    return tuple(y.shape[2:]) if pair else int(y.shape[3])


def conv2d_loops(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    Co, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = as_pair(stride), as_pair(dilation)
    (t, bt), (l, r) = conv_pads(padding, (kh, kw), (dh, dw))
    xp = np.zeros((N, C, H + t + bt, W + l + r), dtype=x.dtype)
    xp[:, :, t:t + H, l:l + W] = x
    Ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, Co, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            field = xp[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
            y[:, :, i, j] = np.tensordot(field, w, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv2d_torch(x, w, b=None, stride=1, padding=0, dilation=1):
    t = torch.from_numpy
    return _conv2d(t(x), t(w), None if b is None else t(b), stride=stride, padding=padding, dilation=dilation).numpy()


LOOPS = {"pad2d": pad2d_slices, "conv_output_size": size_count, "conv2d": conv2d_loops}
TORCH = {"pad2d": pad2d_torch, "conv_output_size": size_torch, "conv2d": conv2d_torch}
CORRECT = {name: [LOOPS[name], TORCH[name]] for name in LOOPS}


# ----------------------------------------------------------------------------- wrong, each with its mistake

# pad2d: each mistake is a different placement of the zeros

def pad_first_axes(x, padding):
    left, right, top, bottom = four_sides(padding)
    return np.pad(x, [(top, bottom), (left, right)] + [(0, 0)] * (x.ndim - 2))


def pad_batch_too(x, padding):
    left, right, top, bottom = four_sides(padding)
    return np.pad(x, [(top, bottom)] + [(0, 0)] * (x.ndim - 3) + [(top, bottom), (left, right)]) if x.ndim > 2 \
        else pad2d_slices(x, padding)


def pad_hw_swapped(x, padding):
    left, right, top, bottom = four_sides(padding)
    return pad2d_slices(x, (top, bottom, left, right))


def pad_tbrl(x, padding):
    """Four sides read as (top, bottom, left, right)."""
    if isinstance(padding, tuple) and len(padding) == 4:
        t, b, l, r = padding
        return pad2d_slices(x, (l, r, t, b))
    return pad2d_slices(x, padding)


def pad_before_only(x, padding):
    left, right, top, bottom = four_sides(padding)
    return pad2d_slices(x, (left, 0, top, 0))


def pad_edge(x, padding):
    left, right, top, bottom = four_sides(padding)
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)], mode="edge")


# conv_output_size: the formula with one thing wrong, per axis

def size_with(rule):
    def size(size, kernel_size, stride=1, padding=0, dilation=1):
        if not isinstance(size, int):
            per = lambda v: (v, v) if isinstance(v, (int, str)) else v
            return tuple(size_with(rule)(*a) for a in zip(size, per(kernel_size), per(stride), per(padding),
                                                           per(dilation)))
        total = {"valid": 0, "same": dilation * (kernel_size - 1)}.get(padding, None)
        total = 2 * padding if total is None else total
        return rule(size, kernel_size, stride, total, dilation, padding)
    return size


SIZE_WRONG = {
    "ceil": lambda n, k, s, P, d, m: math.ceil((n + P - d * (k - 1) - 1) / s) + 1,
    "true_division": lambda n, k, s, P, d, m: (n + P - d * (k - 1) - 1) / s + 1,
    "no_plus_one": lambda n, k, s, P, d, m: (n + P - d * (k - 1) - 1) // s,
    "padding_once": lambda n, k, s, P, d, m: (n + P // 2 - d * (k - 1) - 1) // s + 1,
    "dilation_times_k": lambda n, k, s, P, d, m: (n + P - d * k) // s + 1,
    "dilation_ignored": lambda n, k, s, P, d, m: (n + P - k) // s + 1,
    "stride_ignored": lambda n, k, s, P, d, m: n + P - d * (k - 1),
    "same_half_kernel": lambda n, k, s, P, d, m: (n + 2 * (k // 2 if m == "same" else P // 2) - d * (k - 1) - 1) // s + 1,
}


# conv2d: the loops of a student, with one thing wrong

def conv_student(index=None, pads=None, size=None, pad_all_axes=False, flip=False, bias=True):
    """A loop implementation; `index(i, p, s, d)` is the input row/column read by output i, tap p."""
    index = index or (lambda i, p, s, d: i * s + p * d)

    def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
        N, C, H, W = x.shape
        Co, _, kh, kw = w.shape
        s, d = as_pair(stride), as_pair(dilation)
        (t, bt), (l, r) = (pads or conv_pads)(padding, (kh, kw), d)
        if pad_all_axes:
            xp = np.pad(x, padding)   # pads the batch and channel axes too
        else:
            xp = np.pad(x, ((0, 0), (0, 0), (t, bt), (l, r)))
        Ho, Wo = (size or (lambda n, k, ss, dd: (n - dd * (k - 1) - 1) // ss + 1))(H + t + bt, kh, s[0], d[0]), \
                 (size or (lambda n, k, ss, dd: (n - dd * (k - 1) - 1) // ss + 1))(W + l + r, kw, s[1], d[1])
        ww = w[:, :, ::-1, ::-1] if flip else w
        y = np.zeros((N, Co, Ho, Wo), dtype=x.dtype)
        for n in range(N):
            for o in range(Co):
                for i in range(Ho):
                    for j in range(Wo):
                        acc = 0.0
                        for c in range(C):
                            for p in range(kh):
                                for q in range(kw):
                                    acc += xp[n, c, index(i, p, s[0], d[0]), index(j, q, s[1], d[1])] * ww[o, c, p, q]
                        y[n, o, i, j] = acc + (b[o] if b is not None and bias else 0)
        return y
    return conv2d


def same_extra_first(padding, k, d):
    if padding == "same":
        return tuple((t - t // 2, t // 2) for t in (dd * (kk - 1) for kk, dd in zip(k, d)))
    return conv_pads(padding, k, d)


def no_padding(padding, k, d):
    return (0, 0), (0, 0)


def ceil_size(n, k, s, d):
    return -(-(n - d * (k - 1) - 1) // s) + 1


def conv_ceil_shape(x, w, b=None, stride=1, padding=0, dilation=1):
    """The right values in an output rounded up in size (the extra row / column left at zero)."""
    y = conv2d_loops(x, w, b, stride, padding, dilation)
    (t, bt), (l, r) = conv_pads(padding, w.shape[2:], as_pair(dilation))
    s, d = as_pair(stride), as_pair(dilation)
    Hc = ceil_size(x.shape[2] + t + bt, w.shape[2], s[0], d[0])
    Wc = ceil_size(x.shape[3] + l + r, w.shape[3], s[1], d[1])
    return np.pad(y, ((0, 0), (0, 0), (0, Hc - y.shape[2]), (0, Wc - y.shape[3])))


def conv_bias_on_height(x, w, b=None, **kw):
    y = conv2d_loops(x, w, None, **kw)
    return y if b is None else y + b[:, None]


def conv_modifies_x(x, w, b=None, **kw):
    y = conv2d_loops(x, w, b, **kw)
    x *= 2
    return y


WRONG = [
    ("pad2d", pad_first_axes, "pad_wrong_axes", "first two axes"),
    ("pad2d", lambda x, p: np.pad(x, p), "pad_wrong_axes", "every axis"),
    ("pad2d", pad_batch_too, "pad_wrong_axes", "batch axis (axis 0)"),
    ("pad2d", pad_hw_swapped, "pad_wrong_sides", "swapped"),
    ("pad2d", pad_tbrl, "pad_wrong_sides", "(left, right, top, bottom)"),
    ("pad2d", pad_before_only, "pad_wrong_sides", "only the top and left"),
    ("pad2d", pad_edge, "pad_value", "edge pixels"),
    ("conv_output_size", size_with(SIZE_WRONG["ceil"]), "floor_vs_ceil", "rounded up"),
    ("conv_output_size", size_with(SIZE_WRONG["true_division"]), "floor_vs_ceil", "not rounded"),
    ("conv_output_size", size_with(SIZE_WRONG["no_plus_one"]), "wrong_size", "+ 1 is missing"),
    ("conv_output_size", size_with(SIZE_WRONG["padding_once"]), "padding_once", "both sides"),
    ("conv_output_size", size_with(SIZE_WRONG["dilation_times_k"]), "dilation_off_by_one", "dilation*kernel_size"),
    ("conv_output_size", size_with(SIZE_WRONG["dilation_ignored"]), "dilation_ignored", "dilation was left out"),
    ("conv_output_size", size_with(SIZE_WRONG["stride_ignored"]), "stride_ignored", "stride was left out"),
    ("conv_output_size", size_with(SIZE_WRONG["same_half_kernel"]), "same_padding", "'same'"),
    ("conv2d", conv_student(flip=True), "flipped_kernel", "cross-correlation"),
    ("conv2d", conv_student(bias=False), "bias_missing", "bias"),
    ("conv2d", conv_bias_on_height, "bias_wrong_axis", "height"),
    ("conv2d", conv_student(pad_all_axes=True), "pad_wrong_axes", "batch and channel axes were padded too"),
    ("conv2d", conv_student(pads=same_extra_first), "same_padding", "bottom / right"),
    ("conv2d", conv_student(pads=no_padding), "padding_ignored", "padding was left out"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i + p * d * s), "stride_on_kernel", "instead of the output"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i + p * d), "stride_ignored", "one pixel at a time"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i * s + p * (d + 1),
                            size=lambda n, k, s, d: (n - (d + 1) * (k - 1) - 1) // s + 1),
     "dilation_off_by_one", "dilation + 1"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i * s + p), "dilation_ignored", "dilation was left out"),
    ("conv2d", conv_ceil_shape, "floor_vs_ceil", "rounded up"),
    ("conv2d", conv_modifies_x, "input_modified", "in place"),
]

# conv2d's mistakes are named on the hidden cases too
WRONG_HIDDEN = ("conv2d",)
FLOAT64_FOR_FLOAT32 = ("pad2d", "conv2d")
