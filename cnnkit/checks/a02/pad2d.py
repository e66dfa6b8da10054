"""02's pad2d(x, padding): zeros around the last two axes of x (..., H, W) -> (..., H + top + bottom,
W + left + right); `padding` is an int, (ph, pw) or four sides (left, right, top, bottom)."""

import numpy as np

from ... import reference as R
from ..._args import is_int
from ..common import F64, both_dtypes, dtype_name, rand
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT


def sides(padding):
    """(left, right, top, bottom) of pad2d's `padding`: an int, (ph, pw) or four sides."""
    if is_int(padding):
        return (int(padding),) * 4
    p = tuple(int(v) for v in padding)
    return (p[1], p[1], p[0], p[0]) if len(p) == 2 else p


def visible():
    x33 = np.arange(1, 10, dtype=F64).reshape(3, 3)
    x23 = np.arange(1, 7, dtype=F64).reshape(2, 3)
    return [
        Case("pad2d", (x33, 1), {}, "x=arange(1,10).reshape(3,3), padding=1 (one ring of zeros)"),
        Case("pad2d", (x23, (1, 2)), {},
             "x=arange(1,7).reshape(2,3), padding=(1, 2) (1 row above and below, 2 columns left and right)"),
        Case("pad2d", (x23.copy(), (1, 0, 2, 0)), {},
             "x=arange(1,7).reshape(2,3), padding=(1, 0, 2, 0) (left 1, right 0, top 2, bottom 0)"),
        Case("pad2d", (np.arange(1, 13, dtype=F64).reshape(1, 2, 2, 3), 1), {},
             "a batch x of shape (1, 2, 2, 3) (N, C, H, W), padding=1: only H and W grow"),
        Case("pad2d", (x23[None].copy(), (0, 1)), {},
             "x of shape (1, 2, 3) (C, H, W), padding=(0, 1): columns only"),
        Case("pad2d", (x23.copy(), 0), {}, "x=arange(1,7).reshape(2,3), padding=0 (nothing to add)"),
    ]


_ONLY_HW = ("pad2d pads only the last two axes, H and W: "
            "np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)])")
_LEADING = {3: {0: "channel"}, 4: {0: "batch", 1: "channel"}}


def mistakes(case, ref):
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


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
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
    for (shape, padding), dt in both_dtypes(specs):
        out.append(Case("pad2d", (rand(rng, shape, dt), padding), {},
                        f"random {dtype_name(dt)} x of shape {shape}, padding={padding!r}"))
    return out


register(Graded("pad2d", ASSIGNMENT, visible, hidden, R.pad2d, mistakes, argnames=("x", "padding")))
