"""What the pooling functions of assignment 03 share: the window geometry of a case, the cases of max
and average pooling, and the mistakes of the geometry (stride default, overlap, ragged edges, swapped
pairs, lost axes) that any pooling can make.

Cases are (x, kernel_size) or (x, kernel_size, stride), with x (N, C, H, W).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..common import EXAMPLE, F32, F64, SMALL, attempt, draw, dtype_name, image, pool_geometry, pool_label, varied
from ..core import Case, Mistake, off_by_one, value_mistakes

ARGS = ("x", "kernel_size", "stride")


# ----------------------------------------------------------------------------- geometry

def stride_arg(case):
    """The stride a case gives, None when it leaves the argument out."""
    return case.args[2] if len(case.args) > 2 else case.kwargs.get("stride")


def geometry(case):
    """(k, s, (H_out, W_out)) of a pooling case; the stride defaults to the kernel size."""
    return pool_geometry(case.args[0].shape, case.args[1], stride_arg(case))


def windows(x, k, s):
    """The pooling windows of x (N, C, H, W) as (N, C, H_out, W_out, kH*kW), row-major in each window."""
    v = sliding_window_view(x, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]
    return v.reshape(v.shape[:4] + (k[0] * k[1],))


def show(p):
    """A (height, width) pair as people write it: 3 for (3, 3), (2, 3) otherwise."""
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def pool_case(name, x, kernel_size, stride=None, note="", prefix="", **kwargs):
    """A case; stride=None leaves the argument out, so the function's default is what is tested."""
    args = (x, kernel_size) if stride is None else (x, kernel_size, stride)
    return Case(name, args, kwargs, pool_label(x, kernel_size, stride, note, prefix))


# ----------------------------------------------------------------------------- visible cases: max and average

def visible_pool(name):
    c = lambda *a, **kw: pool_case(name, *a, **kw)
    return [c(image(EXAMPLE), 2, 2, note="the 4x4 example, 2x2 windows that tile the image"),
            c(image(EXAMPLE), 2, note="the 4x4 example with the default stride"),
            c(image(SMALL), 3, 1, note="the 5x5 image of small integers, 3x3 windows overlapping by two"),
            c(image(SMALL), 3, 2, note="the 5x5 image of small integers, 3x3 windows overlapping by one"),
            c(image(SMALL), 2, note="the 5x5 image of small integers, 2x2 windows: the last row and column are "
                                    "left over"),
            c(varied((1, 1, 5, 7), 7, 23, 11), 2, 3, note="stride 3 > kernel 2: gaps between windows, a ragged edge"),
            c(varied((2, 3, 4, 4), 7, 23, 11), 2, note="a batch of 2 images with 3 channels"),
            c(varied((1, 2, 4, 6), 7, 23, 11), (2, 3), (2, 1), note="a 2x3 kernel with stride (2, 1)")]


# ----------------------------------------------------------------------------- mistakes of the geometry

