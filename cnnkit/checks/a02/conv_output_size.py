"""02's conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1): how many positions a
(dilated) kernel takes along an axis, floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1;
a pair of sizes (H, W) gives a pair. The answer is a whole number (an int, or an integer array (2,))."""

import math
import numpy as np

from ... import reference as R
from ..._args import conv_padding, is_int
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT


def reference(*args, **kwargs):
    """R.conv_output_size as an array, so that a pair of sizes is one answer (a 1-D array), not a tuple of
    answers."""
    return np.asarray(R.conv_output_size(*args, **kwargs))


reference.__wrapped__ = R.conv_output_size   # what it answers with, for whoever looks the reference up


def size_case(size, kernel_size, note="", **kwargs):
    parts = [f"size={size}", f"kernel_size={kernel_size}"] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return Case("conv_output_size", (size, kernel_size), kwargs, ", ".join(parts) + (f" ({note})" if note else ""))


def visible():
    c = size_case
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


def _axes(case):
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


def mistakes(case, ref):
    axes, pair = _axes(case)

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


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
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
            out.append(size_case(size, k, kind, **kw))
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


register(Graded("conv_output_size", ASSIGNMENT, visible, hidden, reference, mistakes,
                argnames=("size", "kernel_size")))
