"""Assignment 05: convolution as matrix multiplication — Toeplitz matrices, im2col and conv2d_gemm.

Graded: toeplitz_1d(k, n), toeplitz_matrix(w, input_shape), im2col(x, kernel_size, stride=1, padding=0),
conv2d_gemm(x, w, b=None, stride=1, padding=0).

- toeplitz_1d(k, n) is the (n - m + 1, n) matrix T with T @ x == correlate1d(x, k) (valid
  cross-correlation, m = len(k)): T[i, i + j] = k[j].
- toeplitz_matrix(w, input_shape) is the dense matrix of a whole convolution layer (stride 1, no
  padding) on inputs of shape (C_in, H, W): shape (C_out*H_out*W_out, C_in*H*W), rows ordered as
  y.ravel() (o, i, j) and columns as x.ravel() (c, h, w); for one channel, doubly block Toeplitz.
- im2col(x, ...) is (N, C*kH*kW, L), exactly torch.nn.functional.unfold: rows channel-major
  (c, p, q), columns the windows (i, j) row by row.
- conv2d_gemm is im2col followed by one matrix product, output (N, C_out, H_out, W_out).

Visible cases are small and hand-readable (the lectures' 1-D and 2-D examples, distinct integers so
that every ordering mistake shows); hidden cases are random, float32 and float64, with non-square
images and kernels, strides and paddings given as an int or a pair, and shapes chosen so that a
transposed layout or a bias on the wrong axis still has the right shape and is recognised by its
values. The typical mistakes (a kernel running the wrong way, a transposed matrix, rows or columns
in another order, padding or stride left out of the count of windows, a bias per column instead of
per output channel, the product left unreshaped) are computed with the reference.
"""

import numpy as np

from .. import reference as R
from .._args import is_int
from .a01 import _a, _both_dtypes, _rand, _try
from .a02 import K3, varied
from .core import Case, Graded, Mistake, register, value_mistakes

ASSIGNMENT = "05"
FUNCTIONS = ("toeplitz_1d", "toeplitz_matrix", "im2col", "conv2d_gemm")

_F64 = np.float64


def _pair(v):
    return (int(v), int(v)) if is_int(v) else (int(v[0]), int(v[1]))


def _count(size, k, s, p):
    """floor((size + 2p - k) / s) + 1"""
    return (size + 2 * p - k) // s + 1


def _counted(Ho, Wo):
    """[(H, W, where)]: one window too few or too many along H, W or both; `where` says which."""
    found = []
    for dh, dw in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1)):
        h, w = Ho + dh, Wo + dw
        if h > 0 and w > 0:
            where = "in height and in width" if dh and dw else "in height" if dh else "in width"
            found.append((h, w, f"one window too {'few' if dh + dw < 0 else 'many'} {where}"))
    return found


def _off_by_one(count, right, size, shape):
    """wrong_size Mistakes (by shape) for a count of windows H*W off by one along an axis; `shape(n)` is the
    output's shape for n windows. Several (H, W) giving the same count are named together."""
    out = {}
    for h, w, where in _counted(*right):
        if h * w != right[0] * right[1]:
            out.setdefault(h * w, []).append(where)
    return [Mistake("wrong_size", f"there are {n} {count} where there should be {right[0] * right[1]}: "
                                  f"{' or '.join(wheres)}; {size}", shape=shape(n)) for n, wheres in out.items()]


# ----------------------------------------------------------------------------- toeplitz_1d

def toeplitz_1d_reference(k, n):
    """T of shape (n - m + 1, n) with T[i, i + j] = k[j]: the 1-D case of the layer's Toeplitz matrix."""
    k = np.asarray(k)
    return R.toeplitz_matrix(k.reshape(1, 1, 1, -1), (1, 1, int(n)))


def _t1_case(k, n, note="", prefix=""):
    kk = np.asarray(k)
    what = (f"k={np.asarray(kk).astype(int).tolist()}".replace(" ", "") if not prefix
            else f"{prefix}k of shape {kk.shape}")
    return Case("toeplitz_1d", (kk, n), {}, f"{what}, n={n}" + (f" ({note})" if note else ""))


