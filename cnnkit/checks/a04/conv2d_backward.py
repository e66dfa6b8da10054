"""conv2d_backward(dout, x, w, stride=1, padding=0) -> (dx, dw, db): the gradients of a convolution.

dout (N, C_out, H_out, W_out), x (N, C_in, H, W), w (C_out, C_in, kH, kW). Each of dx, dw, db is
judged on its own (`parts`); the mistakes: a kernel not rotated in dx, the padding left in dx, dw
transposed or rotated, gradients not summed over the positions or the batch.
"""

import numpy as np

from ... import reference as R
from ..common import F32, F64, arr, attempt, dtype_name, pair, rand, varied
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT
from .parts import judge_parts


def _case(x, w, stride=None, padding=None, dout=None, note="", prefix="", rng=None):
    """A case; stride, padding None leave the argument out. dout: given, drawn from `rng`, or small integers."""
    kwargs = {}
    if stride is not None:
        kwargs["stride"] = stride
    if padding is not None:
        kwargs["padding"] = padding
    y_shape = R.conv2d(x, w, **kwargs).shape
    if dout is None:
        dout = (rng.standard_normal(y_shape).astype(x.dtype) if rng is not None
                else ((np.arange(int(np.prod(y_shape))) * 5 % 7) - 3).astype(x.dtype).reshape(y_shape))
    opts = "".join(f", {k}=" + str(v).replace(" ", "") for k, v in kwargs.items())
    label = f"{prefix}x {x.shape}, w {w.shape}{opts}, dout {dout.shape}"
    return Case("conv2d_backward", (dout, x, w), kwargs, label + (f" ({note})" if note else ""))


def visible():
    c = _case
    x4 = arr([[1, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1], [1, 3, 0, 2]]).reshape(1, 1, 4, 4)
    w2 = arr([[1, 2], [-1, 0]]).reshape(1, 1, 2, 2)
    w3 = arr([[1, 0, -1], [2, 1, 0], [0, -1, 1]]).reshape(1, 1, 3, 3)
    x5 = varied((1, 1, 5, 5), 7, 11, 5)
    return [c(x4, w2, dout=arr([[1, 0, -1], [2, 1, 0], [0, 1, 1]]).reshape(1, 1, 3, 3),
              note="one channel, a 2x2 kernel: dw sums the 9 windows of x, each weighted by its dout"),
            c(varied((2, 2, 5, 5), 7, 23, 11), varied((3, 2, 3, 3), 5, 7, 3),
              note="a batch of 2, 2 input and 3 output channels: dw and db add up every position and image"),
            c(x5, w3.copy(), stride=2, note="stride 2: a 2x2 output"),
            c(x4.copy(), w3.copy(), padding=1, note="padding 1: the output keeps the 4x4 size; dx drops the padding"),
            c(varied((1, 2, 6, 6), 3, 13, 6), varied((2, 2, 3, 3), 5, 7, 3), stride=2, padding=1,
              note="stride 2 and padding 1: 3x3 outputs, the last padded row and column unused"),
            c(varied((2, 1, 5, 6), 5, 9, 4), varied((2, 1, 2, 3), 3, 5, 2), stride=(1, 2), padding=(1, 0),
              note="a 2x3 kernel, stride (1, 2), padding (1, 0)")]


# ----------------------------------------------------------------------------- mistakes

def _conv_options(case):
    s = pair(case.kwargs.get("stride", 1))
    p = pair(case.kwargs.get("padding", 0))
    return s, p


