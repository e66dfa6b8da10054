"""02's conv2d(x, w, b=None, stride=1, padding=0, dilation=1): the convolution layer with every option.

    x (N, C_in, H, W), w (C_out, C_in, kH, kW), b (C_out,) or None -> y (N, C_out, H_out, W_out),
    H_out = floor((H + 2p - d(kH - 1) - 1) / s) + 1, the same for W;
    y[n, o, i, j] = b[o] + sum_{c, p, q} x_pad[n, c, i*sH + p*dH, j*sW + q*dW] w[o, c, p, q]

`padding` is an int, a pair, "valid" or "same" (the odd pixel at the bottom / right, as PyTorch).
"""

import numpy as np

from ... import reference as R
from ..._args import conv_padding, is_int
from .. import conv_mistakes
from ..common import arr, attempt, both_dtypes, K3, pair, rand, varied
from ..core import Case, Graded, Mistake, off_by_one, register
from . import ASSIGNMENT


def conv_case(x, w, b=None, note="", **kwargs):
    args = (x, w) if b is None else (x, w, b)
    opts = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    label = f"x {x.shape}, w {w.shape}" + (", with bias" if b is not None else "") + (f", {opts}" if opts else "")
    return Case("conv2d", args, kwargs, label + (f" ({note})" if note else ""))


def visible():
    x5 = varied((1, 1, 5, 5), 7, 11, 5)
    w3 = K3.reshape(1, 1, 3, 3).copy()
    c = conv_case
    return [
        c(x5, w3, note="no padding, stride 1: 3x3, as in assignment 01"),
        c(x5.copy(), w3.copy(), note="one ring of zeros: the output keeps the 5x5 size", padding=1),
        c(x5.copy(), w3.copy(), note="every other position: 2x2", stride=2),
        c(x5.copy(), w3.copy(), note="padded and strided: 3x3", stride=2, padding=1),
        c(varied((1, 1, 7, 7), 5, 13, 6), w3.copy(), note="taps 2 apart: the kernel spans 5x5, the output is 3x3",
          dilation=2),
        c(varied((1, 1, 4, 5), 3, 7, 3), arr([[1, 2], [-1, 1]]).reshape(1, 1, 2, 2), note="an even kernel: the "
          "extra row and column of zeros go at the bottom and right", padding="same"),
        c(x5.copy(), w3.copy(), note="padding k - 1 = 2: 'full', every partial overlap, 7x7", padding=2),
        c(varied((2, 2, 6, 7)), varied((3, 2, 3, 2), 5, 7, 3), arr([1, 2, 3]),
          note="a batch with everything: 3x5", stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    ]


def _crop(v, shape):
    """v cut to the expected output's size: what a loop over the right output size reads."""
    if v is None or v.ndim != 4 or v.shape[2] < shape[2] or v.shape[3] < shape[3]:
        return None
    return v[:, :, :shape[2], :shape[3]]


def _span(k, d):
    return d * (k - 1) + 1


def mistakes(case, ref):
    x, w = case.args[:2]
    b = case.args[2] if len(case.args) > 2 else None
    opts = case.kwargs
    N, Ci, H, W = x.shape
    Co, _, kh, kw = w.shape
    s, d = pair(opts.get("stride", 1)), pair(opts.get("dilation", 1))
    padding = opts.get("padding", 0)
    (top, bottom), (left, right) = conv_padding(padding, (kh, kw), s, d, "conv2d")
    Ho, Wo = ref.shape[2:]
    conv = lambda xx, ww=w, bb=b, **o: attempt(R.conv2d, xx, ww, bb, **{**opts, **o})
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))

    def on_padded(xp, **o):   # the convolution of an input padded by hand, with no padding of its own
        return attempt(R.conv2d, xp, w, b, **{"stride": s, "dilation": d, **o, "padding": 0})

    found = [conv_mistakes.flipped_kernel(conv(x, w[:, :, ::-1, ::-1]))]
    y0 = conv(x, bb=None)
    if b is not None and y0 is not None:
        found += conv_mistakes.bias_mistakes(y0, b, "...")
    if Ci > 1:
        found.append(conv_mistakes.first_channel_only(conv(x[:, :1], w[:, :1])))

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
        found.append(conv_mistakes.batch_axis_missing(ref.shape))
    return [m for m in found if m.value is not None or m.shape is not None]


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
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
    for (N, Ci, Co, H, W, kh, kw, bias, opts), dt in both_dtypes(specs):
        x, w = rand(rng, (N, Ci, H, W), dt), rand(rng, (Co, Ci, kh, kw), dt)
        opts = dict(opts)
        if opts.get("padding") == "full":
            d = opts.get("dilation", 1)
            opts["padding"] = (d * (kh - 1), d * (kw - 1))
            note = "full: padding d*(k - 1)"
        else:
            note = ""
        b = rand(rng, Co, dt) if bias is True else None
        case = conv_case(x, w, b, note=note, **opts)
        if bias == "none":   # b=None passed explicitly
            case = Case("conv2d", (x, w, None), case.kwargs, case.label + ", b=None")
        out.append(case)
    return out


register(Graded("conv2d", ASSIGNMENT, visible, hidden, R.conv2d, mistakes, argnames=("x", "w", "b")))