def _truncated_pool(x, k, s, out, reduce):
    """What windows at i*s give for an output of size `out` when the slices past the edge are cut short."""
    N, C, H, W = x.shape
    y = np.zeros((N, C) + tuple(out))
    for i in range(out[0]):
        for j in range(out[1]):
            block = x[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
            if block.shape[2] == 0 or block.shape[3] == 0:
                return None
            y[:, :, i, j] = reduce(block, axis=(2, 3))
    return y


def geometry_mistakes(case, ref, pool, reduce):
    """Mistakes of the window geometry (stride default, overlap, ragged edges, pairs, axes), for any pooling.

    `pool(x, kernel_size, stride, **kw)` is the reference pooling of this function (None: only the
    shapes of the mistakes are known), `reduce(block, axis)` what one window is turned into.
    """
    x = case.args[0]
    N, C, H, W = x.shape
    k, s, out = geometry(case)
    given = stride_arg(case) is not None
    found = []

    def both(code, text, value):
        found.extend(value_mistakes(code, text, value, ref.shape))

    def shape_only(code, text, shape):
        if tuple(shape) != ref.shape and min(shape) > 0:
            found.append(Mistake(code, text, shape=tuple(shape)))

    def pooled(*a, **kw):
        return None if pool is None else attempt(pool, x, *a, **kw)

    size_rule = "H_out = floor((H - kH) / sH) + 1, and the same for W"
    if not given and k != (1, 1):
        both("stride_default", "the windows moved by 1: when stride is None (left out) it defaults to the kernel "
                               "size, so the windows tile the image (stride = kernel_size if stride is None)",
             pooled(case.args[1], 1))
    if given and s != k:
        if s[0] < k[0] or s[1] < k[1]:
            both("overlap", f"the windows moved by the kernel size {show(k)}, as if they tiled the image; with "
                            f"stride {show(s)} smaller than the kernel they overlap: window (i, j) starts at "
                            f"(i*sH, j*sW)", pooled(k, k))
        else:
            both("stride_ignored", f"the windows moved by the kernel size {show(k)}; stride {show(s)} leaves gaps "
                                   f"between them: window (i, j) starts at (i*sH, j*sW)", pooled(k, k))
        if s != (1, 1):
            both("stride_ignored", f"the windows moved by 1 pixel; with stride {show(s)} window (i, j) starts at "
                                   f"(i*sH, j*sW)", pooled(k, 1))
    # the number of windows counted as if they tiled the image (only wrong when stride != kernel)
    code = "overlap" if s[0] < k[0] or s[1] < k[1] else "wrong_size"
    for sizes, how in (((H // s[0], W // s[1]), "H // sH windows"), ((H // k[0], W // k[1]), "H // kH windows")):
        if sizes != out:
            text = (f"the output has {how} per axis, as if the windows tiled the image; windows that do not fit "
                    f"are dropped and windows may overlap: {size_rule}")
            value = None
            if reduce is not None and sizes[0] <= out[0] and sizes[1] <= out[1]:
                value = ref[:, :, :sizes[0], :sizes[1]]
            elif reduce is not None:
                value = _truncated_pool(x, k, s, sizes, reduce)
            if value is not None:
                found.append(Mistake(code, text, value=value))
            shape_only(code, text, (N, C) + sizes)
    ceil = tuple(-(-(n - kk) // ss) + 1 for n, kk, ss in zip((H, W), k, s))
    if ceil != out:
        text = (f"the partial windows at the bottom or right edge were kept; pooling drops the rows and columns "
                f"left over there: {size_rule}")
        both("ragged_edges", text, pooled(case.args[1], stride_arg(case), ceil_mode=True))
        shape_only("ragged_edges", text, (N, C) + ceil)
    rest = ((H - k[0]) % s[0], (W - k[1]) % s[1])
    if rest != (0, 0):
        both("ragged_edges", "the left-over rows or columns were dropped at the top or left; the first window starts "
                             "at (0, 0) and what is left over lies at the bottom and right",
             attempt(pool, x[:, :, rest[0]:, rest[1]:], case.args[1], stride_arg(case)) if pool else None)
    if k[0] != k[1] or s[0] != s[1]:
        both("pair_swapped", f"kernel_size or stride was read the wrong way round: a pair is (height, width), "
                             f"kernel_size={case.args[1]} means {k[0]} rows by {k[1]} columns",
             pooled(k[::-1], s[::-1]))
    # channels pooled together, or an axis lost
    together = ("the channels were pooled together; pooling works on each channel of each image separately, "
                "and the output keeps the channel axis: (N, C, H_out, W_out)")
    if C > 1 and reduce is not None:
        whole = reduce(ref, axis=1, keepdims=True)      # the window and every channel at once
        found += [Mistake("wrong_axes", together, value=np.broadcast_to(whole, ref.shape).copy()),
                  Mistake("wrong_axes", together, value=whole), Mistake("wrong_axes", together, value=whole[:, 0])]
    if C > 1:
        shape_only("wrong_axes", together, (N, 1) + out)
        shape_only("wrong_axes", "the channel axis is missing: the output is (N, C, H_out, W_out)", (N,) + out)
    if N == 1:
        found.append(Mistake("wrong_axes", "the batch axis is missing: the output is (N, C, H_out, W_out), even for "
                                           "N = 1", value=ref[0]))
    shape_only("wrong_axes", "the batch axis is missing: the output is (N, C, H_out, W_out)", (C,) + out)
    for m in off_by_one(ref.shape, f"{size_rule}; check the range of your loop"):
        shape_only(m.code, m.text, m.shape)
    return found


# ----------------------------------------------------------------------------- hidden cases, for the grader

POOL_SPECS = [  # (N, C, H, W, kernel_size, stride or None); sizes as (low, high) are drawn
    (1, 1, (4, 9), (4, 9), 2, None),
    ((1, 3), (1, 4), (5, 9), (5, 9), 2, 2),
    (1, 2, (5, 9), (5, 9), 3, 1),
    (2, 1, (6, 10), (6, 10), 3, 2),
    ((1, 3), 3, 7, (7, 10), 3, None),
    (2, 2, (5, 9), (5, 9), 2, 3),
    (1, 3, (4, 8), (5, 9), (2, 3), (1, 2)),
    (1, 2, (5, 8), (4, 7), (3, 2), None),
    (2, 1, (3, 6), (3, 6), 1, None),
    (1, 2, 4, 5, (4, 5), None),
]


def hidden_pool(name, rng, ties):
    """The random pooling cases; with `ties`, half of them hold small integers (repeated maxima)."""
    out = []
    for dt in (F64, F32):
        for i, (N, C, H, W, k, s) in enumerate(POOL_SPECS):
            shape = tuple(draw(rng, v) for v in (N, C, H, W))
            if ties and i % 2 == 0:
                x, note = rng.integers(-4, 5, shape).astype(dt), "small integers, with ties"
            else:
                x, note = rng.standard_normal(shape).astype(dt), ""
            out.append(pool_case(name, x, k, s, note, prefix=f"random {dtype_name(dt)} "))
    return out
