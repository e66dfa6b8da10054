"""The windows of a convolution, for 05's messages: how many there are, the counts one off, and the
(kernel, stride, padding) of an im2col or conv2d_gemm case."""

from ..common import pair
from ..core import Mistake


def count(size, k, s, p):
    """floor((size + 2p - k) / s) + 1"""
    return (size + 2 * p - k) // s + 1


def counted(Ho, Wo):
    """[(H, W, where)]: one window too few or too many along H, W or both; `where` says which."""
    found = []
    for dh, dw in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1)):
        h, w = Ho + dh, Wo + dw
        if h > 0 and w > 0:
            where = "in height and in width" if dh and dw else "in height" if dh else "in width"
            found.append((h, w, f"one window too {'few' if dh + dw < 0 else 'many'} {where}"))
    return found


def off_by_one(what, right, size, shape):
    """wrong_size Mistakes (by shape) for a count of windows H*W off by one along an axis; `what` names the
    windows, `right` is (H_out, W_out), `size` the rule, `shape(n)` the output's shape for n windows.
    Several (H, W) giving the same count are named together."""
    out = {}
    for h, w, where in counted(*right):
        if h * w != right[0] * right[1]:
            out.setdefault(h * w, []).append(where)
    return [Mistake("wrong_size", f"there are {n} {what} where there should be {right[0] * right[1]}: "
                                  f"{' or '.join(wheres)}; {size}", shape=shape(n)) for n, wheres in out.items()]


def geometry(case):
    """(kernel, stride, padding) pairs of an im2col or conv2d_gemm case, positional or keyword."""
    a, kw = case.args, case.kwargs
    if case.name == "im2col":
        k = pair(a[1])
        rest = a[2:]
    else:
        k = case.args[1].shape[2:]
        rest = a[3:]
    s = rest[0] if len(rest) > 0 else kw.get("stride", 1)
    p = rest[1] if len(rest) > 1 else kw.get("padding", 0)
    return tuple(k), pair(s), pair(p)
