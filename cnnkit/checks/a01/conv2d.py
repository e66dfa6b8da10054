"""01's conv2d(x, w, b=None): the batched, multi-channel convolution layer, stride 1, no padding.

    x (N, C_in, H, W), w (C_out, C_in, kH, kW), b (C_out,) or None -> y (N, C_out, H - kH + 1, W - kW + 1),
    y[n, o] = b[o] + sum_c correlate2d(x[n, c], w[o, c])
"""

import numpy as np

from ... import reference as R
from .. import conv_mistakes
from ..common import F64, arr, attempt, both_dtypes, dtype_name, rand, varied
from ..core import Case, Graded, Mistake, off_by_one, register
from . import ASSIGNMENT
from .signal import EDGE, LECTURE_K2, LECTURE_X2, binary_image


def visible():
    img = binary_image()
    # small integers without a period that lines up with the kernel, so every mistake changes the output
    x2 = varied((2, 2, 4, 5))
    w2 = varied((3, 2, 2, 3), 5, 7, 3)
    return [
        Case("conv2d", (LECTURE_X2.reshape(1, 1, 3, 3).copy(), LECTURE_K2.reshape(1, 1, 2, 2).copy()), {},
             "the lecture's example as one image of one channel: x (1, 1, 3, 3), w (1, 1, 2, 2)"),
        Case("conv2d", (img.reshape(1, 1, 7, 7), EDGE.reshape(1, 1, 3, 3).copy(), arr([0.5])), {},
             "the 7x7 binary image with the vertical-edge filter and bias 0.5"),
        Case("conv2d", (np.stack([LECTURE_X2, LECTURE_X2[::-1]])[None].copy(),
                        np.stack([LECTURE_K2, -LECTURE_K2.T])[None].copy()), {},
             "two input channels summed into one output channel: x (1, 2, 3, 3), w (1, 2, 2, 2)"),
        Case("conv2d", (np.arange(12, dtype=F64).reshape(1, 3, 2, 2), arr([[1, 0, -1], [1, 1, 1]]).reshape(2, 3, 1, 1),
                        arr([1, -1])), {},
             "a 1x1 convolution: x (1, 3, 2, 2), w (2, 3, 1, 1), b=[1,-1]"),
        Case("conv2d", (x2, w2, arr([1, 2, 3])), {},
             "a batch of 2 images, 2 input and 3 output channels: x (2, 2, 4, 5), w (3, 2, 2, 3), b=[1,2,3]"),
    ]


# what the single-channel functions of 01 compute, in the messages about channels and the bias
_SUM = "sum_c correlate2d(x[n, c], w[o, c])"


def mistakes(case, ref):
    x, w = case.args[:2]
    b = case.args[2] if len(case.args) > 2 else None
    N, Ci, H, W = x.shape
    Co, _, kh, kw = w.shape
    Ho, Wo = ref.shape[2:]
    y0 = R.conv2d(x, w)
    found = [conv_mistakes.flipped_kernel(R.conv2d(x, w[:, :, ::-1, ::-1], b))]
    if b is not None:
        found += conv_mistakes.bias_mistakes(y0, b, _SUM)
    if Ci > 1:
        bb = 0 if b is None else b[None, :, None, None]
        summed = f"{conv_mistakes.SUMMED}: y[n, o] = {_SUM}"
        found += [conv_mistakes.first_channel_only(R.conv2d(x[:, :1], w[:, :1], b), f": y[n, o] = {_SUM}"),
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
        v = attempt(R.conv2d, x, w, b, padding=pad)
        if v is not None:
            text = (f"the output has the size of '{mode}' mode ({rule}); conv2d here is 'valid': no padding, "
                    f"H_out = H - kH + 1, W_out = W - kW + 1")
            found += [Mistake("wrong_size", text, value=v), Mistake("wrong_size", text, shape=v.shape)]
    found += off_by_one(ref.shape, "H_out = H - kH + 1, W_out = W - kW + 1; check the range of your loop")
    if N == 1:
        found.append(conv_mistakes.batch_axis_missing(ref.shape))
    return found


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
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
    for (N, Ci, Co, H, W, kh, kw, bias), dt in both_dtypes(specs):
        x, w = rand(rng, (N, Ci, H, W), dt), rand(rng, (Co, Ci, kh, kw), dt)
        args = (x, w) if bias is False else (x, w, None) if bias == "none" else (x, w, rand(rng, Co, dt))
        what = "no bias" if bias is False else "b=None" if bias == "none" else "with bias"
        out.append(Case("conv2d", args, {}, f"random {dtype_name(dt)} x of shape {x.shape}, "
                                            f"w of shape {w.shape}, {what}"))
    return out


register(Graded("conv2d", ASSIGNMENT, visible, hidden, R.conv2d, mistakes, argnames=("x", "w", "b")))
