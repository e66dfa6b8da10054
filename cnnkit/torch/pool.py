"""Pooling layers: max, average, global average and stochastic pooling.

A window of kH x kW pixels (dilation d: every d-th pixel) slides with stride s (the kernel size
by default) over every channel; padding p is at most half the kernel, as in PyTorch. Per axis

    H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1      (ceil with ceil_mode=True)

and x is (N, C, H, W) or a single image (C, H, W).

Backward passes:
    max         the gradient of each output goes to the maximum of its window (the first one
                in row-major window order on ties), through the saved indices
    average     dout / divisor is spread evenly over the window (col2im of a constant column)
    global avg  dout / (H*W) to every pixel
    stochastic  training: to the sampled activation; evaluation: the derivative of
                sum(a^2) / sum(a) over the window
"""

import torch
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from .._args import fail, is_int, pool_geometry
from . import _windows
from ._validate import check_tensor

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d", "stochastic_pool2d"]


# ------------------------------------------------------------------ geometry

def _batched(x, fn):
    """x as (N, C, H, W), and whether it came as a single image (C, H, W)."""
    check_tensor(x, "x", fn)
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        fail(fn, f"x must have 3 or 4 dimensions, (C, H, W) or (N, C, H, W), got shape {tuple(x.shape)}")
    return x, False


def _pool_windows(x, k, s, d, out, pads, value):
    """(N, C, H, W) -> view (N, C, H_out, W_out, kH, kW) of the windows, padding = value."""
    win = _windows.windows(_windows.pad2d(x, pads, value), k, s, d)
    return win[:, :, :out[0], :out[1]]


# ---------------------------------------------------------------- max pooling

def _argmax_position(arg, empty, k, s, p, d, out):
    """Row and column in the unpadded image of each window's maximum (N, C, Ho, Wo).

    A window whose maximum is -inf reports its first pixel inside the image, as PyTorch does."""
    dev = arg.device
    top = torch.arange(out[0], device=dev) * s[0] - p[0]
    left = torch.arange(out[1], device=dev) * s[1] - p[1]
    rows = top[:, None] + (arg // k[1]) * d[0]
    cols = left[None, :] + (arg % k[1]) * d[1]
    if empty.any():
        first_row = top + (-torch.div(top, d[0], rounding_mode="floor")).clamp(min=0) * d[0]
        first_col = left + (-torch.div(left, d[1], rounding_mode="floor")).clamp(min=0) * d[1]
        rows = torch.where(empty, first_row[:, None], rows)
        cols = torch.where(empty, first_col[None, :], cols)
    return rows, cols


class MaxPool2dFunction(Function):
    """x (N, C, H, W) -> out (N, C, Ho, Wo) = max of each window, and index h*W + w of that max."""

    @staticmethod
    def forward(ctx, x, k, s, p, d, out, pads):
        N, C, H, W = x.shape
        win = _pool_windows(x, k, s, d, out, pads, float("-inf")).flatten(-2)
        y, arg = win.max(-1)                                        # first maximum on ties
        rows, cols = _argmax_position(arg, y == float("-inf"), k, s, p, d, out)
        index = rows * W + cols
        inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        ctx.save_for_backward(index, inside)
        ctx.shape = x.shape
        ctx.mark_non_differentiable(index)
        return y, index

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, _dindex):
        index, inside = ctx.saved_tensors
        dx = _windows.scatter_to_plane(dout, index, ctx.shape, keep=inside)
        return dx, None, None, None, None, None, None


def max_pool2d(x, kernel_size, stride=None, padding=0, return_indices=False, *, dilation=1, ceil_mode=False):
    """Max pooling, as torch.nn.functional.max_pool2d (padding counts as -inf).

    x (N, C, H, W) or (C, H, W) -> out (N, C, H_out, W_out) (or (C, H_out, W_out)), and with
    return_indices also the int64 flat indices h*W + w of the maxima in each unpadded input plane.
    """
    fn = "max_pool2d"
    xb, single = _batched(x, fn)
    k, s, p, d, out, pads = pool_geometry(xb.shape, kernel_size, stride, padding, dilation, ceil_mode, fn)
    y, index = MaxPool2dFunction.apply(xb, k, s, p, d, out, pads)
    if single:
        y, index = y[0], index[0]
    return (y, index) if return_indices else y


