"""Convolution layers (cross-correlation, as in every deep-learning framework).

    x (N, C_in, H, W)   w (C_out, C_in/G, kH, kW)   b (C_out,)   out (N, C_out, H_out, W_out)

Forward, with G groups, K = (C_in/G)*kH*kW and L = H_out*W_out:
    cols = im2col(x)                  (N, G, K, L)
    out  = w_g @ cols_g + b           (N, G, C_out/G, L),  w_g = w.reshape(G, C_out/G, K)

Backward, from dout (N, C_out, H_out, W_out):
    db = sum of dout over n, i, j                    (C_out,)
    dw = sum over n of dout_g @ cols_g^T             (C_out, C_in/G, kH, kW)
    dx = col2im(w_g^T @ dout_g)                      (N, C_in, H, W)
The last line is the transposed convolution: every output gradient is spread back over the
window it was computed from.
"""

from torch.autograd import Function
from torch.autograd.function import once_differentiable

from .._args import check_conv, conv_geometry, tuple_of
from . import _windows
from ._validate import check_like, check_tensor

__all__ = ["conv1d", "conv2d"]


class Conv2dFunction(Function):
    """x (N, C_in, H, W), w (C_out, C_in/G, kH, kW), b (C_out,) or None -> (N, C_out, H_out, W_out);
    stride, dilation pairs, pads ((top, bottom), (left, right)), groups G. Formulas above."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        N, C_in, H, W = x.shape
        C_out, C_g, kH, kW = w.shape
        G = groups
        cols = _windows.im2col(x, (kH, kW), stride, pads, dilation)   # (N, C_in*kH*kW, L)
        L = cols.shape[2]
        cols = cols.view(N, G, C_g * kH * kW, L)
        w_g = w.reshape(G, C_out // G, C_g * kH * kW)
        out = (w_g @ cols).reshape(N, C_out, L)                         # (N, C_out, L)
        if b is not None:
            out = out + b.view(1, C_out, 1)
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, pads, dilation, groups, b is not None)
        H_out = (H + sum(pads[0]) - dilation[0] * (kH - 1) - 1) // stride[0] + 1
        return out.view(N, C_out, H_out, L // H_out)

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        x, w = ctx.saved_tensors
        stride, pads, dilation, G, has_bias = ctx.conf
        N, C_in, H, W = x.shape
        C_out, C_g, kH, kW = w.shape
        K = C_g * kH * kW
        d = dout.reshape(N, G, C_out // G, -1)                          # (N, G, C_out/G, L)
        w_g = w.reshape(G, C_out // G, K)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dcols = (w_g.transpose(1, 2) @ d).reshape(N, C_in * kH * kW, -1)
            dx = _windows.col2im(dcols, (H, W), (kH, kW), stride, pads, dilation)
        if ctx.needs_input_grad[1]:
            cols = _windows.im2col(x, (kH, kW), stride, pads, dilation).view(N, G, K, -1)
            dw = (d @ cols.transpose(2, 3)).sum(0).reshape(w.shape)
        if has_bias and ctx.needs_input_grad[2]:
            db = dout.sum((0, 2, 3))
        return dx, dw, db, None, None, None, None


def _conv_args(x, w, b, stride, padding, dilation, groups, fn, spatial):
    check_tensor(x, "x", fn)
    check_like(x, "x", fn, w=w, b=b)
    check_conv(x, w, b, groups, fn, spatial)
    stride = tuple_of(stride, spatial, "stride", fn, 1)
    dilation = tuple_of(dilation, spatial, "dilation", fn, 1)
    pads, _ = conv_geometry(tuple(x.shape), tuple(w.shape[2:]), stride, padding, dilation, fn)
    return stride, pads, dilation


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as torch.nn.functional.conv2d.

    x (N, C_in, H, W), w (C_out, C_in/groups, kH, kW), b (C_out,) or None
    -> (N, C_out, H_out, W_out). padding: int, pair, "valid" or "same" (stride 1).
    """
    stride, pads, dilation = _conv_args(x, w, b, stride, padding, dilation, groups, "conv2d", 2)
    return Conv2dFunction.apply(x, w, b, stride, pads, dilation, groups)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, as torch.nn.functional.conv1d.

    x (N, C_in, L), w (C_out, C_in/groups, kL), b (C_out,) or None -> (N, C_out, L_out).
    Computed as conv2d on images of height 1.
    """
    (s,), (p,), (d,) = _conv_args(x, w, b, stride, padding, dilation, groups, "conv1d", 1)
    out = Conv2dFunction.apply(x.unsqueeze(2), w.unsqueeze(2), b, (1, s), ((0, 0), p), (1, d), groups)
    return out.squeeze(2)
