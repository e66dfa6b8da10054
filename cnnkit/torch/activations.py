"""Activation functions and their derivatives, written in terms of the forward output y or input x.

    sigmoid  y = 1 / (1 + e^-x)                   dx = dout * y * (1 - y)
    tanh     y = tanh(x)                          dx = dout * (1 - y^2)
    relu     y = max(x, 0)                        dx = dout * [x > 0]
    softmax  y = e^(x - max) / sum e^(x - max)    dx = y * (dout - sum(dout * y))   (sums along the axis)
"""

import torch
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from .._args import fail, is_int
from ._validate import check_tensor

__all__ = ["sigmoid", "tanh", "relu", "softmax"]


class SigmoidFunction(Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        (y,) = ctx.saved_tensors
        return dout * y * (1 - y)


class TanhFunction(Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        (y,) = ctx.saved_tensors
        return dout * (1 - y * y)


class ReluFunction(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        (x,) = ctx.saved_tensors
        return dout * (x > 0).to(dout.dtype)


class SoftmaxFunction(Function):
    @staticmethod
    def forward(ctx, x, axis):
        e = (x - x.amax(axis, keepdim=True)).exp()
        y = e / e.sum(axis, keepdim=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        (y,) = ctx.saved_tensors
        return y * (dout - (dout * y).sum(ctx.axis, keepdim=True)), None


def sigmoid(x):
    """Logistic sigmoid, elementwise; any shape."""
    return SigmoidFunction.apply(check_tensor(x, "x", "sigmoid"))


def tanh(x):
    """Hyperbolic tangent, elementwise; any shape."""
    return TanhFunction.apply(check_tensor(x, "x", "tanh"))


def relu(x):
    """Rectified linear unit max(x, 0), elementwise; any shape."""
    return ReluFunction.apply(check_tensor(x, "x", "relu"))


def softmax(x, axis=-1, *, dim=None):
    """Softmax along `axis` (`dim` is accepted as in torch); same shape as x."""
    fn = "softmax"
    check_tensor(x, "x", fn)
    if dim is not None:
        axis = dim
    if x.ndim == 0:
        fail(fn, f"x must have at least one dimension, got shape {tuple(x.shape)}")
    if not is_int(axis) or not -x.ndim <= axis < x.ndim:
        fail(fn, f"axis must be an int in [{-x.ndim}, {x.ndim}) for x of shape "
                 f"{tuple(x.shape)}, got {axis!r}")
    return SoftmaxFunction.apply(x, int(axis) % x.ndim)
