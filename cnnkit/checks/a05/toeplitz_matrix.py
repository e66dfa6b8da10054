"""05's toeplitz_matrix(w, input_shape): the dense matrix of a convolution layer (stride 1, no padding).

    w (C_out, C_in, kH, kW), input_shape (C_in, H, W) -> T (C_out*H_out*W_out, C_in*H*W),
    H_out = H - kH + 1, W_out = W - kW + 1, so that y.ravel() == T @ x.ravel(): rows ordered (o, i, j),
    columns (c, h, w); row (o, i, j) holds w[o, c, p, q] in column (c, i + p, j + q).
"""

from ... import reference as R
from ..common import K3, arr, attempt, both_dtypes, dtype_name, rand, varied
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT
from .windows import off_by_one


def _tm_case(w, input_shape, note="", prefix=""):
    return Case("toeplitz_matrix", (w, tuple(input_shape)), {},
                f"{prefix}w of shape {w.shape}, input_shape={tuple(input_shape)}" + (f" ({note})" if note else ""))


def visible():
    c = _tm_case
    return [
        c(arr([[0, 1], [2, 3]]).reshape(1, 1, 2, 2), (1, 3, 3),
          "the lecture's 2x2 kernel on a 3x3 image: a 4x9 doubly block Toeplitz matrix"),
        c(K3.reshape(1, 1, 3, 3).copy(), (1, 4, 5), "a 3x3 kernel on a 4x5 image: 6 outputs, 20 inputs"),
        c(arr([[1, 2, 3], [-1, 0, 2]]).reshape(1, 1, 2, 3), (1, 3, 4), "a 2x3 kernel"),
        c(K3.reshape(1, 1, 3, 3).copy(), (1, 3, 3), "a kernel as large as the image: one row, the kernel itself"),
        c(varied((1, 2, 2, 2), 5, 7, 3), (2, 3, 3), "two input channels, summed: one block of columns each"),
        c(varied((3, 1, 2, 2), 5, 11, 5), (1, 3, 3), "three output channels: one block of rows each"),
        c(varied((2, 2, 2, 3), 5, 13, 6), (2, 3, 4), "two channels in, two out"),
    ]


def mistakes(case, ref):
    w, shape = case.args
    Co, C, kH, kW = w.shape
    _, H, W = shape
    Ho, Wo = H - kH + 1, W - kW + 1
    rows, cols = ref.shape
    T = lambda ww: attempt(R.toeplitz_matrix, ww, shape)
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
    found += off_by_one("output positions per channel (rows per block)", (Ho, Wo), size,
                         lambda n: (Co * n, cols))
    return [m for m in found if m.value is not None or m.shape is not None]


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    # (C_out, C_in, kH, kW, H, W)
    specs = [(1, 1, 3, 3, r(4, 7), r(4, 7)), (1, 1, 2, 3, r(3, 6), r(4, 7)), (2, 1, 2, 2, r(3, 6), r(3, 6)),
             (1, 3, 2, 2, r(3, 5), r(3, 5)), (3, 2, 3, 2, r(3, 6), r(3, 6)), (2, 3, 1, 1, r(2, 4), r(2, 4)),
             (2, 2, 3, 3, 3, 3), (r(1, 3), r(1, 3), r(1, 4), r(1, 4), r(4, 7), r(4, 7))]
    out = []
    for (Co, Ci, kh, kw, H, W), dt in both_dtypes(specs):
        out.append(_tm_case(rand(rng, (Co, Ci, kh, kw), dt), (Ci, H, W), prefix=f"random {dtype_name(dt)} "))
    return out


register(Graded("toeplitz_matrix", ASSIGNMENT, visible, hidden, R.toeplitz_matrix, mistakes,
                argnames=("w", "input_shape")))
