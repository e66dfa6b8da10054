"""Assignment 01: 1-D and 2-D convolution and cross-correlation, and the batched conv2d layer.

Graded: convolve1d(x, k) (full), correlate1d(x, k) (valid), correlate2d(x, k) (valid),
convolve2d(x, k) (valid), conv2d(x, w, b=None) (batched, multi-channel, stride 1, no padding).

Visible cases are small and hand-readable, including the lectures' worked examples; hidden cases
are random, with float32 and float64, non-square and even-sized kernels, kernels of length 1,
several channels, batches and biases. Each function's typical mistakes are computed with the
reference so the judge can name them.
"""

import numpy as np

from .. import reference as R
from .core import Case, Graded, Mistake, off_by_one, register

ASSIGNMENT = "01"
FUNCTIONS = ("convolve1d", "correlate1d", "correlate2d", "convolve2d", "conv2d")

_F64, _F32 = np.float64, np.float32


def _a(values, dtype=_F64):
    return np.array(values, dtype=dtype)


def _list(a):
    """A short literal of a small array for a label: [1,2,3] or [[0,1],[2,3]]."""
    return str(np.asarray(a).astype(int).tolist()).replace(" ", "")


# ----------------------------------------------------------------------------- fixed inputs

def binary_image():
    """The 7x7 binary image: a filled 3x3 square whose right column continues down as a bar."""
    img = np.zeros((7, 7))
    img[1:4, 1:4] = 1
    img[4:6, 3] = 1
    return img


