"""Assignment 03: pooling — max, max with indices, average, global average and stochastic.

Graded: max_pool2d(x, kernel_size, stride=None), max_pool2d_with_indices(x, kernel_size, stride=None),
avg_pool2d(x, kernel_size, stride=None), global_avg_pool2d(x),
stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None).

x is a batch (N, C, H, W); kernel_size and stride are an int or a pair (kH, kW); the stride
defaults to the kernel size; windows that do not fit at the bottom and right edges are dropped
(H_out = floor((H - kH) / sH) + 1). Visible cases are small and hand-readable: the 4x4 example,
a 5x5 image of small integers (with ties), overlapping and ragged windows, the default stride. Hidden
cases are random, float32 and float64, with integer-valued inputs (ties) for max pooling.

Two functions bring a judge of their own:
- max_pool2d_with_indices returns a pair (values, indices); the values are judged as max_pool2d's
  output, the indices (PyTorch's flat index h * W + w into each input plane) exactly.
- stochastic_pool2d in training mode draws a random sample, so it is judged by what every correct
  sampler does: each output is a value of its own window that has a non-zero probability (a window
  of zeros gives 0, a constant window its value, a window with one positive value that value), and
  over thousands of windows the values are drawn as often as their probabilities a_i / sum_j a_j
  say (a z-test at 6 standard deviations). In evaluation mode the output is exact.
"""

import copy
from dataclasses import replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import reference as R
from .core import (Case, Graded, Mistake, Verdict, default_judge, expected, fmt, heading, off_by_one,
                   register, tolerances, value_mistakes, _as_plain, _case_dtype, _fail, _modified_inputs,
                   _to_float)

ASSIGNMENT = "03"
FUNCTIONS = ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "global_avg_pool2d", "stochastic_pool2d")

_F64, _F32 = np.float64, np.float32
_ARGS = ("x", "kernel_size", "stride")

# windows needed before the sampling frequencies of stochastic pooling are tested, and how many
# standard deviations from the expected mean count as wrong (a false alarm about once in 10^9 runs)
_MIN_WINDOWS, _Z_LIMIT = 400, 6.0


# ----------------------------------------------------------------------------- fixed inputs

# the 4x4 example of the lectures: 2x2 max pooling with stride 2 gives [[6, 8], [3, 4]]
EXAMPLE = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=_F64)
# a 5x5 image of small integers: some windows hold their maximum twice (ties), two pixels are 0,
# and every way of pooling it (3x3 overlapping, 2x2 with a row and a column left over) gives
# outputs that differ from window to window
SMALL = np.array([[9, 6, 0, 0, 6], [1, 8, 3, 3, 7], [8, 1, 2, 2, 3], [8, 6, 5, 1, 4], [1, 3, 5, 2, 4]], dtype=_F64)


def _img(a):
    return np.asarray(a, dtype=_F64).reshape((1, 1) + np.shape(a))


