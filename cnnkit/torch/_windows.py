"""Sliding windows over images: padding, im2col and its adjoint col2im (no autograd here).

These are the low-level pieces the convolution and pooling operations are built from. All work
on tensors of shape (N, C, H, W) on any device and keep the dtype.

    pads      ((top, bottom), (left, right))
    kernel    (kH, kW);  stride (sH, sW);  dilation (dH, dW)
    H_out   = (H + top + bottom - dH*(kH-1) - 1) // sH + 1   (W_out likewise)

Window (i, j) holds xp[n, c, i*sH + a*dH, j*sW + b*dW] for a < kH, b < kW, where xp is the
padded image.
"""

import torch


def pad2d(x, pads, value=0.0):
    """x (N, C, H, W) -> (N, C, H + top + bottom, W + left + right), the border filled with `value`."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    N, C, H, W = x.shape
    xp = x.new_full((N, C, H + pt + pb, W + pl + pr), value)
    xp[:, :, pt:pt + H, pl:pl + W] = x
    return xp


def windows(xp, kernel, stride, dilation=(1, 1)):
    """xp (N, C, Hp, Wp), already padded -> view (N, C, H_out, W_out, kH, kW) of its windows."""
    (kH, kW), (sH, sW), (dH, dW) = kernel, stride, dilation
    v = xp.unfold(2, dH * (kH - 1) + 1, sH).unfold(3, dW * (kW - 1) + 1, sW)
    return v[..., ::dH, ::dW]


def im2col(x, kernel, stride, pads, dilation):
    """x (N, C, H, W) -> cols (N, C*kH*kW, H_out*W_out).

    Column l = i*W_out + j is window (i, j) flattened in the order (c, a, b), as in
    torch.nn.functional.unfold.
    """
    N, C = x.shape[:2]
    kH, kW = kernel
    win = windows(pad2d(x, pads), kernel, stride, dilation)          # (N, C, Ho, Wo, kH, kW)
    Ho, Wo = win.shape[2:4]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(N, C * kH * kW, Ho * Wo)


def col2im(cols, size, kernel, stride, pads, dilation):
    """cols (N, C*kH*kW, H_out*W_out) -> x (N, C, H, W) with size = (H, W).

    The adjoint of im2col: every entry of `cols` is added to the pixel im2col took it from;
    entries that came from the padding are dropped. One strided slice-add per kernel offset.
    """
    (H, W), (kH, kW), (sH, sW), ((pt, pb), (pl, pr)), (dH, dW) = size, kernel, stride, pads, dilation
    N = cols.shape[0]
    C = cols.shape[1] // (kH * kW)
    Hp, Wp = H + pt + pb, W + pl + pr
    Ho = (Hp - dH * (kH - 1) - 1) // sH + 1
    Wo = (Wp - dW * (kW - 1) - 1) // sW + 1
    c = cols.reshape(N, C, kH, kW, Ho, Wo)
    xp = cols.new_zeros(N, C, Hp, Wp)
    for a in range(kH):
        for b in range(kW):
            h0, w0 = a * dH, b * dW
            xp[:, :, h0:h0 + sH * (Ho - 1) + 1:sH, w0:w0 + sW * (Wo - 1) + 1:sW] += c[:, :, a, b]
    if pt or pb or pl or pr:
        xp = xp[:, :, pt:pt + H, pl:pl + W].contiguous()
    return xp


def scatter_to_plane(dout, index, shape, keep=None):
    """dout (N, C, Ho, Wo) added at flat plane indices `index` (N, C, Ho, Wo) -> (N, C, H, W).

    Entries where `keep` (a boolean mask like dout) is False are left out."""
    N, C, H, W = shape
    if keep is not None:
        dout = dout * keep
        index = torch.where(keep, index, torch.zeros_like(index))
    dx = dout.new_zeros(N, C, H * W)
    dx.scatter_add_(2, index.reshape(N, C, -1), dout.reshape(N, C, -1))
    return dx.view(N, C, H, W)
