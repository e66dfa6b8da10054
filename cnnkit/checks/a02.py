"""Assignment 02: padding, stride, dilation and the output size of a convolution.

Graded: pad2d(x, padding), conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1),
conv2d(x, w, b=None, stride=1, padding=0, dilation=1).

Visible cases are small and hand-readable: the notebook's worked examples, one idea each (a ring
of zeros, a stride of 2, a dilation of 2, "same" padding of an even kernel, a batch with every
option at once). Hidden cases are random, in float32 and float64, with non-square inputs and
kernels, paddings given as an int, a pair, four sides, "same", "valid" and "full" (k - 1 on each
side), strides that do not divide the padded size, and dilations. The typical mistakes (padding
the wrong axes or sides, rounding the output size up, the stride applied to the kernel's taps,
a dilation off by one, a flipped kernel, a bias on the wrong axis) are computed with the reference
so that the judge can name them.
"""

import math

import numpy as np

from .. import reference as R
from .._args import conv_padding, is_int
from .a01 import _a, _both_dtypes, _rand, _try
from .core import Case, Graded, Mistake, off_by_one, register

ASSIGNMENT = "02"
FUNCTIONS = ("pad2d", "conv_output_size", "conv2d")

_F64 = np.float64

# a kernel with no symmetry, so that a flipped or transposed kernel changes the output
K3 = _a([[1, 2, 0], [0, 1, -1], [-1, 0, 1]])


def varied(shape, mult=7, mod=11, shift=5):
    """Small integers without a period that lines up with a kernel: every mistake changes the output."""
    n = int(np.prod(shape))
    return (np.arange(n) * mult % mod - shift).astype(_F64).reshape(shape)


# ----------------------------------------------------------------------------- pad2d

def sides(padding):
    """(left, right, top, bottom) of pad2d's `padding`: an int, (ph, pw) or four sides."""
    if is_int(padding):
        return (int(padding),) * 4
    p = tuple(int(v) for v in padding)
    return (p[1], p[1], p[0], p[0]) if len(p) == 2 else p


def _visible_pad2d():
    x33 = np.arange(1, 10, dtype=_F64).reshape(3, 3)
    x23 = np.arange(1, 7, dtype=_F64).reshape(2, 3)
    return [
        Case("pad2d", (x33, 1), {}, "x=arange(1,10).reshape(3,3), padding=1 (one ring of zeros)"),
        Case("pad2d", (x23, (1, 2)), {},
             "x=arange(1,7).reshape(2,3), padding=(1, 2) (1 row above and below, 2 columns left and right)"),
        Case("pad2d", (x23.copy(), (1, 0, 2, 0)), {},
             "x=arange(1,7).reshape(2,3), padding=(1, 0, 2, 0) (left 1, right 0, top 2, bottom 0)"),
        Case("pad2d", (np.arange(1, 13, dtype=_F64).reshape(1, 2, 2, 3), 1), {},
             "a batch x of shape (1, 2, 2, 3) (N, C, H, W), padding=1: only H and W grow"),
        Case("pad2d", (x23[None].copy(), (0, 1)), {},
             "x of shape (1, 2, 3) (C, H, W), padding=(0, 1): columns only"),
        Case("pad2d", (x23.copy(), 0), {}, "x=arange(1,7).reshape(2,3), padding=0 (nothing to add)"),
    ]