def _mixed(shape, mult=7, mod=23):
    """Distinct-looking small integers without a period that lines up with a window."""
    return (np.arange(int(np.prod(shape))) * mult % mod - mod // 2).astype(_F64).reshape(shape)


# ----------------------------------------------------------------------------- geometry

def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _stride_arg(case):
    return case.args[2] if len(case.args) > 2 else case.kwargs.get("stride")


def _geometry(case):
    """(k, s, (H_out, W_out)) of a pooling case; the stride defaults to the kernel size."""
    x = case.args[0]
    k = _pair(case.args[1])
    stride = _stride_arg(case)
    s = k if stride is None else _pair(stride)
    out = tuple((n - kk) // ss + 1 for n, kk, ss in zip(x.shape[2:], k, s))
    return k, s, out


def _windows(x, k, s):
    """The pooling windows of x (N, C, H, W) as (N, C, H_out, W_out, kH*kW), row-major in each window."""
    v = sliding_window_view(x, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]
    return v.reshape(v.shape[:4] + (k[0] * k[1],))


def _try(fn, *args, **kwargs):
    try:
        return np.asarray(fn(*args, **kwargs))
    except Exception:  # a mistake that the reference cannot even form (a kernel too large) is skipped
        return None


def _show(p):
    """A (height, width) pair as people write it: 3 for (3, 3), (2, 3) otherwise."""
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def _fmt_k(v):
    return "omitted" if v is None else str(v).replace(" ", "")


def _label(x, kernel_size, stride=None, note="", prefix=""):
    what = f"{prefix}x of shape {x.shape}, kernel_size={_fmt_k(kernel_size)}"
    what += f", stride={_fmt_k(stride)}" if stride is not None else ", stride omitted (default: the kernel size)"
    return what + (f" ({note})" if note else "")


def _pool_case(name, x, kernel_size, stride=None, note="", prefix="", **kwargs):
    """A case; stride=None leaves the argument out, so the function's default is what is tested."""
    args = (x, kernel_size) if stride is None else (x, kernel_size, stride)
    return Case(name, args, kwargs, _label(x, kernel_size, stride, note, prefix))


# ----------------------------------------------------------------------------- cases: max and average

def _visible_pool(name):
    c = lambda *a, **kw: _pool_case(name, *a, **kw)
    out = [c(_img(EXAMPLE), 2, 2, note="the 4x4 example, 2x2 windows that tile the image"),
           c(_img(EXAMPLE), 2, note="the 4x4 example with the default stride"),
           c(_img(SMALL), 3, 1, note="the 5x5 image of small integers, 3x3 windows overlapping by two"),
           c(_img(SMALL), 3, 2, note="the 5x5 image of small integers, 3x3 windows overlapping by one"),
           c(_img(SMALL), 2, note="the 5x5 image of small integers, 2x2 windows: the last row and column are "
                                  "left over"),
           c(_mixed((1, 1, 5, 7)), 2, 3, note="stride 3 > kernel 2: gaps between windows, a ragged edge"),
           c(_mixed((2, 3, 4, 4)), 2, note="a batch of 2 images with 3 channels"),
           c(_mixed((1, 2, 4, 6)), (2, 3), (2, 1), note="a 2x3 kernel with stride (2, 1)")]
    return out


_POOL_SPECS = [  # (N, C, H, W, kernel_size, stride or None); sizes as (low, high) are drawn
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


def _draw(rng, v):
    return int(rng.integers(v[0], v[1])) if isinstance(v, tuple) else v


def _hidden_pool(name, rng, ties):
    """The random pooling cases; with `ties`, half of them hold small integers (repeated maxima)."""
    out = []
    for dt in (_F64, _F32):
        for i, (N, C, H, W, k, s) in enumerate(_POOL_SPECS):
            shape = tuple(_draw(rng, v) for v in (N, C, H, W))
            if ties and i % 2 == 0:
                x, note = rng.integers(-4, 5, shape).astype(dt), "small integers, with ties"
            else:
                x, note = rng.standard_normal(shape).astype(dt), ""
            out.append(_pool_case(name, x, k, s, note, prefix=f"random {np.dtype(dt).name} "))
    return out


# ----------------------------------------------------------------------------- mistakes: max and average

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


def _geometry_mistakes(case, ref, pool, reduce):
    """Mistakes of the window geometry (stride default, overlap, ragged edges, pairs, axes), for any pooling.

    `pool(x, kernel_size, stride, **kw)` is the reference pooling of this function (None: only the
    shapes of the mistakes are known), `reduce(block, axis)` what one window is turned into.
    """
    x = case.args[0]
    N, C, H, W = x.shape
    k, s, out = _geometry(case)
    given = _stride_arg(case) is not None
    found = []

    def both(code, text, value):
        found.extend(value_mistakes(code, text, value, ref.shape))

    def shape_only(code, text, shape):
        if tuple(shape) != ref.shape and min(shape) > 0:
            found.append(Mistake(code, text, shape=tuple(shape)))

    def pooled(*a, **kw):
        return None if pool is None else _try(pool, x, *a, **kw)

    size_rule = "H_out = floor((H - kH) / sH) + 1, and the same for W"
    if not given and k != (1, 1):
        both("stride_default", "the windows moved by 1: when stride is None (left out) it defaults to the kernel "
                               "size, so the windows tile the image (stride = kernel_size if stride is None)",
             pooled(case.args[1], 1))
    if given and s != k:
        if s[0] < k[0] or s[1] < k[1]:
            both("overlap", f"the windows moved by the kernel size {_show(k)}, as if they tiled the image; with "
                            f"stride {_show(s)} smaller than the kernel they overlap: window (i, j) starts at "
                            f"(i*sH, j*sW)", pooled(k, k))
        else:
            both("stride_ignored", f"the windows moved by the kernel size {_show(k)}; stride {_show(s)} leaves gaps "
                                   f"between them: window (i, j) starts at (i*sH, j*sW)", pooled(k, k))
        if s != (1, 1):
            both("stride_ignored", f"the windows moved by 1 pixel; with stride {_show(s)} window (i, j) starts at "
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
        both("ragged_edges", text, pooled(case.args[1], _stride_arg(case), ceil_mode=True))
        shape_only("ragged_edges", text, (N, C) + ceil)
    rest = ((H - k[0]) % s[0], (W - k[1]) % s[1])
    if rest != (0, 0):
        both("ragged_edges", "the left-over rows or columns were dropped at the top or left; the first window starts "
                             "at (0, 0) and what is left over lies at the bottom and right",
             _try(pool, x[:, :, rest[0]:, rest[1]:], case.args[1], _stride_arg(case)) if pool else None)
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


def _max_mistakes(case, ref):
    x = case.args[0]
    found = _geometry_mistakes(case, ref, R.max_pool2d, np.max)
    k, s, _ = _geometry(case)
    found.append(Mistake("wrong_reduction", "this is the smallest value of each window; max pooling keeps the largest",
                         value=-R.max_pool2d(-x, k, s)))
    found.append(Mistake("wrong_reduction", "this is the average of each window (average pooling); max pooling keeps "
                                            "the largest value", value=R.avg_pool2d(x, k, s)))
    found.append(Mistake("wrong_reduction", "this is the largest absolute value; max pooling keeps the largest value, "
                                            "sign included", value=R.max_pool2d(np.abs(x), k, s)))
    return found


def _avg_mistakes(case, ref):
    x = case.args[0]
    k, s, _ = _geometry(case)
    n = k[0] * k[1]
    found = [Mistake("avg_sum", f"this is the sum of each window; the average divides it by the number of pixels "
                                f"kH*kW = {n}", value=ref * n)]
    if k[0] != n:
        found.append(Mistake("avg_divisor", f"the sums were divided by {k[0]} (the kernel's side), not by the "
                                            f"number of pixels in the window, kH*kW = {n}", value=ref * n / k[0]))
    found += _geometry_mistakes(case, ref, R.avg_pool2d, np.mean)
    found.append(Mistake("wrong_reduction", "this is the largest value of each window (max pooling); average pooling "
                                            "takes the mean", value=R.max_pool2d(x, k, s)))
    return found


# ----------------------------------------------------------------------------- max_pool2d_with_indices

def _with_indices(x, kernel_size, stride=None):
    return R.max_pool2d(x, kernel_size, stride, return_indices=True)


def _index_mistakes(case, ref):
    """Wrong index conventions, each computed from the reference's (row, column) of the maxima."""
    x = case.args[0]
    N, C, H, W = x.shape
    k, s, out = _geometry(case)
    win = _windows(x, k, s)
    a = np.argmax(win, axis=-1)                              # index inside the window, row-major
    rows = np.arange(out[0])[:, None] * s[0] + a // k[1]    # rows and columns in the plane
    cols = np.arange(out[1])[None, :] * s[1] + a % k[1]
    found = [Mistake("indices_origin", "the indices count inside each window (0 .. kH*kW - 1); they are positions in "
                                       "the whole input plane, counted from its top-left corner: row * W + col",
                     value=a),
             Mistake("indices_origin", "the indices are relative to each window's top-left corner; they are counted "
                                       "from the plane's origin (0, 0): add the window's start (i*sH, j*sW) to the "
                                       "row and column before flattening", value=(a // k[1]) * W + a % k[1])]
    if N * C > 1:
        plane = (np.arange(N)[:, None] * C + np.arange(C)[None, :])[:, :, None, None] * (H * W)
        found.append(Mistake("indices_origin", "the indices count from the start of the whole batch; each (image, "
                                               "channel) plane starts again at 0: row * W + col",
                             value=plane + rows * W + cols))
    for width, what in ((out[1], "the output's width W_out"), (k[1], "the kernel's width"),
                        (out[1] * s[1], "the width of the part the windows cover")):
        if width != W:
            found.append(Mistake("indices_width", f"the flat index used {what} ({width}); it is row * W + col with W "
                                                  f"the input's width ({W})", value=rows * width + cols))
    found.append(Mistake("indices_order", "the index is column-major (col * H + row); it is row-major, row * W + col, "
                                          "as NumPy's ravel and PyTorch count", value=cols * H + rows))
    last = win.shape[-1] - 1 - np.argmax(win[..., ::-1], axis=-1)
    if not np.array_equal(last, a):
        rl = np.arange(out[0])[:, None] * s[0] + last // k[1]
        cl = np.arange(out[1])[None, :] * s[1] + last % k[1]
        found.append(Mistake("ties_last", "where a window holds its maximum more than once the index is that of the "
                                          "last one; it is the first in row-major order (np.argmax gives that)",
                             value=rl * W + cl))
    for shape in ((2,) + ref.shape, ref.shape + (2,)):
        found.append(Mistake("indices_rowcol", "the indices are (row, column) pairs; return one flat index per "
                                               "output, row * W + col", shape=shape))
    return found


def _with_line(message, code, text):
    """`message` with a 'likely mistake' line after its first line."""
    first, _, rest = message.partition("\n")
    return f"{first}\n  likely mistake [{code}]: {text}" + (f"\n{rest}" if rest else "")


def _type_name(output):
    try:
        return type(output).__name__
    except Exception:
        return "object"


def _judge_with_indices(case, output, inputs_after=None):
    """The pair (values, indices): the values as max_pool2d's output, the indices exactly."""
    head = heading(case)
    kind = type(output)
    if kind is not tuple and kind is not list:
        return _fail(head, case, expected(case)[1], None,
                     f"[not_a_pair] the output must be a pair (values, indices), e.g. `return y, idx`; got a "
                     f"{_type_name(output)}",
                     "not_a_pair", _modified_inputs(case, inputs_after))
    if len(output) != 2:
        return _fail(head, case, expected(case)[1], None,
                     f"[not_a_pair] the output must be a pair (values, indices); got a {kind.__name__} of length "
                     f"{len(output)}",
                     "not_a_pair", _modified_inputs(case, inputs_after))
    values, idx = output[0], output[1]
    v = default_judge(replace(case, name="max_pool2d"), values, inputs_after)
    if not v.passed:
        old = f"max_pool2d on {case.label}: " if case.label else "max_pool2d: "
        msg = v.message
        if msg.startswith(old):
            msg = msg[len(old):]
        return Verdict(False, f"{head}: the values (the first element of the pair): {msg}", v.diagnosis)

    _, ref = expected(case)
    raw, problem = _as_plain(idx)
    if problem is not None:
        return _fail(head, case, ref, None, f"the indices (the second element of the pair) {problem}", None, None)
    if raw.shape == ref.shape and raw.dtype.kind in "iu" and np.array_equal(raw, ref):
        return Verdict(True, "", None)
    if raw.dtype.kind not in "iu":
        if raw.shape == ref.shape and np.array_equal(_to_float(raw), ref):
            return _fail(head, case, ref, raw, f"[indices_dtype] the indices are right but their dtype is {raw.dtype}; "
                                               f"indices are integers (e.g. np.zeros(shape, dtype=np.int64))",
                         "indices_dtype", None)
    mistake = None
    candidates = _index_mistakes(case, ref)
    out_f = None
    for m in candidates:
        if m.value is not None and m.value.shape == raw.shape:
            out_f = _to_float(raw) if out_f is None else out_f
            if np.array_equal(out_f, m.value):
                mistake = m
                break
    if mistake is None and raw.shape != ref.shape:
        mistake = next((m for m in candidates if m.shape is not None and tuple(m.shape) == raw.shape), None)
    if raw.shape != ref.shape:
        what = f"the indices (the second element of the pair) should have shape {ref.shape}, got shape {raw.shape}"
        code = mistake.code if mistake else "wrong_shape"
    else:
        out_f = _to_float(raw) if out_f is None else out_f
        bad = np.argwhere(out_f != ref)
        what = "the indices (the second element of the pair) are wrong"
        if raw.dtype.kind not in "iu":
            what += f" (and they should be integers, not {raw.dtype})"
        if len(bad):
            i = tuple(int(t) for t in bad[0])
            what += (f" ({len(bad)} of {ref.size} entries; first at index {i}: expected {int(ref[i])}, "
                     f"got {out_f[i]:.6g})")
        code = mistake.code if mistake else None
    if mistake is not None:
        what += f"\n  likely mistake [{mistake.code}]: {mistake.text}"
    return _fail(head, case, ref, raw, what, code, None)


# ----------------------------------------------------------------------------- global average pooling

def _visible_global():
    c = lambda x, note: Case("global_avg_pool2d", (x,), {}, f"x of shape {x.shape} ({note})")
    return [c(_img([[1, 2, 3], [4, 5, 6]]), "one 2x3 map: its mean is 3.5"),
            c(_img(EXAMPLE), "the 4x4 example"),
            c(_mixed((2, 3, 4, 4)), "a batch of 2 images with 3 channels"),
            c(_mixed((3, 3, 2, 5)), "as many images as channels"),
            c(_mixed((2, 4, 1, 1)), "1x1 maps: the output is the input without its last two axes")]


def _hidden_global(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    shapes = [(1, 1, r(2, 6), r(2, 6)), (r(2, 4), r(2, 5), r(3, 8), r(3, 8)), (3, 3, r(4, 7), r(4, 7)),
              (r(1, 3), r(2, 6), 1, 1), (2, r(2, 4), r(1, 3), r(5, 9)), (1, r(4, 9), 7, 7)]
    return [Case("global_avg_pool2d", (rng.standard_normal(sh).astype(dt) + 0.5,), {},
                 f"random {np.dtype(dt).name} x of shape {sh}") for dt in (_F64, _F32) for sh in shapes]


def _global_mistakes(case, ref):
    x = case.args[0]
    N, C, H, W = x.shape
    return [Mistake("global_keepdims", "the output keeps the two spatial axes of size 1, (N, C, 1, 1); global "
                                       "average pooling returns (N, C): x.mean(axis=(2, 3)) without keepdims",
                    value=ref[:, :, None, None]),
            Mistake("wrong_axes", "the batch was averaged too; each image keeps its own averages, (N, C)",
                    value=x.mean(axis=(0, 2, 3))),
            Mistake("wrong_axes", "the channels were averaged too; each channel keeps its own average, (N, C)",
                    value=x.mean(axis=(1, 2, 3))),
            Mistake("wrong_axes", "everything was averaged into one number; average each (image, channel) map, "
                                  "giving (N, C)", value=x.mean()),
            Mistake("wrong_axes", "only the rows were averaged (axis 2); average over both spatial axes, "
                                  "axis=(2, 3)", value=x.mean(axis=2)),
            Mistake("wrong_axes", "only the columns were averaged (axis 3); average over both spatial axes, "
                                  "axis=(2, 3)", value=x.mean(axis=3)),
            Mistake("avg_sum", f"this is the sum of each map; the average divides it by H*W = {H * W}",
                    value=x.sum(axis=(2, 3))),
            Mistake("wrong_reduction", "this is the largest value of each map (global max pooling); global average "
                                       "pooling takes the mean", value=x.max(axis=(2, 3))),
            Mistake("wrong_axes", "the output should be (N, C): one number per channel of each image",
                    shape=(C,)),
            Mistake("wrong_axes", "the output should be (N, C): one number per channel of each image",
                    shape=(N,)),
            Mistake("global_keepdims", "the output keeps the two spatial axes of size 1; global average pooling "
                                       "returns (N, C)", shape=(N, C, 1, 1))]


# ----------------------------------------------------------------------------- stochastic pooling

def _stochastic_reference(x, kernel_size, stride=None, training=True, rng=None):
    # a copy of the case's generator: asking for the reference answer must not advance it
    return R.stochastic_pool2d(x, kernel_size, stride, training=training, rng=copy.deepcopy(rng))


def _training(case):
    return bool(case.kwargs.get("training", True))


def _special_windows(dtype=_F64):
    """A (1, 1, 2, 10) image whose 2x2 windows are: constant, one positive, all zero, mixed, ties."""
    a = np.array([[2, 2, 0, 0, 0, 0, 1, 0, 3, 3],
                  [2, 2, 0, 5, 0, 0, 2, 4, 0, 1]], dtype=dtype)
    return a.reshape(1, 1, 2, 10)


def _frequency_image(rng, shape=(2, 3, 40, 40), values=(0, 1, 2, 5), dtype=_F64):
    """An image whose 2x2 windows all hold `values`, in a random order each."""
    N, C, H, W = shape
    n = N * C * (H // 2) * (W // 2)
    win = rng.permuted(np.tile(np.array(values, dtype=dtype), (n, 1)), axis=1)
    return win.reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape).copy()


def _visible_stochastic():
    g = np.random.default_rng
    c = lambda *a, **kw: _pool_case("stochastic_pool2d", *a, **kw)
    ex = _img(EXAMPLE)
    zero = ex.copy()
    zero[0, 0, :2, :2] = 0
    return [
        c(ex, 2, training=False, note="the 4x4 example, evaluation: sum(a^2) / sum(a) in each window"),
        c(zero, 2, training=False, note="a window of zeros, evaluation: it gives 0"),
        c(_img(SMALL), 3, 1, training=False, note="the 5x5 image of small integers, overlapping 3x3 windows, "
                                                  "evaluation"),
        c(_img(SMALL), 2, training=False, note="the 5x5 image of small integers, 2x2 windows, evaluation: a row "
                                               "and a column left over"),
        c(ex, 2, rng=g(0), note="the 4x4 example, training (the default): one value of each window"),
        c(_special_windows(), 2, training=True, rng=g(1),
          note="windows that are constant, have one positive value, are all zero, are mixed, hold ties"),
        c(_img(SMALL), 3, 2, training=True, rng=g(2), note="the 5x5 image of small integers, 3x3 windows "
                                                           "overlapping by one, training"),
        c(_frequency_image(g(3)), 2, training=True, rng=g(4),
          note="2400 windows each holding 0, 1, 2 and 5: they must be drawn 0, 1/8, 2/8 and 5/8 of the time"),
    ]


def _relu_image(rng, shape, dt):
    """Non-negative values, about half of them zero, with a constant and a one-hot 2x2 block and a zero block."""
    x = np.maximum(rng.standard_normal(shape), 0)
    H, W = shape[2:]
    if H >= 4 and W >= 4:
        x[:, :, :2, :2] = 1.5
        x[:, :, 2:4, :2] = 0
        x[:, :, 2, 1] = 0.75
        x[:, :, :2, 2:4] = 0
    return x.astype(dt)


def _hidden_stochastic(rng):
    # training cases are large enough (hundreds of windows with a choice) for the frequency test;
    # evaluation cases are small, so a failure message can print them
    specs = [((2, 3, (22, 30), (22, 30)), 2, None, True), ((2, 1, (5, 9), (5, 9)), 2, 2, False),
             ((2, 3, (20, 26), (20, 26)), 3, 1, True), ((2, 2, (6, 9), (6, 9)), 3, 2, False),
             ((1, 3, (22, 28), (24, 30)), (2, 3), (2, 1), True), ((1, 1, (5, 8), (5, 8)), 3, None, False),
             ((1, 2, (4, 8), (4, 8)), 2, None, True), ((2, 2, (4, 8), (4, 8)), 2, None, False),
             ((2, 3, (34, 40), (34, 40)), 2, 3, True)]
    out = []
    for dt in (_F64, _F32):
        for shape, k, s, training in specs:
            shape = tuple(_draw(rng, v) for v in shape)
            x = _relu_image(rng, shape, dt)
            kw = {"training": training}
            if training:
                kw["rng"] = np.random.default_rng(int(rng.integers(2 ** 32)))
            out.append(_pool_case("stochastic_pool2d", x, k, s, "training" if training else "evaluation",
                                  prefix=f"random non-negative {np.dtype(dt).name} ", **kw))
    out.append(_pool_case("stochastic_pool2d", _relu_image(rng, (2, 3, 24, 24), _F64), 2, None,
                          "training, rng=None: fresh randomness", prefix="random non-negative float64 ", rng=None))
    values = tuple(sorted(int(v) for v in rng.choice(np.arange(1, 9), 3, replace=False))) + (0,)
    for dt in (_F64, _F32):
        x = _frequency_image(rng, (2, 3, 40, 40), values, dt)
        out.append(_pool_case("stochastic_pool2d", x, 2, None,
                              f"2400 windows each holding {', '.join(map(str, values))}, training: each value must "
                              f"be drawn in proportion to its size", prefix=f"{np.dtype(dt).name} ",
                              training=True, rng=np.random.default_rng(int(rng.integers(2 ** 32)))))
    return out


def _stochastic_mistakes(case, ref):
    """Evaluation mode: the mistakes, by value and shape; training mode: the shapes of the geometry mistakes."""
    x = case.args[0]
    k, s, _ = _geometry(case)
    if _training(case):
        # any pooling with the wrong geometry has the shape of the mistake; only the shapes are used
        return [m for m in _geometry_mistakes(case, ref, R.max_pool2d, None) if m.shape is not None]
    found = [Mistake("wrong_reduction", "this is the plain average of each window; in evaluation stochastic pooling "
                                        "weights each value by its probability: sum_i p_i a_i = sum a^2 / sum a",
                     value=R.avg_pool2d(x, k, s)),
             Mistake("wrong_reduction", "this is the largest value of each window (max pooling); in evaluation "
                                        "stochastic pooling gives sum_i p_i a_i = sum a^2 / sum a",
                     value=R.max_pool2d(x, k, s))]

    def weighted(x, kernel_size, stride=None, **kw):
        return R.stochastic_pool2d(x, kernel_size, stride, training=False, **kw)   # no ceil_mode: raises

    return found + _geometry_mistakes(case, ref, weighted, None)


def _fail_sample(head, case, example, raw, what, code, modified):
    """A failing verdict for a random output: one correct output stands where the expected one would."""
    return _fail(head, case, example, raw, what, code, modified, ref_label="one correct output (outputs are random)")


def _probabilities(win):
    """p_i = a_i / sum_j a_j per window (0 for a window of zeros), and the window totals."""
    total = win.sum(axis=-1)
    return win / np.where(total > 0, total, 1)[..., None], total


def _frequency_z(win, y, atol):
    """The z-score of the summed probability of the drawn values, over windows that have a choice.

    For one window, the value v is drawn with probability P(v) (the sum of p_i over its elements equal
    to v); the mean of P(drawn) is sum_v P(v)^2 and its variance sum_v P(v)^3 - (sum_v P(v)^2)^2. A
    sampler that prefers large values scores above the mean, one that draws uniformly below it.
    Returns (z, windows used, share of windows whose largest value was drawn, the share expected);
    z is None when too few windows have a choice.
    """
    p, total = _probabilities(win)
    same = np.abs(win[..., :, None] - win[..., None, :]) <= atol     # (..., kk, kk)
    P = (same * p[..., None, :]).sum(axis=-1)                         # P(value of element i)
    mean = (p * P).sum(axis=-1)
    var = (p * P ** 2).sum(axis=-1) - mean ** 2
    drawn = ((np.abs(win - y[..., None]) <= atol) * p).sum(axis=-1)   # P(the value drawn)
    use = (total > 0) & (var > 1e-12)
    if use.sum() < _MIN_WINDOWS:
        return None, int(use.sum()), None, None
    top = np.abs(win - win.max(axis=-1, keepdims=True)) <= atol
    got_top = np.abs(y - win.max(axis=-1)) <= atol
    p_top = (top * p).sum(axis=-1)
    z = float((drawn[use] - mean[use]).sum() / np.sqrt(var[use].sum()))
    return z, int(use.sum()), float(got_top[use].mean()), float(p_top[use].mean())


def _judge_stochastic(case, output, inputs_after=None):
    if not _training(case):
        return _judge_stochastic_eval(case, output, inputs_after)
    head = heading(case)
    x = case.args[0]
    k, s, out = _geometry(case)
    dtype = _case_dtype(case)
    modified = _modified_inputs(case, inputs_after)
    example = expected(case)
    win = _windows(x.astype(_F64), k, s)
    shape = win.shape[:4]

    raw, problem = _as_plain(output)
    if problem is not None:
        return _fail_sample(head, case, example, None, f"the output {problem}", None, modified)
    if raw.shape != shape:
        what = f"expected an output of shape {shape}, got shape {raw.shape}"
        m = next((m for m in _stochastic_mistakes(case, example)
                  if m.shape is not None and tuple(m.shape) == raw.shape), None)
        if m is not None:
            what += f"\n  likely mistake [{m.code}]: {m.text}"
        return _fail_sample(head, case, example, raw, what, m.code if m else "wrong_shape", modified)
    y = _to_float(raw)
    total = win.sum(axis=-1)
    zero = total == 0
    rtol, atol = tolerances(dtype, win)
    tol = atol + rtol * np.abs(win)
    match = np.abs(win - y[..., None]) <= tol
    positive = win > 0
    ok = np.where(zero, np.abs(y) <= atol, (match & positive).any(axis=-1))
    if not ok.all():
        bad = np.argwhere(~ok)
        i = tuple(int(t) for t in bad[0])
        w = win[i]
        what = (f"{len(bad)} of {ok.size} outputs are not a possible draw; first at index {i}: got {y[i]:.6g} "
                f"from the window {fmt(w.reshape(k))}".replace("\n", " "))
        code, text = None, None
        if np.isnan(y[zero]).any() and np.isfinite(y[~zero]).all():
            code, text = "zero_window", ("a window of zeros gave NaN: its probabilities 0/0 are undefined; such a "
                                         "window gives 0 (handle it before dividing by the sum)")
        elif (match & ~positive).any(axis=-1)[i] and not (match & positive).any(axis=-1)[i]:
            code, text = "zero_probability", ("a value of 0 was drawn from a window with positive values: its "
                                              "probability a_i / sum_j a_j is 0; draw each value with probability "
                                              "p_i = a_i / sum_j a_j (not uniformly)")
        elif np.allclose(y, R.stochastic_pool2d(x, k, s, training=False), rtol=rtol, atol=atol):
            code, text = "training_ignored", ("this is the evaluation-mode weighted average; with training=True "
                                              "(the default) each output is one value of its window, drawn at random")
        elif np.allclose(y, R.avg_pool2d(x, k, s), rtol=rtol, atol=atol):
            code, text = "wrong_reduction", ("this is the plain average of each window; in training stochastic "
                                             "pooling draws one value of each window")
        elif np.allclose(w, w[0]) and w[0] > 0:
            code, text = "not_in_window", (f"every value of this window is {w[0]:g}, so the only possible draw is "
                                           f"{w[0]:g}; each output is one value of its own window (window (i, j) "
                                           f"starts at (i*sH, j*sW))")
        else:
            code, text = "not_in_window", ("each output is one value of its own window (window (i, j) starts at "
                                           "(i*sH, j*sW)), drawn with probability a_i / sum_j a_j")
        return _fail_sample(head, case, example, raw, what + f"\n  likely mistake [{code}]: {text}", code, modified)

    z, used, top, p_top = _frequency_z(win, y, float(np.max(tol)) if tol.size else atol)
    if z is not None and abs(z) > _Z_LIMIT:
        maxed = np.allclose(y, win.max(axis=-1), rtol=rtol, atol=atol)
        what = (f"every output is a value of its window, but over {used} windows the values were not drawn "
                f"with probabilities a_i / sum_j a_j: the largest value of a window was drawn in {top:.1%} of "
                f"them, where about {p_top:.1%} was expected (z = {z:+.1f}; a correct sampler stays within "
                f"±{_Z_LIMIT:g})")
        if maxed:
            code, text = "always_max", ("every output is its window's maximum: that is max pooling; stochastic "
                                        "pooling draws each value at random with probability a_i / sum_j a_j")
        elif z < 0:
            code, text = "wrong_probabilities", ("large values were drawn too rarely, as if every value (or every "
                                                 "positive value) were equally likely; draw value i with "
                                                 "probability p_i = a_i / sum_j a_j (e.g. rng.choice(n, p=p))")
        else:
            code, text = "wrong_probabilities", ("large values were drawn too often (probabilities that grow faster "
                                                 "than a_i, e.g. a_i^2); draw value i with probability "
                                                 "p_i = a_i / sum_j a_j")
        return _fail_sample(head, case, None, None, what + f"\n  likely mistake [{code}]: {text}", code, modified)
    if dtype == np.float32 and raw.dtype != np.float32:
        return _fail_sample(head, case, example, raw,
                            f"[wrong_dtype] the values are possible draws, but the output's dtype is {raw.dtype} for "
                            f"float32 inputs; functions keep the floating dtype they are given", "wrong_dtype",
                            modified)
    if modified:
        return _fail_sample(head, case, example, None, "[input_modified] the output is right, but " + modified,
                            "input_modified", None)
    return Verdict(True, "", None)


def _judge_stochastic_eval(case, output, inputs_after=None):
    v = default_judge(case, output, inputs_after)
    if v.passed or v.diagnosis is not None:
        return v
    try:
        raw, problem = _as_plain(output)
        x = case.args[0]
        k, s, _ = _geometry(case)
        win = _windows(x.astype(_F64), k, s)
        if problem is not None or raw.shape != win.shape[:4]:
            return v
        y = _to_float(raw)
        ref = expected(case)
        zero = win.sum(axis=-1) == 0
        rtol, atol = tolerances(_case_dtype(case), ref)
        if zero.any() and np.isnan(y[zero]).all() and np.allclose(y[~zero], ref[~zero], rtol=rtol, atol=atol):
            code, text = "zero_window", ("a window of zeros gave NaN (0/0); such a window gives 0: handle it before "
                                         "dividing by the sum")
        elif (np.abs(win - y[..., None]) <= atol + rtol * np.abs(win)).any(axis=-1).all():
            code, text = "training_ignored", ("every output is one value of its window, a random draw; with "
                                              "training=False the output is the weighted average sum a^2 / sum a")
        else:
            return v
    except Exception:  # the extra diagnosis is a bonus; the verdict stands without it
        return v
    return Verdict(False, _with_line(v.message, code, text), code)


# ----------------------------------------------------------------------------- registration

register(Graded("max_pool2d", ASSIGNMENT, lambda: _visible_pool("max_pool2d"),
                lambda rng: _hidden_pool("max_pool2d", rng, ties=True), R.max_pool2d, _max_mistakes, argnames=_ARGS))
register(Graded("max_pool2d_with_indices", ASSIGNMENT,
                lambda: _visible_pool("max_pool2d_with_indices"),
                lambda rng: _hidden_pool("max_pool2d_with_indices", rng, ties=True), _with_indices, _max_mistakes,
                argnames=_ARGS, judge=_judge_with_indices))
register(Graded("avg_pool2d", ASSIGNMENT, lambda: _visible_pool("avg_pool2d"),
                lambda rng: _hidden_pool("avg_pool2d", rng, ties=False), R.avg_pool2d, _avg_mistakes, argnames=_ARGS))
register(Graded("global_avg_pool2d", ASSIGNMENT, _visible_global, _hidden_global, R.global_avg_pool2d,
                _global_mistakes, argnames=("x",)))
register(Graded("stochastic_pool2d", ASSIGNMENT, _visible_stochastic, _hidden_stochastic, _stochastic_reference,
                _stochastic_mistakes, argnames=_ARGS, judge=_judge_stochastic))
