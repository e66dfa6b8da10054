"""Convolution as matrix multiplication: im2col, col2im, conv2d_gemm and the Toeplitz matrix.

    im2col  x (N, C, H, W)            -> cols (N, C*kH*kW, L),  L = H_out*W_out  (as F.unfold)
    col2im  cols (N, C*kH*kW, L)      -> x (N, C, H, W)                         (as F.fold)

im2col is linear and col2im is its adjoint, so each one's backward pass is the other one.
A convolution is then one matrix product: out[n] = w.reshape(C_out, -1) @ cols[n]. The Toeplitz
matrix goes the other way round: the convolution as one fixed matrix acting on the flat image.
"""

import torch
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from .._args import check_conv, col2im_geometry, conv_geometry, image_shape, fail, pair
from . import _windows
from ._validate import check_like, check_tensor

__all__ = ["im2col", "col2im", "conv2d_gemm", "toeplitz_matrix"]


class Im2colFunction(Function):
    """x (N, C, H, W) -> cols (N, C*kH*kW, L); backward: dx = col2im(dout)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation):
        ctx.geometry = (tuple(x.shape[2:]), kernel, stride, pads, dilation)
        return _windows.im2col(x, kernel, stride, pads, dilation)

    @staticmethod
    def backward(ctx, dout):
        return Col2imFunction.apply(dout, *ctx.geometry), None, None, None, None


class Col2imFunction(Function):
    """cols (N, C*kH*kW, L) -> x (N, C, H, W); backward: dcols = im2col(dout)."""

    @staticmethod
    def forward(ctx, cols, size, kernel, stride, pads, dilation):
        ctx.geometry = (kernel, stride, pads, dilation)
        return _windows.col2im(cols, size, kernel, stride, pads, dilation)

    @staticmethod
    def backward(ctx, dout):
        return Im2colFunction.apply(dout, *ctx.geometry), None, None, None, None, None


class GemmFunction(Function):
    """The matrix product of a convolution, one per group.

    cols (N, G, K, L), w_mat (G, O, K), b (G, O) or None -> y = w_mat @ cols + b, (N, G, O, L)
    Backward: dcols = w_mat^T @ dout;  dw_mat = sum over n of dout @ cols^T;  db = sum of dout over n, l.
    """

    @staticmethod
    def forward(ctx, cols, w_mat, b):
        ctx.save_for_backward(cols, w_mat)
        ctx.has_bias = b is not None
        y = w_mat @ cols
        return y + b.unsqueeze(-1) if b is not None else y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        cols, w_mat = ctx.saved_tensors
        dcols = w_mat.transpose(1, 2) @ dout if ctx.needs_input_grad[0] else None
        dw = (dout @ cols.transpose(2, 3)).sum(0) if ctx.needs_input_grad[1] else None
        db = dout.sum((0, 3)) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dcols, dw, db


def _kernel_args(kernel_size, stride, dilation, fn):
    return pair(kernel_size, "kernel_size", fn), pair(stride, "stride", fn), pair(dilation, "dilation", fn)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """x (N, C, H, W) or (C, H, W) -> (N, C*kH*kW, H_out*W_out) (or (C*kH*kW, L)), as
    torch.nn.functional.unfold: column l = i*W_out + j is window (i, j), rows ordered (c, a, b)."""
    fn = "im2col"
    check_tensor(x, "x", fn)
    if x.ndim not in (3, 4):
        fail(fn, f"x must have shape (N, C, H, W) or (C, H, W), got shape {tuple(x.shape)}")
    xb = x if x.ndim == 4 else x.unsqueeze(0)
    kernel, stride, dilation = _kernel_args(kernel_size, stride, dilation, fn)
    pads, _ = conv_geometry(tuple(xb.shape), kernel, stride, padding, dilation, fn)
    cols = Im2colFunction.apply(xb, kernel, stride, pads, dilation)
    return cols if x.ndim == 4 else cols[0]


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """cols (N, C*kH*kW, L) or (C*kH*kW, L) -> (N, C, H, W) (or (C, H, W)), (H, W) = output_size,
    as torch.nn.functional.fold: the adjoint of im2col, overlapping window entries are summed."""
    fn = "col2im"
    check_tensor(cols, "cols", fn)
    if cols.ndim not in (2, 3):
        fail(fn, f"cols must have shape (N, C*kH*kW, L) or (C*kH*kW, L), got shape {tuple(cols.shape)}")
    cb = cols if cols.ndim == 3 else cols.unsqueeze(0)
    _, size, k, s, d, pads, _ = col2im_geometry(tuple(cb.shape), output_size, kernel_size, stride, padding,
                                                dilation, fn)
    x = Col2imFunction.apply(cb, size, k, s, pads, d)
    return x if cols.ndim == 3 else x[0]


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d as im2col followed by one (batched) matrix product; same arguments and result.

        cols = im2col(x)                   (N, G, K, L),  K = (C_in/G)*kH*kW,  L = H_out*W_out
        y    = w_mat @ cols + b            (N, G, C_out/G, L),  w_mat = w.reshape(G, C_out/G, K)
        y   -> (N, C_out, H_out, W_out)

    The backward pass chains that of the product (GemmFunction) and that of im2col (col2im).
    """
    fn = "conv2d_gemm"
    check_tensor(x, "x", fn)
    check_like(x, "x", fn, w=w, b=b)
    check_conv(x, w, b, groups, fn, 2)
    stride = pair(stride, "stride", fn)
    dilation = pair(dilation, "dilation", fn)
    kernel = tuple(w.shape[2:])
    pads, (Ho, Wo) = conv_geometry(tuple(x.shape), kernel, stride, padding, dilation, fn)
    N, C_out, G = x.shape[0], w.shape[0], groups
    cols = Im2colFunction.apply(x, kernel, stride, pads, dilation)            # (N, C_in*kH*kW, L)
    cols = cols.view(N, G, -1, Ho * Wo)
    w_mat = w.reshape(G, C_out // G, -1)
    y = GemmFunction.apply(cols, w_mat, None if b is None else b.view(G, C_out // G))
    return y.reshape(N, C_out, Ho, Wo)


def toeplitz_matrix(w, input_shape, stride=1, padding=0, dilation=1, groups=1):
    """The dense matrix T (C_out*H_out*W_out, C_in*H*W) of the convolution with `w`.

    conv2d(x, w, stride=..., padding=..., dilation=..., groups=...).reshape(N, -1)
        == x.reshape(N, -1) @ T.T          for x of shape (N, *input_shape), input_shape = (C_in, H, W).
    Row (o, i, j) holds w[o, c, a, b] in column (channel of c in o's group, i*sH + a*dH - top,
    j*sW + b*dW - left) wherever that pixel lies inside the image (zero padding contributes
    nothing); for one channel this is the doubly block Toeplitz matrix. Differentiable in w.
    """
    fn = "toeplitz_matrix"
    check_tensor(w, "w", fn)
    shape = image_shape(input_shape, fn)
    check_conv(torch.empty((1,) + shape, device="meta"), w, None, groups, fn, 2)
    C_out, Cg, kH, kW = w.shape
    s, d = pair(stride, "stride", fn), pair(dilation, "dilation", fn)
    ((top, _), (left, _)), (Ho, Wo) = conv_geometry((1,) + shape, (kH, kW), s, padding, d, fn)
    C, H, W = shape

    def ax(n, k):  # arange(n) along axis k of the 6-D grid (o, i, j, c, a, b)
        view = [1] * 6
        view[k] = n
        return torch.arange(n, device=w.device).view(view)

    o, i, j, c, a, b = ax(C_out, 0), ax(Ho, 1), ax(Wo, 2), ax(Cg, 3), ax(kH, 4), ax(kW, 5)
    h = i * s[0] - top + a * d[0]                       # input row read by (i, a)
    v = j * s[1] - left + b * d[1]                      # input column read by (j, b)
    ch = (o // (C_out // groups)) * Cg + c              # input channel in o's group
    grid = (C_out, Ho, Wo, Cg, kH, kW)
    inside = ((h >= 0) & (h < H) & (v >= 0) & (v < W)).expand(grid)
    rows = ((o * Ho + i) * Wo + j).expand(grid)[inside]
    cols = ((ch * H + h) * W + v).expand(grid)[inside]
    vals = w[:, None, None].expand(grid)[inside]
    T = w.new_zeros(C_out * Ho * Wo, C * H * W)
    return T.index_put((rows, cols), vals)