def conv_mistakes(case, refs):
    dout, x, w = case.args
    s, p = _conv_options(case)
    dx, dw, db = refs
    N = x.shape[0]
    Co, Ho, Wo = dout.shape[1:]
    kh, kw = w.shape[2:]
    xp = np.pad(x.astype(F64), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    d64 = dout.astype(F64)
    summed = ("dw[o, c, a, b] = sum over the images n and the positions (i, j) of dout[n, o, i, j] * "
              "x_pad[n, c, i*s + a, j*s + b]: every position used the same weight, so every position adds to its "
              "gradient")
    last_pos = np.einsum("no,ncab->ocab", d64[:, :, -1, -1],
                         xp[:, :, (Ho - 1) * s[0]:(Ho - 1) * s[0] + kh, (Wo - 1) * s[1]:(Wo - 1) * s[1] + kw])
    found = {
        "dx": [Mistake("dx_kernel_not_flipped", "dx went back through the kernel the wrong way round (not rotated); "
                                                "each output pixel (i, j) sends dout * w[a, b] back to the input pixel "
                                                "it read, x[i*s + a, j*s + b], which amounts to a full "
                                                "cross-correlation of dout with the kernel rotated by 180° (a full true "
                                                "convolution with the kernel as it is)",
                       value=attempt(lambda: R.conv2d_backward(dout, x, w[:, :, ::-1, ::-1], stride=s, padding=p)[0])),
               Mistake("padding_not_removed", "dx still has the padding's rows and columns; the padding is not an "
                                              "input: crop dx_pad to dx_pad[:, :, p:p + H, p:p + W]",
                       value=attempt(lambda: R.conv2d_backward(dout, xp.astype(x.dtype), w, stride=s)[0]))],
        "dw": [Mistake("weight_transposed", "dw has its first two axes swapped, (C_in, C_out, kH, kW); it has the "
                                            "shape of w, (C_out, C_in, kH, kW)", value=dw.transpose(1, 0, 2, 3)),
               Mistake("conv_weight_flipped", "dw is rotated by 180°: the forward pass is a cross-correlation "
                                              "(no flip), and so is dw, the correlation of x_pad with dout",
                       value=dw[:, :, ::-1, ::-1]),
               Mistake("not_summed_positions", f"dw holds only the last output position's share (overwritten in the "
                                               f"loop over positions? use +=); {summed}", value=last_pos)],
        "db": [Mistake("not_summed_positions", "db was summed over the batch only; it is summed over every position "
                                               "too: db = dout.sum(axis=(0, 2, 3)), of shape (C_out,)",
                       value=d64.sum(axis=0)),
               Mistake("not_summed_batch", "db was summed over the positions only, per image; it is summed over the "
                                           "batch too: db = dout.sum(axis=(0, 2, 3)), of shape (C_out,)",
                       value=d64.sum(axis=(2, 3))),
               Mistake("not_summed_positions", "db holds only the last position's share; db = dout.sum(axis=(0, 2, "
                                               "3))", value=d64[:, :, -1, -1].sum(axis=0))]}
    if Ho * Wo > 1:
        found["db"].append(Mistake("not_summed_positions", "db is the mean over the positions; the bias is added at "
                                                           "every position, so every position adds to its gradient: "
                                                           "db = dout.sum(axis=(0, 2, 3))",
                                   value=d64.mean(axis=(2, 3)).sum(axis=0)))
        found["dw"].append(Mistake("not_summed_positions", f"dw is the mean over the positions; {summed}",
                                   value=dw / (Ho * Wo)))
    if N > 1:
        one = lambda n: R.conv2d_backward(dout[n:n + 1], x[n:n + 1], w, stride=s, padding=p)
        found["dw"] += [Mistake("not_summed_batch", f"dw holds only the last image's share (overwritten in a loop over "
                                                    f"the batch? use +=); {summed}", value=one(N - 1)[1]),
                        Mistake("not_summed_batch", f"dw holds only the first image's share; {summed}",
                                value=one(0)[1]),
                        Mistake("not_summed_batch", f"dw is the mean over the batch; {summed}", value=dw / N)]
        found["db"] += [Mistake("not_summed_batch", "db holds only the last image's share; db = dout.sum(axis=(0, 2, "
                                                    "3))", value=one(N - 1)[2]),
                        Mistake("not_summed_batch", "db is the mean over the batch; db = dout.sum(axis=(0, 2, 3))",
                                value=db / N)]
    return {k: [m for m in v if m.value is not None or m.shape is not None] for k, v in found.items()}


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    specs = [(r(1, 3), r(1, 3), r(1, 4), r(4, 8), r(4, 8), 3, 3, None, None),
             (2, 2, 3, r(5, 8), r(5, 8), 2, 2, None, None),
             (r(1, 3), 2, 2, r(6, 10), r(6, 10), 3, 3, 2, None),
             (r(1, 3), r(1, 3), 2, r(4, 7), r(4, 7), 3, 3, None, 1),
             (2, 2, r(1, 4), r(6, 10), r(6, 10), 3, 3, 2, 1),
             (r(1, 3), 2, 2, r(5, 9), r(5, 9), 2, 3, (1, 2), (1, 0)),
             (3, 1, 2, r(5, 8), r(5, 8), 1, 1, None, None),
             (1, 3, 2, r(7, 10), r(7, 10), r(2, 4), r(2, 4), 3, r(0, 2))]
    out = []
    for dt in (F64, F32):
        for N, Ci, Co, H, W, kh, kw, s, p in specs:
            out.append(_case(rand(rng, (N, Ci, H, W), dt), rand(rng, (Co, Ci, kh, kw), dt), s, p,
                             prefix=f"random {dtype_name(dt)} ", rng=rng))
    return out


register(Graded("conv2d_backward", ASSIGNMENT, visible, hidden, R.conv2d_backward, lambda case, ref: [],
                argnames=("dout", "x", "w"), judge=judge_parts(("dx", "dw", "db"), conv_mistakes)))
