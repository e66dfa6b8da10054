"""05's im2col(x, kernel_size, stride=1, padding=0): every window of x as a column, exactly
torch.nn.functional.unfold.

    x (N, C, H, W) -> cols (N, C*kH*kW, L), L = H_out * W_out, H_out = floor((H + 2p - kH) / s) + 1;
    row (c*kH + p)*kW + q (channel-major), column i*W_out + j (the windows row by row) holds
    x_pad[n, c, i*sH + p, j*sW + q]
"""

import numpy as np

from ... import reference as R
from ..common import F64, attempt, both_dtypes, dtype_name, rand
from ..core import Case, Graded, Mistake, register, value_mistakes
from . import ASSIGNMENT
from .windows import count, geometry, off_by_one


def _im2col_case(x, kernel_size, note="", prefix="", positional=False, **kw):
    opts = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    label = f"{prefix}x of shape {x.shape}, kernel_size={kernel_size!r}" + (f", {opts}" if opts else "")
    if positional:
        args = (x, kernel_size, kw.get("stride", 1), kw.get("padding", 0))
        label += " (stride and padding given by position)"
        return Case("im2col", args, {}, label + (f"; {note}" if note else ""))
    return Case("im2col", (x, kernel_size), kw, label + (f" ({note})" if note else ""))


def _count_up(shape):
    """1, 2, 3, ...: every value distinct and none zero, so a padded zero or a moved value shows."""
    return np.arange(1, int(np.prod(shape)) + 1, dtype=F64).reshape(shape)


def visible():
    c = _im2col_case
    return [
        c(np.arange(9, dtype=F64).reshape(1, 1, 3, 3), 2, "the lecture's 3x3 image: four 2x2 windows, four columns"),
        c(_count_up((1, 1, 4, 5)), 3, "a 4x5 image: six windows, numbered row by row"),
        c(_count_up((1, 2, 3, 3)), 2, "two channels: rows 0-3 are channel 0's taps, rows 4-7 channel 1's"),
        c(_count_up((1, 1, 6, 6)), 3, "stride 2: four windows, the last row and column are left over", stride=2),
        c(_count_up((1, 1, 3, 3)), 3, "one ring of zeros: nine windows", padding=1),
        c(_count_up((2, 2, 4, 5)), (2, 3), "a batch with everything: 3x3 windows", stride=(2, 1), padding=(1, 0)),
    ]


def _with(ref, N, R_, Ho, Wo, Ho2, Wo2):
    """The first Ho2 x Wo2 windows of ref (N, R, Ho*Wo), as (N, R, Ho2*Wo2); None if there are fewer."""
    if Ho2 > Ho or Wo2 > Wo or Ho2 < 1 or Wo2 < 1:
        return None
    return ref.reshape(N, R_, Ho, Wo)[:, :, :Ho2, :Wo2].reshape(N, R_, Ho2 * Wo2)


