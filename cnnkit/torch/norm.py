"""Normalisation layers: batch normalisation and local response normalisation.

Batch norm, per channel c of x (N, C) or (N, C, *), over the M = N * prod(*) values of the channel:
    mu = mean(x),  var = mean((x - mu)^2),  xhat = (x - mu) / sqrt(var + eps)
    y  = gamma * xhat + beta
    training:   dbeta = sum(dout),  dgamma = sum(dout * xhat),  dxhat = dout * gamma
                dx = (M dxhat - sum(dxhat) - xhat sum(dxhat * xhat)) / (M sqrt(var + eps))
                running_mean <- (1 - momentum) running_mean + momentum mu
                running_var  <- (1 - momentum) running_var  + momentum var * M / (M - 1)
    evaluation: mu, var are the running statistics, dx = dout * gamma / sqrt(var + eps)

Local response norm (AlexNet), over a window of `size` neighbouring channels
W(c) = [c - size//2, c + (size-1)//2]:
    D_c = k + alpha/size * sum_{c' in W(c)} x_{c'}^2,   y_c = x_c D_c^-beta
    dx_j = dout_j D_j^-beta - 2 alpha beta / size * x_j * sum_{c : j in W(c)} dout_c x_c D_c^(-beta-1)
"""

import numbers

import torch
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from .._args import fail, is_int
from ._validate import check_like, check_tensor

__all__ = ["batch_norm", "local_response_norm"]


def _per_channel(v, ndim):
    """(C,) -> (1, C, 1, ...) broadcasting against an ndim-dimensional (N, C, *) tensor."""
    return v.view((1, -1) + (1,) * (ndim - 2))


class BatchNormTrainFunction(Function):
    """x (N, C, *), gamma, beta (C,) or None -> y (N, C, *), and the batch mean and biased
    variance (C,) for the running statistics."""

    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        dims = (0,) + tuple(range(2, x.ndim))
        mu = x.mean(dims)
        var = ((x - _per_channel(mu, x.ndim)) ** 2).mean(dims)
        istd = (var + eps).rsqrt()
        xhat = (x - _per_channel(mu, x.ndim)) * _per_channel(istd, x.ndim)
        y = xhat
        if gamma is not None:
            y = y * _per_channel(gamma, x.ndim)
        if beta is not None:
            y = y + _per_channel(beta, x.ndim)
        ctx.save_for_backward(xhat, istd, gamma)
        ctx.has_beta = beta is not None
        ctx.mark_non_differentiable(mu, var)
        return y, mu, var

    @staticmethod
    @once_differentiable
    def backward(ctx, dout, _dmu, _dvar):
        xhat, istd, gamma = ctx.saved_tensors
        n = xhat.ndim
        dims = (0,) + tuple(range(2, n))
        M = xhat.numel() // xhat.shape[1]
        dgamma = (dout * xhat).sum(dims) if gamma is not None and ctx.needs_input_grad[1] else None
        dbeta = dout.sum(dims) if ctx.has_beta and ctx.needs_input_grad[2] else None
        dx = None
        if ctx.needs_input_grad[0]:
            dxhat = dout * _per_channel(gamma, n) if gamma is not None else dout
            dx = (M * dxhat - dxhat.sum(dims, keepdim=True)
                  - xhat * (dxhat * xhat).sum(dims, keepdim=True)) * _per_channel(istd / M, n)
        return dx, dgamma, dbeta, None


