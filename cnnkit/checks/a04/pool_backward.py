"""What the two pooling backward passes of assignment 04 share: their cases (dout, x, kernel_size[, stride]),
a backward pass done window by window that makes their mistakes, and the mistakes of the geometry.
"""

import numpy as np

from ..common import EXAMPLE, F32, F64, SMALL, arr, draw, dtype_name, image, pool_geometry, pool_label, varied
from ..core import Case, Mistake


ARGS = ("dout", "x", "kernel_size", "stride")


def pool_args(case):
    """(dout, x, (kH, kW), (sH, sW), (H_out, W_out), whether the stride was given)."""
    dout, x, k = case.args[:3]
    stride = case.args[3] if len(case.args) > 3 else case.kwargs.get("stride")
    k, s, out = pool_geometry(x.shape, k, stride)
    return dout, x, k, s, out, stride is not None


def pool_case(name, x, kernel_size, stride=None, dout=None, note="", prefix="", rng=None):
    """A case; stride=None leaves the argument out. dout: given, drawn from `rng`, or small integers."""
    _, _, out = pool_geometry(x.shape, kernel_size, stride)
    if dout is None:
        shape = x.shape[:2] + out
        dout = (rng.standard_normal(shape).astype(x.dtype) if rng is not None
                else (np.arange(1, int(np.prod(shape)) + 1) % 7 + 1).astype(x.dtype).reshape(shape))
    args = (dout, x, kernel_size) if stride is None else (dout, x, kernel_size, stride)
    return Case(name, args, {}, pool_label(x, kernel_size, stride, note, prefix))


TIES = np.array([[0, 2, 1, 1], [2, 0, 3, 0], [0, 0, 0, 4], [1, 0, 4, 0]], dtype=F64)


def visible_pool(name):
    c = lambda *a, **kw: pool_case(name, *a, **kw)
    d22 = arr([[1, 2], [3, 4]]).reshape(1, 1, 2, 2)
    out = [c(image(EXAMPLE), 2, 2, d22, "the 4x4 map of assignment 03, dout = [[1, 2], [3, 4]]"),
           c(image(EXAMPLE), 2, None, d22.copy(), "the same with the default stride"),
           c(image(SMALL), 3, 2, note="the 5x5 map, 3x3 windows overlapping by one: the shared pixels collect from "
                                      "two or four windows"),
           c(image(SMALL), 2, note="the 5x5 map, 2x2 windows: the last row and column are in no window"),
           c(varied((2, 3, 4, 4), 7, 23, 11), 2, note="a batch of 2 images with 3 channels"),
           c(varied((1, 2, 4, 6), 7, 23, 11), (2, 3), (2, 1), note="a 2x3 kernel with stride (2, 1)")]
    if name == "max_pool2d_backward":
        out.insert(2, c(image(TIES), 2, None, d22.copy(), "ties: the window at the top left holds 2 twice, the one at "
                                                          "the bottom right 4 twice"))
        out.insert(4, c(image(SMALL), 3, 1, note="the 5x5 map, 3x3 windows with stride 1: the 8 at (1, 1) is the "
                                                 "maximum of four windows"))
        out.append(c(np.zeros((1, 1, 4, 4)), 2, note="an image of zeros: every window is a four-way tie"))
    return out


# ----------------------------------------------------------------------------- mistakes of both

def route(dout, x, k, s, out, how, accumulate=True):
    """dx of a pooling backward pass done window by window (N and C at once); `how` says where each window's
    gradient goes: "first" / "last" maximum, "all_ties", "split_ties", "spread" (every pixel gets dout),
    "mean" (every pixel dout / area), "at_max" (the first maximum, assigned alone: the rest untouched)."""
    N, C = x.shape[:2]
    dx = np.zeros(x.shape)
    kk = k[0] * k[1]
    for i in range(out[0]):
        for j in range(out[1]):
            rows, cols = slice(i * s[0], i * s[0] + k[0]), slice(j * s[1], j * s[1] + k[1])
            win = x[:, :, rows, cols].astype(F64).reshape(N, C, kk)
            g = dout[:, :, i, j].astype(F64)[..., None]
            if how in ("first", "at_max"):
                mask = np.eye(kk)[np.argmax(win, axis=-1)]
            elif how == "last":
                mask = np.eye(kk)[kk - 1 - np.argmax(win[..., ::-1], axis=-1)]
            elif how in ("all_ties", "split_ties"):
                mask = (win == win.max(axis=-1, keepdims=True)).astype(F64)
                if how == "split_ties":
                    mask /= mask.sum(axis=-1, keepdims=True)
            elif how == "spread":
                mask = np.ones_like(win)
            else:
                mask = np.full_like(win, 1.0 / kk)
            part = (mask * g).reshape(N, C, k[0], k[1])
            if how == "at_max" and not accumulate:
                block = dx[:, :, rows, cols]
                dx[:, :, rows, cols] = np.where(mask.reshape(part.shape) > 0, part, block)
            elif accumulate:
                dx[:, :, rows, cols] += part
            else:
                dx[:, :, rows, cols] = part
    return dx


def pool_common_mistakes(case, ref, how_right):
    dout, x, k, s, out, given = pool_args(case)
    N, C, H, W = x.shape
    found = []
    overlap = s[0] < k[0] or s[1] < k[1]
    if overlap:
        text = ("windows that overlap were not added up: a later window overwrote what an earlier one gave a shared "
                "pixel; a pixel in several windows collects the sum of their gradients (dx[...] += ..., not =)")
        found.append(Mistake("overlap_not_summed", text, value=route(dout, x, k, s, out, how_right, False)))
        if how_right == "first":
            found.append(Mistake("overlap_not_summed", text, value=route(dout, x, k, s, out, "at_max", False)))
    cover = (out[0] * s[0], out[1] * s[1])
    if cover != (H, W):
        text = ("dx must have the shape of x, (N, C, H, W); rows and columns that no window reaches get a gradient "
                "of 0 (np.repeat / np.kron of dout only fill H_out*sH rows)")
        found.append(Mistake("wrong_size", text, shape=(N, C) + cover))
        found.append(Mistake("wrong_size", text, shape=(N, C, out[0] * k[0], out[1] * k[1])))
    found.append(Mistake("wrong_shape", "dx has the shape of the pooled output; it has the shape of x, the "
                                        "forward input: every input pixel gets a gradient", shape=dout.shape))
    return found


# ----------------------------------------------------------------------------- hidden cases, for the grader

POOL_SPECS = [  # (N, C, H, W, kernel_size, stride or None)
    (1, 1, (4, 9), (4, 9), 2, None), ((1, 3), (1, 4), (5, 9), (5, 9), 2, 2), (1, 2, (5, 9), (5, 9), 3, 1),
    (2, 1, (6, 10), (6, 10), 3, 2), ((1, 3), 3, 7, (7, 10), 3, None), (2, 2, (5, 9), (5, 9), 2, 3),
    (1, 3, (4, 8), (5, 9), (2, 3), (1, 2)), (1, 2, (5, 8), (4, 7), (3, 2), None)]


def hidden_pool(name, rng):
    out = []
    for dt in (F64, F32):
        for i, (N, C, H, W, k, s) in enumerate(POOL_SPECS):
            shape = tuple(draw(rng, v) for v in (N, C, H, W))
            if name == "max_pool2d_backward" and i % 2 == 0:
                x, note = rng.integers(-3, 4, shape).astype(dt), "small integers, with ties"
            else:
                x, note = rng.standard_normal(shape).astype(dt), ""
            out.append(pool_case(name, x, k, s, note=note, prefix=f"random {dtype_name(dt)} ", rng=rng))
    return out