# ------------------------------------------------------------ average pooling

class AvgPool2dFunction(Function):
    """x (N, C, H, W) -> window sums / divisor (H_out, W_out)."""

    @staticmethod
    def forward(ctx, x, k, s, out, pads, divisor):
        ctx.conf = (tuple(x.shape[2:]), k, s, pads, divisor)
        return _pool_windows(x, k, s, (1, 1), out, pads, 0.0).sum((-2, -1)) / divisor

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        size, (kH, kW), s, pads, divisor = ctx.conf
        N, C, Ho, Wo = dout.shape
        g = (dout / divisor).reshape(N, C, 1, 1, Ho * Wo).expand(N, C, kH, kW, Ho * Wo)
        dx = _windows.col2im(g.reshape(N, C * kH * kW, Ho * Wo), size, (kH, kW), s, pads, (1, 1))
        return dx, None, None, None, None, None


def _avg_divisor(shape, k, s, p, out, count_include_pad, divisor_override, x, fn):
    """Divisor of every window (H_out, W_out): kH*kW, or the pixels inside the image
    (count_include_pad=False), or divisor_override; the overhang of ceil mode never counts."""
    if divisor_override is not None:
        if not is_int(divisor_override) or divisor_override == 0:
            fail(fn, f"divisor_override must be a non-zero int, got {divisor_override!r}")
        return torch.full(out, float(divisor_override), dtype=x.dtype, device=x.device)
    counts = []
    for n, kk, ss, pp, o in zip(shape[-2:], k, s, p, out):
        start = torch.arange(o, device=x.device) * ss - pp
        end = (start + kk).clamp(max=n + pp)
        counts.append(end - start if count_include_pad else end.clamp(max=n) - start.clamp(min=0))
    return (counts[0][:, None] * counts[1][None, :]).to(x.dtype)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling, as torch.nn.functional.avg_pool2d (padding counts as zeros).

    x (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out) (or (C, H_out, W_out)).
    """
    fn = "avg_pool2d"
    xb, single = _batched(x, fn)
    k, s, p, _, out, pads = pool_geometry(xb.shape, kernel_size, stride, padding, 1, ceil_mode, fn)
    div = _avg_divisor(xb.shape, k, s, p, out, count_include_pad, divisor_override, xb, fn)
    y = AvgPool2dFunction.apply(xb, k, s, out, pads, div)
    return y[0] if single else y


class GlobalAvgPool2dFunction(Function):
    """x (N, C, H, W) -> mean over (H, W), (N, C); dx = dout / (H*W) at every pixel."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.mean((2, 3))

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        N, C, H, W = ctx.shape
        return (dout / (H * W)).view(N, C, 1, 1).expand(N, C, H, W).contiguous()


def global_avg_pool2d(x):
    """Mean over the spatial axes: x (N, C, H, W) -> (N, C), or (C, H, W) -> (C,)."""
    fn = "global_avg_pool2d"
    xb, single = _batched(x, fn)
    if xb.shape[2] * xb.shape[3] == 0:
        fail(fn, f"x must have a non-empty image, got shape {tuple(x.shape)}")
    y = GlobalAvgPool2dFunction.apply(xb)
    return y[0] if single else y


# --------------------------------------------------------- stochastic pooling

class StochasticPool2dTrainFunction(Function):
    """Zeiler & Fergus (2013), training.

    The activations a >= 0 of a window define p = a / sum(a); one position is drawn from p with
    the uniform numbers u (N, C, H_out, W_out) by inverse transform sampling (the first position
    whose running sum exceeds u * sum(a)), and its activation is the output. A window of zeros
    gives 0. The gradient goes to the sampled activation only.
    """

    @staticmethod
    def forward(ctx, x, k, s, out, u):
        N, C, H, W = x.shape
        a = _pool_windows(x, k, s, (1, 1), out, ((0, 0), (0, 0)), 0.0).flatten(-2)   # (N, C, Ho, Wo, kk)
        cum = a.cumsum(-1)
        total = cum[..., -1]
        t = torch.minimum(u * total, torch.nextafter(total, torch.zeros_like(total)))
        arg = (cum <= t.unsqueeze(-1)).sum(-1).clamp(max=a.shape[-1] - 1)
        y = torch.where(total > 0, a.gather(-1, arg.unsqueeze(-1)).squeeze(-1), torch.zeros_like(total))
        rows, cols = _argmax_position(arg, torch.zeros_like(total, dtype=torch.bool), k, s, (0, 0), (1, 1), out)
        ctx.save_for_backward(rows * W + cols, total > 0)
        ctx.shape = x.shape
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        index, sampled = ctx.saved_tensors
        return _windows.scatter_to_plane(dout, index, ctx.shape, keep=sampled), None, None, None, None