def _visible_t1():
    c = _t1_case
    return [c(_a([5, 6, 7]), 4, "the lecture's example: T @ [1, 2, 3, 4] = [38, 56]"),
            c(_a([1, -1]), 5, "differences of neighbours"),
            c(_a([1, 2, 3]), 6),
            c(_a([2]), 3, "a kernel of length 1: 2 times the identity"),
            c(_a([1, 0, -1]), 3, "a kernel as long as x: one row"),
            c(_a([4, 3, 2, 1]), 7)]


def _hidden_t1(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    sizes = [(3, r(4, 10)), (2, r(3, 9)), (1, r(2, 6)), (4, 4), (5, r(6, 12)), (r(2, 5), r(8, 14))]
    return [_t1_case(_rand(rng, m, dt), n, prefix=f"random {np.dtype(dt).name} ")
            for (m, n), dt in _both_dtypes(sizes)]


def _band(k, rows, n, sign=1):
    """The rows x n matrix holding k[j] on diagonal sign*j (above the main one for sign=1)."""
    T = np.zeros((rows, n), dtype=k.dtype)
    for j, v in enumerate(k):
        T += v * np.eye(rows, n, sign * j, dtype=k.dtype)
    return T


def _t1_mistakes(case, ref):
    k, n = case.args
    m = len(k)
    rows = n - m + 1
    rule = "row i holds the kernel from column i on, T[i, i + j] = k[j], so that (T @ x)[i] = sum_j k[j] x[i + j]"
    found = [
        Mistake("flipped_kernel", f"each row holds the kernel reversed (k[m-1], ..., k[0]): T @ x is then the true "
                                  f"convolution, with the kernel flipped; cross-correlation reads k forwards: {rule}",
                value=toeplitz_1d_reference(k[::-1], n)),
        Mistake("shift_direction", f"the kernel went on the diagonals BELOW the main one (T[i, i - j] = k[j]): the "
                                   f"rows shift the wrong way and the kernel falls off the left edge; k[j] goes on "
                                   f"the j-th diagonal ABOVE the main one (np.eye(rows, n, j)): {rule}",
                value=_band(k, rows, n, -1)),
        Mistake("shift_direction", f"the rows are in reverse order: the kernel moves from right to left as i grows; "
                                   f"output i starts at input i: {rule}", value=ref[::-1]),
        Mistake("shift_direction", f"the matrix is mirrored left to right: row i reads x backwards from the end; "
                                   f"{rule}", value=ref[:, ::-1]),
        Mistake("transposed", f"T is transposed: it maps x (n values) to the n - m + 1 outputs, so it has "
                              f"n - len(k) + 1 = {rows} rows and n = {n} columns; {rule}", value=ref.T),
        Mistake("wrong_size", f"T has n rows, one per input sample, and its last rows hold a kernel cut off at the "
                              f"right edge; valid cross-correlation has n - len(k) + 1 = {rows} outputs, one row each: "
                              f"np.eye(n - m + 1, n, j) puts k[j] in place", value=_band(k, n, n)),
        Mistake("wrong_size", f"this is the (n + m - 1) x n matrix of FULL true convolution (column j holds the "
                              f"kernel from row j on); toeplitz_1d is VALID cross-correlation: {rule}, "
                              f"n - len(k) + 1 rows", value=_band(k, n + m - 1, n, -1)),
        Mistake("wrong_size", f"T has n rows; valid cross-correlation has n - len(k) + 1 = {rows} outputs, one row "
                              f"each", shape=(n, n)),
        Mistake("wrong_size", f"T has n + len(k) - 1 rows (full mode); valid cross-correlation has "
                              f"n - len(k) + 1 = {rows}", shape=(n + m - 1, n)),
    ]
    for d in (-1, 1):
        if rows + d > 0:
            found.append(Mistake("wrong_size", f"T has one row too {'few' if d < 0 else 'many'}: valid "
                                               f"cross-correlation has n - len(k) + 1 = {rows} outputs",
                                 shape=(rows + d, n)))
    return found


# ----------------------------------------------------------------------------- toeplitz_matrix

def _tm_case(w, input_shape, note="", prefix=""):
    return Case("toeplitz_matrix", (w, tuple(input_shape)), {},
                f"{prefix}w of shape {w.shape}, input_shape={tuple(input_shape)}" + (f" ({note})" if note else ""))


def _visible_tm():
    c = _tm_case
    return [
        c(_a([[0, 1], [2, 3]]).reshape(1, 1, 2, 2), (1, 3, 3),
          "the lecture's 2x2 kernel on a 3x3 image: a 4x9 doubly block Toeplitz matrix"),
        c(K3.reshape(1, 1, 3, 3).copy(), (1, 4, 5), "a 3x3 kernel on a 4x5 image: 6 outputs, 20 inputs"),
        c(_a([[1, 2, 3], [-1, 0, 2]]).reshape(1, 1, 2, 3), (1, 3, 4), "a 2x3 kernel"),
        c(K3.reshape(1, 1, 3, 3).copy(), (1, 3, 3), "a kernel as large as the image: one row, the kernel itself"),
        c(varied((1, 2, 2, 2), 5, 7, 3), (2, 3, 3), "two input channels, summed: one block of columns each"),
        c(varied((3, 1, 2, 2), 5, 11, 5), (1, 3, 3), "three output channels: one block of rows each"),
        c(varied((2, 2, 2, 3), 5, 13, 6), (2, 3, 4), "two channels in, two out"),
    ]


def _hidden_tm(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    # (C_out, C_in, kH, kW, H, W)
    specs = [(1, 1, 3, 3, r(4, 7), r(4, 7)), (1, 1, 2, 3, r(3, 6), r(4, 7)), (2, 1, 2, 2, r(3, 6), r(3, 6)),
             (1, 3, 2, 2, r(3, 5), r(3, 5)), (3, 2, 3, 2, r(3, 6), r(3, 6)), (2, 3, 1, 1, r(2, 4), r(2, 4)),
             (2, 2, 3, 3, 3, 3), (r(1, 3), r(1, 3), r(1, 4), r(1, 4), r(4, 7), r(4, 7))]
    out = []
    for (Co, Ci, kh, kw, H, W), dt in _both_dtypes(specs):
        out.append(_tm_case(_rand(rng, (Co, Ci, kh, kw), dt), (Ci, H, W), prefix=f"random {np.dtype(dt).name} "))
    return out


def _tm_mistakes(case, ref):
    w, shape = case.args
    Co, C, kH, kW = w.shape
    _, H, W = shape
    Ho, Wo = H - kH + 1, W - kW + 1
    rows, cols = ref.shape
    T = lambda ww: _try(R.toeplitz_matrix, ww, shape)
    rule = ("row (o, i, j) holds w[o, c, p, q] in column (c, i + p, j + q), rows ordered as y.ravel() and columns "
            "as x.ravel()")
    found = [Mistake("flipped_kernel", f"the kernels are flipped (rotated by 180°): that is the matrix of true "
                                       f"convolution; a convolution layer is cross-correlation and uses w as it is: "
                                       f"{rule}", value=T(w[:, :, ::-1, ::-1]))]
    if kH == kW > 1:
        found.append(Mistake("kernel_transposed", f"each kernel is transposed (w[o, c, q, p] where w[o, c, p, q] "
                                                  f"belongs): kernel row p goes with input row i + p, kernel column "
                                                  f"q with input column j + q; {rule}",
                             value=T(w.transpose(0, 1, 3, 2))))
    found.append(Mistake("transposed", f"the matrix is transposed: it has one ROW per output value "
                                       f"(C_out*H_out*W_out = {rows}) and one COLUMN per input value "
                                       f"(C_in*H*W = {cols}), so that y.ravel() = T @ x.ravel(); {rule}",
                         value=ref.T))
    by_out = ref.reshape(Co, Ho, Wo, cols)
    by_in = ref.reshape(rows, C, H, W)
    if Co > 1:
        found.append(Mistake("row_order", "the rows are ordered (i, j, o), output channel last; y.ravel() of a "
                                          "(C_out, H_out, W_out) output is ordered (o, i, j): row "
                                          "(o*H_out + i)*W_out + j",
                             value=by_out.transpose(1, 2, 0, 3).reshape(ref.shape)))
    if Ho > 1 and Wo > 1:
        found.append(Mistake("row_order", "the output positions are numbered column by column (j*H_out + i); "
                                          "row-major flattening numbers them i*W_out + j",
                             value=by_out.transpose(0, 2, 1, 3).reshape(ref.shape)))
    if C > 1:
        found.append(Mistake("column_order", "the columns are ordered (h, w, c), channel last; x.ravel() of a "
                                             "(C_in, H, W) image is ordered (c, h, w): column (c*H + h)*W + w",
                             value=by_in.transpose(0, 2, 3, 1).reshape(ref.shape)))
        only = ref.copy()
        only[:, H * W:] = 0
        found.append(Mistake("channels_not_summed", "only the first input channel's columns are filled; output "
                                                    "(o, i, j) is the sum over ALL input channels, so its row holds "
                                                    "w[o, c] in the block of columns of every channel c",
                             value=only))
        found.append(Mistake("channels_not_summed", "the columns cover one channel only; T multiplies the whole "
                                                    "flattened input x.ravel(), C_in*H*W values: one block of "
                                                    "H*W columns per input channel", shape=(rows, H * W)))
    if H > 1 and W > 1:
        found.append(Mistake("column_order", "the input pixels are numbered column by column (w*H + h); "
                                             "row-major flattening numbers them h*W + w",
                             value=by_in.transpose(0, 1, 3, 2).reshape(ref.shape)))
    if Co > 1:
        found.append(Mistake("wrong_size", "there are rows for one output channel only; each of the C_out kernels "
                                           "gives its own block of H_out*W_out rows", shape=(Ho * Wo, cols)))
    size = f"H_out = H - kH + 1 = {Ho} and W_out = W - kW + 1 = {Wo} (a valid convolution)"
    for (h, v), text in (((H, W), f"there is a row per INPUT pixel; a valid convolution has fewer outputs: {size}"),
                         ((H + kH - 1, W + kW - 1), f"there is a row per output of a FULL convolution; {size}"),
                         ((Wo, Ho), f"H_out and W_out are swapped; {size}")):
        if (h, v) != (Ho, Wo):
            found.append(Mistake("wrong_size", text, shape=(Co * h * v, cols)))
    found += _off_by_one("output positions per channel (rows per block)", (Ho, Wo), size,
                         lambda n: (Co * n, cols))
    return [m for m in found if m.value is not None or m.shape is not None]


# ----------------------------------------------------------------------------- im2col

def _geometry(case):
    """(kernel, stride, padding) pairs of an im2col or conv2d_gemm case, positional or keyword."""
    a, kw = case.args, case.kwargs
    if case.name == "im2col":
        k = _pair(a[1])
        rest = a[2:]
    else:
        k = case.args[1].shape[2:]
        rest = a[3:]
    s = rest[0] if len(rest) > 0 else kw.get("stride", 1)
    p = rest[1] if len(rest) > 1 else kw.get("padding", 0)
    return tuple(k), _pair(s), _pair(p)


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
    return np.arange(1, int(np.prod(shape)) + 1, dtype=_F64).reshape(shape)


def _visible_im2col():
    c = _im2col_case
    return [
        c(np.arange(9, dtype=_F64).reshape(1, 1, 3, 3), 2, "the lecture's 3x3 image: four 2x2 windows, four columns"),
        c(_count_up((1, 1, 4, 5)), 3, "a 4x5 image: six windows, numbered row by row"),
        c(_count_up((1, 2, 3, 3)), 2, "two channels: rows 0-3 are channel 0's taps, rows 4-7 channel 1's"),
        c(_count_up((1, 1, 6, 6)), 3, "stride 2: four windows, the last row and column are left over", stride=2),
        c(_count_up((1, 1, 3, 3)), 3, "one ring of zeros: nine windows", padding=1),
        c(_count_up((2, 2, 4, 5)), (2, 3), "a batch with everything: 3x3 windows", stride=(2, 1), padding=(1, 0)),
    ]


def _hidden_im2col(rng):
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
    for (shape, k, kw), dt in _both_dtypes(specs):
        out.append(_im2col_case(_rand(rng, shape, dt), k, prefix=f"random {np.dtype(dt).name} ", **kw))
    return out


def _with(ref, N, R_, Ho, Wo, Ho2, Wo2):
    """The first Ho2 x Wo2 windows of ref (N, R, Ho*Wo), as (N, R, Ho2*Wo2); None if there are fewer."""
    if Ho2 > Ho or Wo2 > Wo or Ho2 < 1 or Wo2 < 1:
        return None
    return ref.reshape(N, R_, Ho, Wo)[:, :, :Ho2, :Wo2].reshape(N, R_, Ho2 * Wo2)


def _im2col_mistakes(case, ref):
    x = case.args[0]
    k, s, p = _geometry(case)
    N, C, H, W = x.shape
    R_, L = ref.shape[1:]
    Ho, Wo = _count(H, k[0], s[0], p[0]), _count(W, k[1], s[1], p[1])
    taps = k[0] * k[1]
    cols = lambda xx, **o: _try(R.im2col, xx, k, **{"stride": s, "padding": p, **o})
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
        Hc, Wc = _count(H, k[0], s[0], 0), _count(W, k[1], s[1], 0)
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
            H1, W1 = _count(H, k[0], 1, p[0]), _count(W, k[1], 1, p[1])
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
             _try(R.im2col, x, k[::-1], stride=s[::-1], padding=p[::-1]))
    if N == 1:
        found.append(Mistake("wrong_shape", "the batch axis is missing: im2col returns (N, C*kH*kW, L), even for "
                                            "N = 1", value=ref[0]))
    found += _off_by_one("windows (columns)", (Ho, Wo), size, lambda n: (N, R_, n))
    return found


# ----------------------------------------------------------------------------- conv2d_gemm

def _gemm_case(x, w, b=None, note="", prefix="", explicit_none=False, **kw):
    args = (x, w) if b is None and not explicit_none else (x, w, b)
    opts = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    label = (f"{prefix}x of shape {x.shape}, w of shape {w.shape}" + (", with bias" if b is not None else "")
             + (", b=None" if explicit_none else "") + (f", {opts}" if opts else ""))
    return Case("conv2d_gemm", args, kw, label + (f" ({note})" if note else ""))


def _visible_gemm():
    c = _gemm_case
    lecture_x = np.arange(9, dtype=_F64).reshape(1, 1, 3, 3)
    lecture_w = _a([[0, 1], [2, 3]]).reshape(1, 1, 2, 2)
    return [
        c(lecture_x, lecture_w, note="the lecture's example: [[19, 25], [37, 43]]"),
        c(varied((1, 2, 4, 4)), varied((3, 2, 2, 2), 5, 7, 3), _a([1, -2, 3]), note="two channels in, three out"),
        c(varied((1, 2, 3, 3), 5, 11, 4), varied((4, 2, 2, 2), 3, 7, 3), _a([1, 2, 3, 4]),
          note="four output channels and four windows: a bias on the wrong axis still has the right shape"),
        c(varied((1, 1, 5, 5)), K3.reshape(1, 1, 3, 3).copy(), note="every other window: 2x2", stride=2),
        c(varied((1, 1, 4, 4)), K3.reshape(1, 1, 3, 3).copy(), _a([0.5]), note="one ring of zeros keeps the 4x4 size",
          padding=1),
        c(varied((2, 2, 5, 6)), varied((3, 2, 3, 2), 5, 13, 6), _a([1, -1, 2]), note="a batch with everything: 3x5",
          stride=(2, 1), padding=(1, 0)),
    ]


def _hidden_gemm(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    # (N, C_in, C_out, H, W, kH, kW, bias, options); bias "none" passes b=None explicitly. Some
    # shapes make L = H_out*W_out, W_out or N equal C_out, so that a bias on the wrong axis
    # broadcasts and is recognised by its values
    specs = [(r(1, 3), r(1, 3), r(1, 4), r(5, 9), r(5, 9), 3, 3, True, {}),
             (2, 2, 4, 3, 3, 2, 2, True, {}),
             (1, 3, 6, 4, 5, 2, 3, True, {"padding": (0, 1)}),
             (2, 3, 2, r(6, 10), r(6, 10), 3, 3, True, {"stride": 2, "padding": 1}),
             (r(1, 3), 2, 3, r(7, 11), r(7, 11), 3, 2, False, {"stride": (2, 3), "padding": (1, 2)}),
             (2, 4, 2, r(4, 7), r(4, 7), 1, 1, "none", {"stride": 2}),
             (1, 2, 3, r(8, 12), r(8, 12), r(2, 4), r(2, 4), True, {"stride": 3, "padding": r(0, 2)}),
             (2, 2, 2, 4, 4, 4, 4, True, {}),
             (1, 2, 3, 5, 7, 3, 5, True, {}),
             (r(1, 3), 2, 3, 9, 9, 3, 3, True, {"stride": 2})]
    out = []
    for (N, Ci, Co, H, W, kh, kw, bias, opts), dt in _both_dtypes(specs):
        x, w = _rand(rng, (N, Ci, H, W), dt), _rand(rng, (Co, Ci, kh, kw), dt)
        b = _rand(rng, Co, dt) if bias is True else None
        out.append(_gemm_case(x, w, b, prefix=f"random {np.dtype(dt).name} ", explicit_none=bias == "none", **opts))
    return out


def _gemm_mistakes(case, ref):
    x, w = case.args[:2]
    b = case.args[2] if len(case.args) > 2 else None
    k, s, p = _geometry(case)
    N, C, H, W = x.shape
    D = w.shape[0]
    Ho, Wo = ref.shape[2:]
    L = Ho * Wo
    conv = lambda xx=x, ww=w, bb=b, **o: _try(R.conv2d, xx, ww, bb, **{"stride": s, "padding": p, **o})
    y0 = conv(bb=None)
    size = "H_out = floor((H + 2*padding - kH) / stride) + 1, the same for W"
    found = []

    def both(code, text, value):
        found.extend(value_mistakes(code, text, value, ref.shape))

    flat = ref.reshape(N, D, L)
    found.append(Mistake("not_reshaped", "the output is the product W @ cols, (N, C_out, L), as it comes out; "
                                         "reshape it to (N, C_out, H_out, W_out): column i*W_out + j is output "
                                         "pixel (i, j)", value=flat))
    found.append(Mistake("not_reshaped", "the output is (N, L, C_out), the product cols.T @ W.T as it comes out; "
                                         "the layer's output is (N, C_out, H_out, W_out): transpose to "
                                         "(N, C_out, L), then reshape", value=flat.transpose(0, 2, 1)))
    if D > 1 and L > 1:
        found.append(Mistake("wrong_reshape", "the (L, C_out) product was reshaped straight to (C_out, H_out, W_out); "
                                              "a reshape never moves values between axes: transpose it to "
                                              "(C_out, L) first (or compute W @ cols, which is (C_out, L))",
                             value=flat.transpose(0, 2, 1).reshape(ref.shape)))
    found.append(Mistake("flipped_kernel", "the kernels are flipped (rotated by 180°): a convolution layer is "
                                           "cross-correlation and uses w as it is, w.reshape(C_out, -1)",
                         value=conv(ww=w[:, :, ::-1, ::-1])))
    if b is not None and y0 is not None:
        found.append(Mistake("bias_missing", "the bias b was not added: y[n, o] = b[o] + (W @ cols[n])[o]", value=y0))
        channel = "it belongs to the output channels, one value per ROW of W @ cols: Y + b[:, None]"
        if D > 1:
            if L == D:
                found.append(Mistake("bias_wrong_axis", f"b was added per COLUMN of W @ cols (one value per output "
                                                        f"position; NumPy broadcasts b along the last axis); "
                                                        f"{channel}",
                                     value=(y0.reshape(N, D, L) + b).reshape(ref.shape)))
            for n, axis, name in ((Wo, 3, "last (width)"), (Ho, 2, "height"), (N, 0, "batch")):
                if n == D:
                    shape = [1, 1, 1, 1]
                    shape[axis] = D
                    found.append(Mistake("bias_wrong_axis", f"b was added along the {name} axis of the output; "
                                                            f"{channel} (y + b[None, :, None, None])",
                                         value=y0 + b.reshape(shape)))
    if C > 1 and k[0] * k[1] > 1:
        text = ("the kernels were flattened in another order than the rows of im2col: w.reshape(C_out, -1) lists "
                "each kernel channel-major ((c, p, q)), exactly as im2col's rows; both must use the same order")
        found.append(Mistake("row_order", text, value=conv(ww=w.reshape(D, k[0], k[1], C).transpose(0, 3, 1, 2))))
        found.append(Mistake("row_order", text, value=conv(ww=w.transpose(0, 2, 3, 1).reshape(w.shape))))
    if C > 1:
        found.append(Mistake("channels_not_summed", "only the first input channel was used; each output channel is "
                                                    "the SUM over all input channels (all C*kH*kW rows of cols)",
                             value=conv(xx=x[:, :1], ww=w[:, :1])))
    if p != (0, 0):
        both("padding_ignored", f"the padding was left out: pad H and W with zeros before im2col; {size}",
             conv(padding=0))
        Hc, Wc = _count(H, k[0], s[0], 0), _count(W, k[1], s[1], 0)
        if Hc <= Ho and Wc <= Wo and min(Hc, Wc) > 0:
            both("padding_ignored", f"x was padded, but the windows were counted without the padding: {size}",
                 ref[:, :, :Hc, :Wc])
    if s != (1, 1):
        one = conv(stride=1)
        both("stride_ignored", f"the windows moved one pixel at a time; with stride {s} window (i, j) starts at "
                               f"(i*sH, j*sW) of the padded input; {size}", one)
        if one is not None:
            both("stride_ignored", "there are as many windows as needed, but window (i, j) starts at (i, j): "
                                   "multiply by the stride, (i*sH, j*sW)", one[:, :, :Ho, :Wo])
        ceil = (-(-(H + 2 * p[0] - k[0]) // s[0]) + 1, -(-(W + 2 * p[1] - k[1]) // s[1]) + 1)
        if ceil != (Ho, Wo):
            found.append(Mistake("floor_vs_ceil", f"the number of windows was rounded up; it rounds down: {size}",
                                 shape=(N, D) + ceil))
    if s[0] != s[1] or p[0] != p[1]:
        both("pair_swapped", "stride or padding was read the wrong way round: a pair is (height, width)",
             conv(stride=s[::-1], padding=p[::-1]))
    if N == 1:
        found.append(Mistake("wrong_shape", "the batch axis is missing: return (N, C_out, H_out, W_out), even for "
                                            "N = 1", value=ref[0]))
    found += [Mistake("wrong_size", f"{where}: {size}", shape=(N, D, h, v)) for h, v, where in _counted(Ho, Wo)]
    return found


# ----------------------------------------------------------------------------- registration

register(Graded("toeplitz_1d", ASSIGNMENT, _visible_t1, _hidden_t1, toeplitz_1d_reference, _t1_mistakes,
                argnames=("k", "n")))
register(Graded("toeplitz_matrix", ASSIGNMENT, _visible_tm, _hidden_tm, R.toeplitz_matrix, _tm_mistakes,
                argnames=("w", "input_shape")))
register(Graded("im2col", ASSIGNMENT, _visible_im2col, _hidden_im2col, R.im2col, _im2col_mistakes,
                argnames=("x", "kernel_size", "stride", "padding")))
register(Graded("conv2d_gemm", ASSIGNMENT, _visible_gemm, _hidden_gemm, R.conv2d_gemm, _gemm_mistakes,
                argnames=("x", "w", "b")))