class BatchNormEvalFunction(Function):
    """y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta."""

    @staticmethod
    def forward(ctx, x, gamma, beta, mean, var, eps):
        n = x.ndim
        istd = (var + eps).rsqrt()
        xhat = (x - _per_channel(mean, n)) * _per_channel(istd, n)
        y = xhat
        if gamma is not None:
            y = y * _per_channel(gamma, n)
        if beta is not None:
            y = y + _per_channel(beta, n)
        ctx.save_for_backward(xhat, istd, gamma)
        ctx.has_beta = beta is not None
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        xhat, istd, gamma = ctx.saved_tensors
        n = xhat.ndim
        dims = (0,) + tuple(range(2, n))
        dx = dgamma = dbeta = None
        if ctx.needs_input_grad[0]:
            scale = istd * gamma if gamma is not None else istd
            dx = dout * _per_channel(scale, n)
        if gamma is not None and ctx.needs_input_grad[1]:
            dgamma = (dout * xhat).sum(dims)
        if ctx.has_beta and ctx.needs_input_grad[2]:
            dbeta = dout.sum(dims)
        return dx, dgamma, dbeta, None, None, None


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalisation of x (N, C) or (N, C, *) per channel, as torch.nn.functional.batch_norm.

    gamma, beta, running_mean, running_var: (C,) or None. In training the batch statistics
    are used and the running statistics (when given) are updated in place, the variance
    unbiased; in evaluation the running statistics are used.
    """
    fn = "batch_norm"
    check_tensor(x, "x", fn)
    if x.ndim < 2:
        fail(fn, f"x must have at least 2 dimensions, (N, C), (N, C, L) or (N, C, H, W), "
                 f"got shape {tuple(x.shape)}")
    check_like(x, "x", fn, gamma=gamma, beta=beta, running_mean=running_mean, running_var=running_var)
    C = x.shape[1]
    for name, v in (("gamma", gamma), ("beta", beta),
                    ("running_mean", running_mean), ("running_var", running_var)):
        if v is not None and tuple(v.shape) != (C,):
            fail(fn, f"{name} must have shape (C,) = ({C},) for x of shape {tuple(x.shape)}, "
                     f"got shape {tuple(v.shape)}")
    if not isinstance(momentum, numbers.Real) or not isinstance(eps, numbers.Real) or eps < 0:
        fail(fn, f"momentum and eps must be numbers (eps >= 0), got momentum={momentum!r}, eps={eps!r}")
    if not training:
        if running_mean is None or running_var is None:
            fail(fn, "running_mean and running_var are required in evaluation (training=False)")
        return BatchNormEvalFunction.apply(x, gamma, beta, running_mean, running_var, float(eps))
    M = x.numel() // C if C else 0
    if M <= 1:
        fail(fn, f"expected more than 1 value per channel when training, got x of shape {tuple(x.shape)}")
    y, mu, var = BatchNormTrainFunction.apply(x, gamma, beta, float(eps))
    with torch.no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mu, alpha=momentum)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(var * (M / (M - 1)), alpha=momentum)
    return y


def _channel_window_sum(t, before, after):
    """s[:, c] = sum of t[:, c'] for c - before <= c' <= c + after (zeros outside), t (N, C, *)."""
    C = t.shape[1]
    tp = t.new_zeros((t.shape[0], C + before + after) + tuple(t.shape[2:]))
    tp[:, before:before + C] = t
    s = tp[:, 0:C].clone()
    for o in range(1, before + after + 1):
        s += tp[:, o:o + C]
    return s


class LocalResponseNormFunction(Function):
    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        D = k + (alpha / size) * _channel_window_sum(x * x, size // 2, (size - 1) // 2)
        y = x * D.pow(-beta)
        ctx.save_for_backward(x, D)
        ctx.conf = (size, alpha, beta)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        x, D = ctx.saved_tensors
        size, alpha, beta = ctx.conf
        t = dout * x * D.pow(-beta - 1)
        back = _channel_window_sum(t, (size - 1) // 2, size // 2)   # sum over c with j in W(c)
        return (dout * D.pow(-beta) - (2 * alpha * beta / size) * x * back), None, None, None, None


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels of x (N, C, *) with at least 3 dimensions,
    as torch.nn.functional.local_response_norm."""
    fn = "local_response_norm"
    check_tensor(x, "x", fn)
    if x.ndim < 3:
        fail(fn, f"x must have at least 3 dimensions, (N, C, L) or (N, C, H, W), "
                 f"got shape {tuple(x.shape)}")
    if not is_int(size) or size < 1:
        fail(fn, f"size must be a positive int, got {size!r}")
    for name, v in (("alpha", alpha), ("beta", beta), ("k", k)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            fail(fn, f"{name} must be a number, got {v!r}")
    return LocalResponseNormFunction.apply(x, int(size), float(alpha), float(beta), float(k))