class StochasticPool2dEvalFunction(Function):
    """Zeiler & Fergus (2013), evaluation: out = sum(p * a) = sum(a^2) / sum(a) over each window.

    d out / d a_j = (2 a_j sum(a) - sum(a^2)) / sum(a)^2  (0 for a window of zeros).
    """

    @staticmethod
    def forward(ctx, x, k, s, out):
        a = _pool_windows(x, k, s, (1, 1), out, ((0, 0), (0, 0)), 0.0)          # (N, C, Ho, Wo, kH, kW)
        s1, s2 = a.sum((-2, -1)), (a * a).sum((-2, -1))
        nz = s1 > 0
        ctx.save_for_backward(x)
        ctx.conf = (k, s, out)
        return torch.where(nz, s2 / torch.where(nz, s1, torch.ones_like(s1)), torch.zeros_like(s1))

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        (x,) = ctx.saved_tensors
        k, s, out = ctx.conf
        N, C, H, W = x.shape
        a = _pool_windows(x, k, s, (1, 1), out, ((0, 0), (0, 0)), 0.0)
        s1, s2 = a.sum((-2, -1), keepdim=True), (a * a).sum((-2, -1), keepdim=True)
        nz = s1 > 0
        s1 = torch.where(nz, s1, torch.ones_like(s1))
        g = torch.where(nz, (2 * a * s1 - s2) / (s1 * s1), torch.zeros_like(a)) * dout[..., None, None]
        cols = g.permute(0, 1, 4, 5, 2, 3).reshape(N, C * k[0] * k[1], out[0] * out[1])
        return _windows.col2im(cols, (H, W), k, s, ((0, 0), (0, 0)), (1, 1)), None, None, None


def _generator(rng, fn):
    if rng is None or isinstance(rng, torch.Generator):
        return rng
    if is_int(rng) and rng >= 0:
        return torch.Generator().manual_seed(int(rng))
    fail(fn, f"rng must be None, a non-negative int seed or a torch.Generator, got {rng!r}")


def stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None, *, generator=None):
    """Stochastic pooling (Zeiler & Fergus, 2013), no padding.

    The non-negative activations a of each window (the output of a ReLU) define p = a / sum(a).
    training=True: one activation per window, drawn with probability p (0 for a window of zeros);
    training=False: the probability-weighted average sum(p * a) = sum(a^2) / sum(a).

    x: (N, C, H, W) or (C, H, W), non-negative -> (N, C, H_out, W_out) (or (C, H_out, W_out)).
    rng (or `generator`, as in torch): None (torch's global generator), an int seed, or a
    torch.Generator (used, and advanced) on any device.
    """
    fn = "stochastic_pool2d"
    xb, single = _batched(x, fn)
    k, s, _, _, out, _ = pool_geometry(xb.shape, kernel_size, stride, 0, 1, False, fn)
    if generator is not None:
        if rng is not None:
            fail(fn, "pass rng or generator, not both")
        rng = generator
    gen = _generator(rng, fn)
    if xb.numel() and not bool((xb >= 0).all()):          # `not >=` also catches NaN
        fail(fn, f"x must be non-negative (stochastic pooling samples activations in proportion "
                 f"to their value; apply a ReLU first), got min {xb.min().item()} in shape "
                 f"{tuple(x.shape)}")
    if not training:
        y = StochasticPool2dEvalFunction.apply(xb, k, s, out)
    else:
        shape = (xb.shape[0], xb.shape[1]) + out
        where = gen.device if gen is not None else xb.device
        u = torch.rand(shape, generator=gen, dtype=xb.dtype, device=where).to(xb.device)
        y = StochasticPool2dTrainFunction.apply(xb, k, s, out, u)
    return y[0] if single else y