def mistakes(case, ref):
    x = case.args[0]
    k, s, p = geometry(case)
    N, C, H, W = x.shape
    R_, L = ref.shape[1:]
    Ho, Wo = count(H, k[0], s[0], p[0]), count(W, k[1], s[1], p[1])
    taps = k[0] * k[1]
    cols = lambda xx, **o: attempt(R.im2col, xx, k, **{"stride": s, "padding": p, **o})
    size = "H_out = floor((H + 2*padding - kH) / stride) + 1, the same for W, and L = H_out * W_out"
    rule = ("row (c*kH + p)*kW + q, column i*W_out + j holds x_pad[n, c, i*sH + p, j*sW + q], as "
            "torch.nn.functional.unfold")
    found = []

    def both(code, text, value):
        found.extend(value_mistakes(code, text, value, ref.shape))

    if C > 1 and taps > 1:
        found.append(Mistake("row_order", f"the rows are ordered kernel position first, channel last ((p, q, c), "
                                          f"kernel-major); im2col's rows are channel-major ((c, p, q)): {rule}",
                             value=ref.reshape(N, C, taps, L).transpose(0, 2, 1, 3).reshape(ref.shape)))
    if k[0] > 1 and k[1] > 1:
        found.append(Mistake("row_order", f"the taps of each window are taken column by column ((q, p)); kernel row "
                                          f"first: {rule}",
                             value=ref.reshape(N, C, k[0], k[1], L).transpose(0, 1, 3, 2, 4).reshape(ref.shape)))
    found.append(Mistake("transposed", "each window is a ROW here, (N, L, C*kH*kW); im2col makes each window a "
                                       "COLUMN, (N, C*kH*kW, L), as torch.nn.functional.unfold, so that "
                                       "w.reshape(C_out, -1) @ cols[n] is the convolution",
                         value=ref.transpose(0, 2, 1)))
    if Ho > 1 and Wo > 1:
        found.append(Mistake("column_order", "the windows are numbered column by column (j*H_out + i); window "
                                             "(i, j) is column i*W_out + j, row by row as the output is flattened",
                             value=ref.reshape(N, R_, Ho, Wo).transpose(0, 1, 3, 2).reshape(ref.shape)))
    if p != (0, 0):
        both("padding_ignored", f"the padding was left out: pad H and W with zeros first "
                                f"(np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))); {size}", cols(x, padding=0))
        Hc, Wc = count(H, k[0], s[0], 0), count(W, k[1], s[1], 0)
        both("padding_ignored", f"x was padded, but the windows were counted without the padding: {size}",
             _with(ref, N, R_, Ho, Wo, Hc, Wc))
        xs = np.pad(x, ((0, 0), (0, 0), (p[0], 0), (p[1], 0)))
        both("pad_wrong_sides", "only the top and left were padded; padding=p adds p rows above AND below, p "
                                f"columns left AND right; {size}", cols(xs, padding=0))
    if s != (1, 1):
        one = cols(x, stride=1)
        both("stride_ignored", f"the windows moved one pixel at a time; with stride {s} window (i, j) starts at "
                               f"(i*sH, j*sW) of the padded input; {size}", one)
        if one is not None:
            H1, W1 = count(H, k[0], 1, p[0]), count(W, k[1], 1, p[1])
            both("stride_ignored", "there are as many columns as needed, but window (i, j) starts at (i, j): "
                                   "multiply by the stride, (i*sH, j*sW)", _with(one, N, R_, H1, W1, Ho, Wo))
        ceil = (-(-(H + 2 * p[0] - k[0]) // s[0]) + 1, -(-(W + 2 * p[1] - k[1]) // s[1]) + 1)
        if ceil != (Ho, Wo):
            found.append(Mistake("floor_vs_ceil", f"the number of windows was rounded up; it rounds down, a window "
                                                  f"that would hang over the edge is not taken: {size}",
                                 shape=(N, R_, ceil[0] * ceil[1])))
    if k[0] != k[1] or s[0] != s[1] or p[0] != p[1]:
        both("pair_swapped", "kernel_size, stride or padding was read the wrong way round: a pair is "
                             "(height, width)",
             attempt(R.im2col, x, k[::-1], stride=s[::-1], padding=p[::-1]))
    if N == 1:
        found.append(Mistake("wrong_shape", "the batch axis is missing: im2col returns (N, C*kH*kW, L), even for "
                                            "N = 1", value=ref[0]))
    found += off_by_one("windows (columns)", (Ho, Wo), size, lambda n: (N, R_, n))
    return found


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    # (N, C, H, W, kernel_size, options); (1, 1, 3, 3) with k=2 has as many columns as rows
    specs = [((r(1, 3), r(1, 4), r(4, 8), r(4, 8)), 3, {}),
             ((r(1, 3), 2, 3, 3), 2, {}),
             ((1, r(2, 4), r(5, 9), r(5, 9)), 3, {"stride": 2}),
             ((2, r(1, 3), r(4, 8), r(4, 8)), 3, {"padding": 1}),
             ((r(1, 3), 2, r(5, 10), r(5, 10)), (2, 3), {"stride": (2, 1), "padding": (1, 0)}),
             ((1, 3, r(6, 10), r(6, 10)), r(2, 4), {"stride": 3, "padding": r(1, 3)}),
             ((2, 2, r(3, 6), r(3, 6)), 1, {"stride": 2}),
             ((1, 1, r(4, 7), r(4, 7)), (3, 1), {"padding": (0, 2)}),
             ((r(1, 3), 2, r(6, 9), r(6, 9)), 2, {"stride": 2, "padding": 1, "positional": True})]
    out = []
    for (shape, k, kw), dt in both_dtypes(specs):
        out.append(_im2col_case(rand(rng, shape, dt), k, prefix=f"random {dtype_name(dt)} ", **kw))
    return out


register(Graded("im2col", ASSIGNMENT, visible, hidden, R.im2col, mistakes,
                argnames=("x", "kernel_size", "stride", "padding")))
