"""05's conv2d_gemm(x, w, b=None, stride=1, padding=0): a convolution layer as im2col and one matrix product.

    x (N, C_in, H, W), w (C_out, C_in, kH, kW), b (C_out,) or None -> y (N, C_out, H_out, W_out),
    y[n] = (w.reshape(C_out, -1) @ im2col(x)[n] + b[:, None]).reshape(C_out, H_out, W_out)
"""

import numpy as np

from ... import reference as R
from ..common import F64, K3, arr, attempt, both_dtypes, dtype_name, rand, varied
from ..core import Case, Graded, Mistake, register, value_mistakes
from . import ASSIGNMENT
from .windows import count, counted, geometry


def _gemm_case(x, w, b=None, note="", prefix="", explicit_none=False, **kw):
    args = (x, w) if b is None and not explicit_none else (x, w, b)
    opts = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    label = (f"{prefix}x of shape {x.shape}, w of shape {w.shape}" + (", with bias" if b is not None else "")
             + (", b=None" if explicit_none else "") + (f", {opts}" if opts else ""))
    return Case("conv2d_gemm", args, kw, label + (f" ({note})" if note else ""))


def visible():
    c = _gemm_case
    lecture_x = np.arange(9, dtype=F64).reshape(1, 1, 3, 3)
    lecture_w = arr([[0, 1], [2, 3]]).reshape(1, 1, 2, 2)
    return [
        c(lecture_x, lecture_w, note="the lecture's example: [[19, 25], [37, 43]]"),
        c(varied((1, 2, 4, 4)), varied((3, 2, 2, 2), 5, 7, 3), arr([1, -2, 3]), note="two channels in, three out"),
        c(varied((1, 2, 3, 3), 5, 11, 4), varied((4, 2, 2, 2), 3, 7, 3), arr([1, 2, 3, 4]),
          note="four output channels and four windows: a bias on the wrong axis still has the right shape"),
        c(varied((1, 1, 5, 5)), K3.reshape(1, 1, 3, 3).copy(), note="every other window: 2x2", stride=2),
        c(varied((1, 1, 4, 4)), K3.reshape(1, 1, 3, 3).copy(), arr([0.5]), note="one ring of zeros keeps the 4x4 size",
          padding=1),
        c(varied((2, 2, 5, 6)), varied((3, 2, 3, 2), 5, 13, 6), arr([1, -1, 2]), note="a batch with everything: 3x5",
          stride=(2, 1), padding=(1, 0)),
    ]


def mistakes(case, ref):
    x, w = case.args[:2]
    b = case.args[2] if len(case.args) > 2 else None
    k, s, p = geometry(case)
    N, C, H, W = x.shape
    D = w.shape[0]
    Ho, Wo = ref.shape[2:]
    L = Ho * Wo
    conv = lambda xx=x, ww=w, bb=b, **o: attempt(R.conv2d, xx, ww, bb, **{"stride": s, "padding": p, **o})
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
        Hc, Wc = count(H, k[0], s[0], 0), count(W, k[1], s[1], 0)
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
    found += [Mistake("wrong_size", f"{where}: {size}", shape=(N, D, h, v)) for h, v, where in counted(Ho, Wo)]
    return found


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
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
    for (N, Ci, Co, H, W, kh, kw, bias, opts), dt in both_dtypes(specs):
        x, w = rand(rng, (N, Ci, H, W), dt), rand(rng, (Co, Ci, kh, kw), dt)
        b = rand(rng, Co, dt) if bias is True else None
        out.append(_gemm_case(x, w, b, prefix=f"random {dtype_name(dt)} ", explicit_none=bias == "none", **opts))
    return out


register(Graded("conv2d_gemm", ASSIGNMENT, visible, hidden, R.conv2d_gemm, mistakes, argnames=("x", "w", "b")))