# a vertical-edge filter: not symmetric under a 180° rotation, so a flipped kernel shows
EDGE = _a([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
LECTURE_X2 = np.arange(9, dtype=_F64).reshape(3, 3)
LECTURE_K2 = _a([[0, 1], [2, 3]])


def _rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _both_dtypes(specs):
    """Every hidden shape once in float64 and once in float32: (spec, dtype) pairs."""
    return [(s, dt) for dt in (_F64, _F32) for s in specs]


# ----------------------------------------------------------------------------- 1-D

def _visible_1d(name):
    c = lambda x, k, note="": Case(name, (_a(x), _a(k)), {},
                                   f"x={_list(x)}, k={_list(k)}" + (f" ({note})" if note else ""))
    out = [c([1, 2, 3, 4], [5, 6, 7], "the lecture's example"),
           c([1, 2, 3, 4, 5], [1, -1], "a kernel of even length"),
           c([3, 1, 2], [2], "a kernel of length 1"),
           c([1, 2, 3], [1, 0, -1], "kernel as long as x")]
    if name == "convolve1d":
        out.insert(1, c([0, 1, 0, 0], [1, 2, 3], "an impulse: convolution copies the kernel"))
        out.append(c([1, -1], [1, 2, 3], "kernel longer than x"))
    else:
        out.insert(1, c([0, 1, 4, 9, 16], [-1, 0, 1], "differences two apart"))
    return out


def _hidden_1d(name, rng):
    sizes = [(int(rng.integers(5, 12)), 3), (int(rng.integers(5, 12)), 4), (int(rng.integers(3, 9)), 1),
             (6, 6), (int(rng.integers(8, 16)), 2), (int(rng.integers(8, 16)), 5)]
    if name == "convolve1d":   # full mode is defined for a kernel longer than x too
        sizes.append((int(rng.integers(2, 4)), int(rng.integers(4, 7))))
    return [Case(name, (_rand(rng, n, dt), _rand(rng, m, dt)), {},
                 f"random {np.dtype(dt).name} x of shape ({n},), k of shape ({m},)")
            for (n, m), dt in _both_dtypes(sizes)]


def _signal_mistakes(name, mode, flips):
    """Typical mistakes of a single-channel function `name` asked for `mode`.

    flips: (kernel transform, description) pairs: the kernel flipped where it must not be (or not
    flipped where it must), all the reference function applied to a transformed kernel.
    """
    fn = getattr(R, name)
    rule = {"full": "every position where x and k overlap at all, length n + m - 1",
            "valid": "only positions where k lies entirely inside x, length n - m + 1"}[mode]

    def mistakes(case, ref):
        x, k = case.args
        found = []
        for transform, text in flips:
            found.append(Mistake("flipped_kernel", text, value=_try(fn, x, transform(k), mode=mode)))
        for other in ("full", "valid", "same"):
            if other != mode:
                v = _try(fn, x, k, mode=other)
                found.append(Mistake("wrong_size", f"the output is the '{other}' mode result; {name} asks for "
                                                   f"'{mode}' mode ({rule})", value=v))
                if v is not None:
                    found.append(Mistake("wrong_size", f"the output has the shape of the '{other}' mode result; "
                                                       f"{name} asks for '{mode}' mode ({rule})", shape=v.shape))
        found += off_by_one(ref.shape, f"({mode} mode: {rule}); check the range of your loop",
                            axes=[(axis, f"along axis {axis}") for axis in range(ref.ndim)])
        return found

    return mistakes


def _try(fn, *args, **kwargs):
    try:
        return np.asarray(fn(*args, **kwargs))
    except Exception:  # a mistake that the reference cannot even form (e.g. an invalid mode) is skipped
        return None


_FLIP_1D_CONV = [(lambda k: k[::-1], "the kernel is not flipped: this is cross-correlation, but true "
                                     "convolution flips the kernel, y[n] = sum_m x[m] k[n - m]")]
_FLIP_1D_CORR = [(lambda k: k[::-1], "the kernel is flipped: this is true convolution, but cross-correlation "
                                     "slides k as it is, y[n] = sum_m x[n + m] k[m]")]
_FLIP_2D_CONV = [(lambda k: k[::-1, ::-1], "the kernel is not flipped: this is cross-correlation, but true "
                                           "convolution rotates the kernel by 180° (k[::-1, ::-1])"),
                 # convolve(x, T(k)) is correlate(x, rot180(T(k))): k[::-1, :] here means the columns
                 # only were flipped before correlating, and the reverse
                 (lambda k: k[::-1, :], "the kernel is flipped left-right only (k[:, ::-1]); convolution "
                                        "flips both axes (k[::-1, ::-1])"),
                 (lambda k: k[:, ::-1], "the kernel is flipped upside down only (k[::-1]); convolution "
                                        "flips both axes (k[::-1, ::-1])")]
_FLIP_2D_CORR = [(lambda k: k[::-1, ::-1], "the kernel is flipped (rotated by 180°): this is true convolution, "
                                           "but cross-correlation uses k as it is"),
                 (lambda k: k[::-1, :], "the kernel is flipped upside down (k[::-1]); cross-correlation uses k "
                                        "as it is"),
                 (lambda k: k[:, ::-1], "the kernel is flipped left-right (k[:, ::-1]); cross-correlation uses k "
                                        "as it is")]


# ----------------------------------------------------------------------------- 2-D

def _visible_2d(name):
    img = binary_image()
    out = [Case(name, (LECTURE_X2.copy(), LECTURE_K2.copy()), {},
                "x=arange(9).reshape(3,3), k=[[0,1],[2,3]] (the lecture's example)"),
           Case(name, (img, EDGE.copy()), {}, "a 7x7 binary image (a square with a bar), k=[[1,0,-1]]*3 "
                                              "(a vertical-edge filter)"),
           Case(name, (np.arange(12, dtype=_F64).reshape(3, 4), _a([[1, -1]])), {},
                "x=arange(12).reshape(3,4), k=[[1,-1]] (a 1x2 kernel)"),
           Case(name, (np.arange(12, dtype=_F64).reshape(4, 3), _a([[1], [2]])), {},
                "x=arange(12).reshape(4,3), k=[[1],[2]] (a 2x1 kernel)"),
           Case(name, (_a([[1, 2], [3, 4]]), _a([[2]])), {}, "x=[[1,2],[3,4]], k=[[2]] (a 1x1 kernel)")]
    return out


def _hidden_2d(name, rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    sizes = [(r(5, 9), r(5, 9), 3, 3), (r(5, 8), r(5, 8), 2, 2), (r(3, 7), r(3, 7), 1, 1),
             (r(4, 7), r(5, 8), 2, 3), (r(5, 8), r(4, 7), 3, 1), (4, 5, 4, 5), (r(5, 8), r(6, 9), 1, 4)]
    return [Case(name, (_rand(rng, (H, W), dt), _rand(rng, (kh, kw), dt)), {},
                 f"random {np.dtype(dt).name} x of shape ({H}, {W}), k of shape ({kh}, {kw})")
            for (H, W, kh, kw), dt in _both_dtypes(sizes)]


# ----------------------------------------------------------------------------- conv2d

def _visible_conv2d():
    img = binary_image()
    # small integers without a period that lines up with the kernel, so every mistake changes the output
    x2 = (np.arange(2 * 2 * 4 * 5) * 7 % 11 - 5).astype(_F64).reshape(2, 2, 4, 5)
    w2 = (np.arange(3 * 2 * 2 * 3) * 5 % 7 - 3).astype(_F64).reshape(3, 2, 2, 3)
    return [
        Case("conv2d", (LECTURE_X2.reshape(1, 1, 3, 3).copy(), LECTURE_K2.reshape(1, 1, 2, 2).copy()), {},
             "the lecture's example as one image of one channel: x (1, 1, 3, 3), w (1, 1, 2, 2)"),
        Case("conv2d", (img.reshape(1, 1, 7, 7), EDGE.reshape(1, 1, 3, 3).copy(), _a([0.5])), {},
             "the 7x7 binary image with the vertical-edge filter and bias 0.5"),
        Case("conv2d", (np.stack([LECTURE_X2, LECTURE_X2[::-1]])[None].copy(),
                        np.stack([LECTURE_K2, -LECTURE_K2.T])[None].copy()), {},
             "two input channels summed into one output channel: x (1, 2, 3, 3), w (1, 2, 2, 2)"),
        Case("conv2d", (np.arange(12, dtype=_F64).reshape(1, 3, 2, 2), _a([[1, 0, -1], [1, 1, 1]]).reshape(2, 3, 1, 1),
                        _a([1, -1])), {},
             "a 1x1 convolution: x (1, 3, 2, 2), w (2, 3, 1, 1), b=[1,-1]"),
        Case("conv2d", (x2, w2, _a([1, 2, 3])), {},
             "a batch of 2 images, 2 input and 3 output channels: x (2, 2, 4, 5), w (3, 2, 2, 3), b=[1,2,3]"),
    ]


def _hidden_conv2d(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    # (N, C_in, C_out, H, W, kH, kW, bias): bias "none" passes b=None explicitly; some shapes make
    # H_out or W_out equal C_out, so that a bias added on the wrong axis broadcasts and is recognised
    specs = [(1, 1, 1, r(4, 7), r(4, 7), 3, 3, False),
             (2, 3, 4, 6, 6, 3, 3, True),
             (2, 2, 3, 6, 5, 2, 3, True),
             (1, 3, 5, 6, 7, 2, 2, True),
             (r(2, 4), 4, 2, r(4, 6), r(4, 6), 1, 1, "none"),
             (3, 2, 2, 4, 4, 4, 4, True),
             (2, 3, 1, r(4, 7), r(4, 7), 2, 3, False),
             (r(1, 4), r(2, 4), r(2, 4), r(5, 8), r(5, 8), 3, 2, True)]
    out = []
    for (N, Ci, Co, H, W, kh, kw, bias), dt in _both_dtypes(specs):
        x, w = _rand(rng, (N, Ci, H, W), dt), _rand(rng, (Co, Ci, kh, kw), dt)
        args = (x, w) if bias is False else (x, w, None) if bias == "none" else (x, w, _rand(rng, Co, dt))
        what = "no bias" if bias is False else "b=None" if bias == "none" else "with bias"
        out.append(Case("conv2d", args, {}, f"random {np.dtype(dt).name} x of shape {x.shape}, "
                                            f"w of shape {w.shape}, {what}"))
    return out


def _conv2d_mistakes(case, ref):
    x, w = case.args[:2]
    b = case.args[2] if len(case.args) > 2 else None
    N, Ci, H, W = x.shape
    Co, _, kh, kw = w.shape
    Ho, Wo = ref.shape[2:]
    y0 = R.conv2d(x, w)
    found = [Mistake("flipped_kernel", "the kernel is flipped (rotated by 180°): a convolution layer computes "
                                       "cross-correlation and uses w as it is",
                     value=R.conv2d(x, w[:, :, ::-1, ::-1], b))]
    if b is not None:
        found.append(Mistake("bias_missing", "the bias b was not added: y[n, o] = b[o] + sum_c correlate2d(x[n, c], "
                                             "w[o, c])", value=y0))
        if Co > 1:
            if Wo == Co:
                found.append(Mistake("bias_wrong_axis", "b was added along the last (width) axis; it belongs to the "
                                                        "output channels: y + b[None, :, None, None]", value=y0 + b))
            if Ho == Co:
                found.append(Mistake("bias_wrong_axis", "b was added along the height axis; it belongs to the output "
                                                        "channels: y + b[None, :, None, None]", value=y0 + b[:, None]))
            if N == Co:
                found.append(Mistake("bias_wrong_axis", "b was added along the batch axis; it belongs to the output "
                                                        "channels: y + b[None, :, None, None]",
                                     value=y0 + b[:, None, None, None]))
    if Ci > 1:
        bb = 0 if b is None else b[None, :, None, None]
        summed = "each output channel is the SUM over all input channels: y[n, o] = sum_c correlate2d(x[n, c], w[o, c])"
        found += [Mistake("channels_not_summed", f"only the first input channel was used; {summed}",
                          value=R.conv2d(x[:, :1], w[:, :1], b)),
                  Mistake("channels_not_summed", f"only the last input channel is left (a loop that assigns with = "
                                                 f"instead of adding with +=); {summed}",
                          value=R.conv2d(x[:, -1:], w[:, -1:], b)),
                  Mistake("channels_not_summed", f"the input channels were averaged, not summed; {summed}",
                          value=y0 / Ci + bb)]
        for shape, how in (((N, Co, Ci, Ho, Wo), "one result per (output, input) channel pair"),
                           ((N, Ci, Co, Ho, Wo), "one result per (input, output) channel pair"),
                           ((N, Co * Ci, Ho, Wo), "C_out * C_in channels, one per (output, input) pair"),
                           ((N, Ci, Ho, Wo), "one result per input channel")):
            if shape != ref.shape:
                found.append(Mistake("channels_not_summed", f"the output has {how}; {summed}", shape=shape))
    for pad, mode, rule in (("same", "same", "as large as the input"),
                            ((kh - 1, kw - 1), "full", "every partial overlap")):
        v = _try(R.conv2d, x, w, b, padding=pad)
        if v is not None:
            text = (f"the output has the size of '{mode}' mode ({rule}); conv2d here is 'valid': no padding, "
                    f"H_out = H - kH + 1, W_out = W - kW + 1")
            found += [Mistake("wrong_size", text, value=v), Mistake("wrong_size", text, shape=v.shape)]
    found += off_by_one(ref.shape, "H_out = H - kH + 1, W_out = W - kW + 1; check the range of your loop")
    if N == 1:
        found.append(Mistake("wrong_shape", "the batch axis is missing: return (N, C_out, H_out, W_out) even for "
                                            "N = 1", shape=ref.shape[1:]))
    return found


# ----------------------------------------------------------------------------- registration

for _name, _mode, _flips in (("convolve1d", "full", _FLIP_1D_CONV), ("correlate1d", "valid", _FLIP_1D_CORR)):
    register(Graded(_name, ASSIGNMENT, (lambda n=_name: _visible_1d(n)), (lambda rng, n=_name: _hidden_1d(n, rng)),
                    getattr(R, _name), _signal_mistakes(_name, _mode, _flips)))
for _name, _flips in (("correlate2d", _FLIP_2D_CORR), ("convolve2d", _FLIP_2D_CONV)):
    register(Graded(_name, ASSIGNMENT, (lambda n=_name: _visible_2d(n)), (lambda rng, n=_name: _hidden_2d(n, rng)),
                    getattr(R, _name), _signal_mistakes(_name, "valid", _flips)))
register(Graded("conv2d", ASSIGNMENT, _visible_conv2d, _hidden_conv2d, R.conv2d, _conv2d_mistakes,
                argnames=("x", "w", "b")))
