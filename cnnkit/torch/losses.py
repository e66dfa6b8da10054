"""Loss functions and their gradients.

    squared_error  E = 1/2 sum (h - y)^2                    dE/dh = h - y,  dE/dy = y - h
    cross_entropy  E = 1/N sum_n (logsumexp(z_n) - z_n[t_n])  dE/dz = (softmax(z) - onehot(t)) / N
                   z (N, K) logits, t (N,) integer labels
"""

import torch
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from .._args import check_ndim, fail
from ._validate import check_like, check_tensor

__all__ = ["squared_error", "cross_entropy"]


class SquaredErrorFunction(Function):
    @staticmethod
    def forward(ctx, h, y):
        e = h - y
        ctx.save_for_backward(e)
        return 0.5 * (e * e).sum()

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        (e,) = ctx.saved_tensors
        dh = dout * e
        return dh, -dh


class CrossEntropyFunction(Function):
    """z (N, K) logits, t (N,) labels -> mean negative log-likelihood (scalar)."""

    @staticmethod
    def forward(ctx, z, t):
        zs = z - z.amax(1, keepdim=True)
        e = zs.exp()
        s = e.sum(1, keepdim=True)
        logp = zs - s.log()                                   # log softmax (M, C)
        ctx.save_for_backward(e / s, t)
        return -logp.gather(1, t.unsqueeze(1)).mean()

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        p, t = ctx.saved_tensors
        dz = p.clone()
        dz[torch.arange(p.shape[0], device=p.device), t] -= 1
        return dz * (dout / p.shape[0]), None


def squared_error(h, y):
    """0.5 * sum((h - y)**2) for h and y of the same shape -> scalar tensor."""
    fn = "squared_error"
    check_tensor(h, "h", fn)
    check_like(h, "h", fn, y=y)
    if h.shape != y.shape:
        fail(fn, f"h and y must have the same shape, got h {tuple(h.shape)} and y {tuple(y.shape)}")
    return SquaredErrorFunction.apply(h, y)


def cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels, as
    torch.nn.functional.cross_entropy with its defaults.

    logits (N, K), labels (N,) integers in [0, K) -> scalar (NaN for an empty batch).
    """
    fn = "cross_entropy"
    check_tensor(logits, "logits", fn)
    check_ndim(logits, 2, "logits", "(N, K)", fn)
    if not isinstance(labels, torch.Tensor):
        fail(fn, f"labels must be a torch.Tensor of integer class indices, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        fail(fn, f"labels must be integer class indices, got dtype {labels.dtype}")
    n, k = logits.shape
    if tuple(labels.shape) != (n,):
        fail(fn, f"labels must have shape (N,) = ({n},) to match logits {tuple(logits.shape)}, "
                 f"got shape {tuple(labels.shape)}")
    if labels.device != logits.device:
        fail(fn, f"labels is on {labels.device} but logits is on {logits.device}")
    if n:
        lo, hi = labels.min().item(), labels.max().item()
        if lo < 0 or hi >= k:
            fail(fn, f"labels must lie in [0, K) = [0, {k}) for logits {tuple(logits.shape)}, "
                     f"got values from {lo} to {hi}")
    return CrossEntropyFunction.apply(logits, labels.long())