def _hidden_pad2d(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    # pairs with ph != pw and four sides with top/bottom != left/right, so a swap shows
    pair = lambda: (r(0, 2), r(2, 4)) if rng.integers(2) else (r(2, 4), r(0, 2))
    four = lambda: (r(0, 2), r(1, 3), r(2, 4), r(0, 2))
    specs = [((r(3, 7), r(3, 7)), r(1, 4)),
             ((r(2, 6), r(2, 6)), pair()),
             ((r(2, 5), r(3, 6)), four()),
             ((r(2, 4), r(3, 6), r(2, 6)), r(1, 3)),
             ((r(2, 4), r(2, 4), r(3, 6), r(2, 6)), pair()),
             ((r(2, 4), r(2, 4), r(2, 5), r(2, 5)), four()),
             ((r(1, 3), r(2, 4), r(2, 4), r(2, 5)), r(1, 3)),
             ((2, 3, 4), 0)]
    out = []
    for (shape, padding), dt in _both_dtypes(specs):
        out.append(Case("pad2d", (_rand(rng, shape, dt), padding), {},
                        f"random {np.dtype(dt).name} x of shape {shape}, padding={padding!r}"))
    return out


_ONLY_HW = ("pad2d pads only the last two axes, H and W: "
            "np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)])")
_LEADING = {3: {0: "channel"}, 4: {0: "batch", 1: "channel"}}


def _pad2d_mistakes(case, ref):
    x, padding = case.args
    left, right, top, bottom = sides(padding)
    lead = x.ndim - 2
    keep = [(0, 0)] * lead
    pad = lambda t, b, l, r: np.pad(x, keep + [(t, b), (l, r)])   # zeros on chosen sides of H and W
    found = []
    if lead:
        found.append(Mistake("pad_wrong_axes", f"the first two axes were padded instead of the last two; {_ONLY_HW}",
                             value=np.pad(x, [(top, bottom), (left, right)] + keep)))
        if is_int(padding):
            found.append(Mistake("pad_wrong_axes", f"every axis was padded, the leading (batch / channel) axes "
                                                   f"too: np.pad(x, p) pads all axes; {_ONLY_HW}",
                                 value=np.pad(x, int(padding))))
    if not is_int(padding) and len(padding) == 2:
        found.append(Mistake("pad_wrong_axes" if lead else "pad_wrong_sides",
                             "np.pad(x, (ph, pw)) pads EVERY axis with ph before and pw after; give np.pad one "
                             f"(before, after) pair per axis: {_ONLY_HW}", value=np.pad(x, tuple(padding))))
        if padding[0] != padding[1]:
            found.append(Mistake("pad_wrong_sides", "the height and width padding are swapped: padding=(ph, pw) "
                                                    "adds ph rows above and below and pw columns left and right",
                                 value=pad(left, right, top, bottom)))
    if not is_int(padding) and len(padding) == 4:
        found.append(Mistake("pad_wrong_sides", "the four sides were read as (top, bottom, left, right); they are "
                                                "(left, right, top, bottom), as in torch.nn.functional.pad: the "
                                                "first pair belongs to the last axis (W)",
                             value=pad(padding[0], padding[1], padding[2], padding[3])))
        found.append(Mistake("pad_wrong_sides", "before and after are swapped: (left, right, top, bottom) puts "
                                                "`left` columns before the first one and `top` rows above the "
                                                "first row", value=pad(bottom, top, right, left)))
    both = ("an int p (or a pair) pads both sides: p rows at the top AND at the bottom, p columns left AND right"
            if is_int(padding) or len(padding) == 2 else "(left, right, top, bottom) pads all four sides")
    found.append(Mistake("pad_wrong_sides", f"only the top and left were padded; {both}", value=pad(top, 0, left, 0)))
    found.append(Mistake("pad_wrong_sides", f"only the bottom and right were padded; {both}",
                         value=pad(0, bottom, 0, right)))
    spec = keep + [(top, bottom), (left, right)]
    if x.size:
        found.append(Mistake("pad_value", "the border holds copies of the edge pixels; zero padding fills it with 0",
                             value=np.pad(x, spec, mode="edge")))
    found.append(Mistake("pad_value", "the border holds ones; zero padding fills it with 0",
                         value=np.pad(x, spec, constant_values=1)))
    for axis, name in _LEADING.get(x.ndim, {}).items():
        shape = list(ref.shape)
        shape[axis] += (top + bottom) if axis == 0 else (left + right)
        if tuple(shape) != ref.shape:
            found.append(Mistake("pad_wrong_axes", f"the {name} axis (axis {axis}) was padded too; {_ONLY_HW}",
                                 shape=tuple(shape)))
    return found


# ----------------------------------------------------------------------------- conv_output_size

def _size_reference(*args, **kwargs):
    # an array, so a pair of sizes is one answer (a 1-D array), not a tuple of answers
    return np.asarray(R.conv_output_size(*args, **kwargs))


def _size_case(size, kernel_size, note="", **kwargs):
    parts = [f"size={size}", f"kernel_size={kernel_size}"] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return Case("conv_output_size", (size, kernel_size), kwargs, ", ".join(parts) + (f" ({note})" if note else ""))


def _visible_size():
    c = _size_case
    return [
        c(7, 3, "valid: 7 - 3 + 1"),
        c(7, 3, "one ring of zeros keeps the size", padding=1),
        c(5, 5, "a 5-wide kernel needs two rings", padding=2),
        c(7, 3, "positions 0, 2, 4", stride=2),
        c(8, 3, "10 padded pixels, the window fits at 0, 2, 4, 6: round down", stride=2, padding=1),
        c(7, 3, "the kernel spans 5 pixels", dilation=2),
        c(10, 3, "taps 3 apart: the kernel spans 7 pixels", dilation=3),
        c(32, 5, "LeNet-5's first layer"),
        c(227, 11, "AlexNet's first layer", stride=4),
        c(7, 4, "an even kernel keeps the size too", padding="same"),
        c(7, 3, "no padding", padding="valid"),
        c((28, 20), (5, 3), "a pair of sizes (H, W) gives a pair", stride=(2, 1), padding=(2, 0)),
    ]


def _hidden_size(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    out = []

    def add(kind, make, count):
        made = 0
        while made < count:
            size, k, kw = make()
            try:
                R.conv_output_size(size, k, **kw)
            except ValueError:   # the kernel does not fit: draw again
                continue
            if kind == "uneven" and (size + 2 * kw["padding"] - kw.get("dilation", 1) * (k - 1) - 1) % kw["stride"] == 0:
                continue
            out.append(_size_case(size, k, kind, **kw))
            made += 1

    add("uneven", lambda: (r(5, 40), r(1, 8), {"stride": r(2, 5), "padding": r(0, 4)}), 4)
    add("uneven", lambda: (r(9, 40), r(2, 5), {"stride": r(2, 4), "padding": r(0, 3), "dilation": r(2, 4)}), 3)
    add("dilated", lambda: (r(9, 40), r(2, 6), {"padding": r(0, 4), "dilation": r(2, 5)}), 2)
    add("padded", lambda: (r(3, 40), r(1, 8), {"padding": r(1, 4)}), 2)
    add("same, even kernel", lambda: (r(5, 30), 2 * r(1, 4), {"padding": "same"}), 1)
    add("same, dilated", lambda: (r(9, 30), r(2, 5), {"padding": "same", "dilation": r(2, 4)}), 1)
    add("valid", lambda: (r(8, 30), r(2, 6), {"stride": r(1, 4), "padding": "valid"}), 1)
    add("a pair", lambda: ((r(9, 40), r(9, 40)), (r(1, 6), r(1, 6)),
                           {"stride": (r(1, 4), r(2, 4)), "padding": (r(0, 3), r(0, 3)), "dilation": (1, r(1, 3))}), 2)
    add("a pair, same", lambda: ((r(6, 30), r(6, 30)), (r(2, 6), r(2, 6)), {"padding": "same", "dilation": (r(1, 3), 1)}), 1)
    return out


def _size_axes(case):
    """Per spatial axis: (size, kernel, stride, total padding, dilation, mode), and whether it is a pair."""
    size, k = case.args
    kw = case.kwargs
    pair = not is_int(size)
    n = 2 if pair else 1
    per = lambda v: tuple(v) if not is_int(v) else (v,) * n
    sizes, ks, ss, ds = per(size), per(k), per(kw.get("stride", 1)), per(kw.get("dilation", 1))
    padding = kw.get("padding", 0)
    mode = padding if isinstance(padding, str) else None
    pads = conv_padding(padding, ks, ss, ds, "conv_output_size")
    return [(sizes[i], ks[i], ss[i], sum(pads[i]), ds[i], mode) for i in range(n)], pair


def _size_mistakes(case, ref):
    axes, pair = _size_axes(case)

    right = np.atleast_1d(ref)

    def value(rule):
        """The answer that `rule(n, k, s, P, d, mode) -> size` gives, or None where it does not apply.

        For a pair, an axis the rule does not apply to (no padding there, say) keeps its right size.
        """
        try:
            got = [rule(*a) for a in axes]
        except (ValueError, ZeroDivisionError):
            return None
        if all(g is None for g in got):
            return None
        got = [right[i] if g is None else g for i, g in enumerate(got)]
        return np.asarray(got) if pair else np.asarray(got[0])

    formula = ("the output size is floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1, "
               "or size itself for 'same'")
    span = lambda k, d: d * (k - 1) + 1
    rules = [
        ("floor_vs_ceil", "the size was rounded up (ceil); it rounds down: a window that would hang over the end "
                          "of the padded input is not computed",
         lambda n, k, s, P, d, m: math.ceil((n + P - span(k, d)) / s) + 1),
        ("floor_vs_ceil", "the size is not rounded at all; a number of window positions is a whole number: use "
                          "floor division //",
         lambda n, k, s, P, d, m: (n + P - span(k, d)) / s + 1),
        ("floor_vs_ceil", "the size was rounded to the nearest integer; it rounds down",
         lambda n, k, s, P, d, m: round((n + P - span(k, d)) / s) + 1),
        ("dilation_ignored", "the dilation was left out: a dilated kernel spans dilation*(kernel_size - 1) + 1 pixels",
         lambda n, k, s, P, d, m: None if d == 1 else (n + P - k) // s + 1),
        ("dilation_off_by_one", "the dilated kernel was taken to span dilation*kernel_size pixels; its taps are "
                                "dilation apart, so it spans dilation*(kernel_size - 1) + 1",
         lambda n, k, s, P, d, m: None if d == 1 else (n + P - d * k) // s + 1),
        ("dilation_off_by_one", "the dilated kernel was taken to span dilation*(kernel_size - 1) pixels, one too "
                                "few: it spans dilation*(kernel_size - 1) + 1",
         lambda n, k, s, P, d, m: None if d == 1 else (n + P - d * (k - 1)) // s + 1),
        ("dilation_off_by_one", "the taps were taken to be dilation + 1 apart (dilation gaps between them); "
                                "dilation d means taps d apart, d - 1 gaps: the kernel spans d*(kernel_size - 1) + 1",
         lambda n, k, s, P, d, m: None if d == 1 else (n + P - span(k, d + 1)) // s + 1),
        ("wrong_size", "the stride-1 count (size + 2*padding - span + 1) was divided by the stride; count the "
                       "window starts 0, s, 2s, ... that still fit instead: floor((size + 2*padding - span) / s) "
                       "+ 1, where span = dilation*(kernel_size - 1) + 1",
         lambda n, k, s, P, d, m: (n + P - span(k, d) + 1) // s),
        ("wrong_size", "the + 1 is missing: the window at position 0 counts too",
         lambda n, k, s, P, d, m: (n + P - span(k, d)) // s),
        ("padding_once", "the padding was added once; it goes on both sides: size + 2*padding",
         lambda n, k, s, P, d, m: None if m or not P else (n + P // 2 - span(k, d)) // s + 1),
        ("padding_ignored", "the padding was left out",
         lambda n, k, s, P, d, m: None if not P else (n - span(k, d)) // s + 1),
        ("stride_ignored", "the stride was left out: the window moves `stride` pixels at a time",
         lambda n, k, s, P, d, m: None if s == 1 else n + P - span(k, d) + 1),
        ("same_padding", "'same' pads dilation*(kernel_size - 1) pixels in all, split between the two sides (the "
                         "odd one at the end), so that at stride 1 the output has the input's size",
         lambda n, k, s, P, d, m: None if m != "same" else (n + 2 * (k // 2) - span(k, d)) // s + 1),
        ("same_padding", "'same' pads dilation*(kernel_size - 1) pixels in all; half of it was put on both sides, "
                         "rounded down, and the odd pixel lost",
         lambda n, k, s, P, d, m: None if m != "same" else (n + 2 * (P // 2) - span(k, d)) // s + 1),
    ]
    found = []   # [code, [texts], value]: two mistakes that give the same number here are named together
    for code, text, rule in rules:
        v = value(rule)
        if v is None:
            continue
        same = next((f for f in found if f[2].shape == v.shape and np.array_equal(f[2], v)), None)
        if same is None:
            found.append([code, [text], v])
        else:
            same[1].append(text)
    out = [Mistake(code, "; or: ".join(texts) + f" ({formula})", value=v) for code, texts, v in found]
    if pair:
        out.append(Mistake("wrong_shape", "a pair of sizes (H, W) gives a pair of output sizes, one per axis",
                           shape=()))
    return out


# ----------------------------------------------------------------------------- conv2d

def _conv_case(x, w, b=None, note="", **kwargs):
    args = (x, w) if b is None else (x, w, b)
    opts = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    label = f"x {x.shape}, w {w.shape}" + (", with bias" if b is not None else "") + (f", {opts}" if opts else "")
    return Case("conv2d", args, kwargs, label + (f" ({note})" if note else ""))


def _visible_conv2d():
    x5 = varied((1, 1, 5, 5), 7, 11, 5)
    w3 = K3.reshape(1, 1, 3, 3).copy()
    c = _conv_case
    return [
        c(x5, w3, note="no padding, stride 1: 3x3, as in assignment 01"),
        c(x5.copy(), w3.copy(), note="one ring of zeros: the output keeps the 5x5 size", padding=1),
        c(x5.copy(), w3.copy(), note="every other position: 2x2", stride=2),
        c(x5.copy(), w3.copy(), note="padded and strided: 3x3", stride=2, padding=1),
        c(varied((1, 1, 7, 7), 5, 13, 6), w3.copy(), note="taps 2 apart: the kernel spans 5x5, the output is 3x3",
          dilation=2),
        c(varied((1, 1, 4, 5), 3, 7, 3), _a([[1, 2], [-1, 1]]).reshape(1, 1, 2, 2), note="an even kernel: the "
          "extra row and column of zeros go at the bottom and right", padding="same"),
        c(x5.copy(), w3.copy(), note="padding k - 1 = 2: 'full', every partial overlap, 7x7", padding=2),
        c(varied((2, 2, 6, 7)), varied((3, 2, 3, 2), 5, 7, 3), _a([1, 2, 3]),
          note="a batch with everything: 3x5", stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    ]


def _hidden_conv2d(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    # (N, C_in, C_out, H, W, kH, kW, bias, options); "full" stands for (d*(kH-1), d*(kW-1))
    specs = [(r(1, 3), r(1, 3), r(1, 4), r(6, 10), r(6, 10), 3, 3, True, dict(stride=2, padding=1)),
             (2, 2, 3, r(7, 11), r(7, 11), 3, 2, True, dict(stride=(2, 3), padding=(1, 2))),
             (r(1, 3), 3, 2, r(5, 9), r(5, 9), 3, 3, False, dict(padding="same")),
             (1, r(1, 3), 2, r(6, 9), r(6, 9), 2, 4, True, dict(padding="same", dilation=(1, 2))),
             (2, 2, 2, r(5, 9), r(5, 9), 2, 3, True, dict(stride=r(1, 3), padding="valid")),
             (r(1, 3), 2, 3, r(4, 7), r(4, 7), 3, 2, "none", dict(padding="full", dilation=r(1, 3))),
             (2, 1, 2, r(7, 11), r(7, 11), 3, 3, True, dict(padding=2, dilation=2)),
             (1, 2, 2, r(10, 14), r(10, 14), 3, 3, False, dict(stride=2, dilation=(2, 3), padding=(1, 0))),
             (r(1, 3), 2, 3, r(8, 13), r(8, 13), r(2, 4), r(2, 4), True, dict(stride=3, padding=r(0, 2))),
             (2, 3, 4, r(6, 10), r(6, 10), 1, 1, True, dict(stride=2)),
             (3, 2, 3, 8, 8, 3, 3, True, dict(stride=2, padding=(0, 1), dilation=(1, 2)))]
    out = []
    for (N, Ci, Co, H, W, kh, kw, bias, opts), dt in _both_dtypes(specs):
        x, w = _rand(rng, (N, Ci, H, W), dt), _rand(rng, (Co, Ci, kh, kw), dt)
        opts = dict(opts)
        if opts.get("padding") == "full":
            d = opts.get("dilation", 1)
            opts["padding"] = (d * (kh - 1), d * (kw - 1))
            note = "full: padding d*(k - 1)"
        else:
            note = ""
        b = _rand(rng, Co, dt) if bias is True else None
        case = _conv_case(x, w, b, note=note, **opts)
        if bias == "none":   # b=None passed explicitly
            case = Case("conv2d", (x, w, None), case.kwargs, case.label + ", b=None")
        out.append(case)
    return out


def _pair(v):
    return (v, v) if is_int(v) else tuple(v)


def _crop(v, shape):
    """v cut to the expected output's size: what a loop over the right output size reads."""
    if v is None or v.ndim != 4 or v.shape[2] < shape[2] or v.shape[3] < shape[3]:
        return None
    return v[:, :, :shape[2], :shape[3]]


def _span(k, d):
    return d * (k - 1) + 1


def _conv2d_mistakes(case, ref):
    x, w = case.args[:2]
    b = case.args[2] if len(case.args) > 2 else None
    opts = case.kwargs
    N, Ci, H, W = x.shape
    Co, _, kh, kw = w.shape
    s, d = _pair(opts.get("stride", 1)), _pair(opts.get("dilation", 1))
    padding = opts.get("padding", 0)
    (top, bottom), (left, right) = conv_padding(padding, (kh, kw), s, d, "conv2d")
    Ho, Wo = ref.shape[2:]
    conv = lambda xx, ww=w, bb=b, **o: _try(R.conv2d, xx, ww, bb, **{**opts, **o})
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))

    def on_padded(xp, **o):   # the convolution of an input padded by hand, with no padding of its own
        return _try(R.conv2d, xp, w, b, **{"stride": s, "dilation": d, **o, "padding": 0})

    found = [Mistake("flipped_kernel", "the kernel is flipped (rotated by 180°): a convolution layer computes "
                                       "cross-correlation and uses w as it is", value=conv(x, w[:, :, ::-1, ::-1]))]
    y0 = conv(x, bb=None)
    if b is not None and y0 is not None:
        found.append(Mistake("bias_missing", "the bias b was not added: y[n, o] = b[o] + ...", value=y0))
        for axis, name in ((3, "last (width)"), (2, "height"), (0, "batch")):
            if Co > 1 and y0.shape[axis] == Co:
                shape = [1, 1, 1, 1]
                shape[axis] = Co
                found.append(Mistake("bias_wrong_axis", f"b was added along the {name} axis; it belongs to the "
                                                        f"output channels: y + b[None, :, None, None]",
                                     value=y0 + b.reshape(shape)))
    if Ci > 1:
        found.append(Mistake("channels_not_summed", "only the first input channel was used; each output channel "
                                                    "is the SUM over all input channels",
                             value=conv(x[:, :1], w[:, :1])))

    hw = "pad only the two spatial axes: np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))"
    if top or bottom or left or right:
        found.append(Mistake("padding_ignored", "the padding was left out: pad x with zeros before sliding the "
                                                "kernel", value=conv(x, padding=0)))
        # np.pad(x, p) (or (ph, pw)) pads every axis; the loops then read the first N images, C channels
        every = padding if is_int(padding) else tuple(padding) if not isinstance(padding, str) else None
        if every is not None:
            xa = np.pad(x, every)
            found.append(Mistake("pad_wrong_axes", f"the batch and channel axes were padded too (np.pad(x, p) pads "
                                                   f"every axis), so images and channels are shifted by the "
                                                   f"padding; {hw}", value=_crop(on_padded(xa[:N, :Ci]), ref.shape)))
            found.append(Mistake("pad_wrong_axes", f"the batch axis was padded too: the output has N + 2p images; "
                                                   f"{hw}", shape=(xa.shape[0],) + ref.shape[1:]))
        xb = np.pad(x, ((top, bottom), (left, right), (0, 0), (0, 0)))[:N, :Ci]
        found.append(Mistake("pad_wrong_axes", f"the batch and channel axes were padded instead of the height and "
                                               f"width; {hw}", value=on_padded(xb)))
        found.append(Mistake("pad_wrong_axes", f"the width was not padded, only the height; {hw}",
                             value=on_padded(np.pad(x, ((0, 0), (0, 0), (top, bottom), (0, 0))))))
        found.append(Mistake("pad_wrong_axes", f"the height was not padded, only the width; {hw}",
                             value=on_padded(np.pad(x, ((0, 0), (0, 0), (0, 0), (left, right))))))
        if isinstance(padding, str) and (top != bottom or left != right):
            found.append(Mistake("same_padding", "the odd pixel of 'same' padding went to the top / left; as in "
                                                 "PyTorch it goes at the bottom / right",
                                 value=on_padded(np.pad(x, ((0, 0), (0, 0), (bottom, top), (right, left))))))
            found.append(Mistake("same_padding", "'same' padding was taken as kernel_size // 2 on every side; it is "
                                                 "dilation*(kernel_size - 1) in all, the odd pixel at the bottom / "
                                                 "right", value=conv(x, padding=(d[0] * (kh // 2), d[1] * (kw // 2)))))
        if not isinstance(padding, str) and top != left:
            found.append(Mistake("pad_wrong_sides", "the height and width padding are swapped: padding=(ph, pw) "
                                                    "pads ph rows above and below, pw columns left and right",
                                 value=conv(x, padding=(left, top))))
        found.append(Mistake("pad_wrong_sides", "only the top and left were padded; the padding goes on both sides",
                             value=on_padded(np.pad(x, ((0, 0), (0, 0), (top, 0), (left, 0))))))

    at = "the window of output (i, j) starts at (i*stride, j*stride) of the padded input and its taps are " \
         "`dilation` apart: x_pad[n, c, i*sH + p*dH, j*sW + q*dW]"
    if s != (1, 1):
        taps = (s[0] * d[0], s[1] * d[1])
        stride1 = on_padded(padded, stride=1)
        found.append(Mistake("stride_ignored", f"the window moved one pixel at a time; {at}",
                             value=_crop(stride1, ref.shape)))
        found.append(Mistake("stride_on_kernel", f"the stride was applied to the kernel index instead of the output "
                                                 f"index (x_pad[i + p*stride]); {at}",
                             value=_crop(on_padded(padded, stride=1, dilation=taps), ref.shape)))
        found.append(Mistake("stride_ignored", f"the stride was left out; {at}", value=stride1))
        # rounding the size up: the last window hangs over the end and reads zeros
        ceil = lambda n, k, ss, dd: -(-(n - _span(k, dd)) // ss) + 1
        Hc, Wc = ceil(padded.shape[2], kh, s[0], d[0]), ceil(padded.shape[3], kw, s[1], d[1])
        if (Hc, Wc) != (Ho, Wo):
            more = np.pad(padded, ((0, 0), (0, 0), (0, s[0]), (0, s[1])))
            text = ("the output size was rounded up; it rounds down: H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1, "
                    "a window that would hang over the end of the padded input is not computed")
            found.append(Mistake("floor_vs_ceil", text, value=_crop(on_padded(more), (N, Co, Hc, Wc))))
            found.append(Mistake("floor_vs_ceil", text, shape=(N, Co, Hc, Wc)))

    for dd, how in (((d[0] + 1, d[1] + 1), "dilation + 1 apart (dilation gaps between them)"),
                    ((max(d[0] - 1, 1), max(d[1] - 1, 1)), "dilation - 1 apart")):
        if dd == d or (dd == (1, 1) and how.endswith("- 1 apart")):
            continue
        v = on_padded(padded, dilation=dd)
        text = f"the kernel's taps are {how}; dilation d puts them d apart (d - 1 gaps): {at}"
        found += [Mistake("dilation_off_by_one", text, value=_crop(v, ref.shape)),
                  Mistake("dilation_off_by_one", text, value=v)]
    if d != (1, 1):
        v = on_padded(padded, dilation=1)
        text = f"the dilation was left out: the taps are `dilation` apart; {at}"
        found += [Mistake("dilation_ignored", text, value=_crop(v, ref.shape)), Mistake("dilation_ignored", text, value=v)]
        size = lambda n, span, ss: (n - span) // ss + 1
        for spans, what in (((d[0] * kh, d[1] * kw), "dilation*k"), ((d[0] * (kh - 1), d[1] * (kw - 1)), "dilation*(k - 1)")):
            shape = (N, Co, size(padded.shape[2], spans[0], s[0]), size(padded.shape[3], spans[1], s[1]))
            if shape != ref.shape and min(shape) > 0:
                found.append(Mistake("dilation_off_by_one", f"the output size takes the dilated kernel to span {what} "
                                                            f"pixels; it spans dilation*(k - 1) + 1", shape=shape))
    rule = "H_out = floor((H + 2p - d(kH - 1) - 1) / s) + 1, the same for W"
    found += off_by_one(ref.shape, rule)
    if N == 1:
        found.append(Mistake("wrong_shape", "the batch axis is missing: return (N, C_out, H_out, W_out) even for "
                                            "N = 1", shape=ref.shape[1:]))
    return [m for m in found if m.value is not None or m.shape is not None]


# ----------------------------------------------------------------------------- registration

register(Graded("pad2d", ASSIGNMENT, _visible_pad2d, _hidden_pad2d, R.pad2d, _pad2d_mistakes,
                argnames=("x", "padding")))
register(Graded("conv_output_size", ASSIGNMENT, _visible_size, _hidden_size, _size_reference, _size_mistakes,
                argnames=("size", "kernel_size")))
register(Graded("conv2d", ASSIGNMENT, _visible_conv2d, _hidden_conv2d, R.conv2d, _conv2d_mistakes,
                argnames=("x", "w", "b")))
