"""Fully connected layer y = x w^T + b with its backward pass.

    x (*, in)   w (out, in)   b (out,)   y (*, out)

Backward, with the leading axes of x flattened into M rows:
    dx = dout w                      (*, in)
    dw = dout^T x  (sum over rows)   (out, in)
    db = sum of dout over rows       (out,)
"""

from torch.autograd import Function
from torch.autograd.function import once_differentiable

from .._args import check_ndim, fail
from ._validate import check_like, check_tensor

__all__ = ["linear"]


class LinearFunction(Function):
    """x (*, in), w (out, in), b (out,) or None -> y (*, out); formulas above."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        y = x @ w.t()
        return y + b if b is not None else y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        x, w = ctx.saved_tensors
        dx = dw = db = None
        dout2 = dout.reshape(-1, w.shape[0])                 # (M, out)
        if ctx.needs_input_grad[0]:
            dx = dout @ w                                    # (*, in)
        if ctx.needs_input_grad[1]:
            dw = dout2.t() @ x.reshape(-1, w.shape[1])       # (out, in)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = dout2.sum(0)                                # (out,)
        return dx, dw, db


def linear(x, w, b=None):
    """y = x @ w.T + b for x (*, in), w (out, in), b (out,) or None -> y (*, out)."""
    fn = "linear"
    check_tensor(x, "x", fn)
    check_like(x, "x", fn, w=w, b=b)
    check_ndim(w, 2, "w", "(out, in)", fn)
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        fail(fn, f"x must have shape (..., in) with in = {w.shape[1]} to match w {tuple(w.shape)}, "
                 f"got shape {tuple(x.shape)}")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        fail(fn, f"b must have shape (out,) = ({w.shape[0]},) to match w {tuple(w.shape)}, "
                 f"got shape {tuple(b.shape)}")
    return LinearFunction.apply(x, w, b)
