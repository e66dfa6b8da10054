"""Activation functions and their backward passes.

Element-wise nonlinearities applied after a convolution or a fully connected layer:

    sigmoid(x) = 1 / (1 + e^-x)        sigmoid'(x) = sigmoid(x) (1 - sigmoid(x))
    tanh(x)                            tanh'(x)    = 1 - tanh(x)^2
    relu(x)    = max(x, 0)             relu'(x)    = 1 if x > 0 else 0
    softmax(x)_i = e^{x_i} / sum_j e^{x_j}   (along one axis)

Each backward pass takes the upstream gradient `dout` and the forward INPUT `x` and returns
dout * f'(x) (for softmax, the Jacobian-vector product along the axis).
"""

import numpy as np

from .._args import as_float_array, fail, float_dtype, is_int

__all__ = [
    "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward",
    "relu", "relu_backward",
    "softmax", "softmax_backward",
]


def _dout_like(dout, x, fn):
    x = as_float_array(x, "x", fn)
    dout = as_float_array(dout, "dout", fn)
    if dout.shape != x.shape:
        fail(fn, f"dout and x must have the same shape, got dout {tuple(dout.shape)} "
                 f"and x {tuple(x.shape)}")
    dt = float_dtype(dout, x)
    return dout.astype(dt, copy=False), x.astype(dt, copy=False)


def _sigmoid_parts(x):
    # With e = exp(-|x|) <= 1 nothing overflows:
    # sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0.
    e = np.exp(-np.abs(x))
    return e, np.where(x >= 0, 1, e) / (1 + e)


def sigmoid(x):
    """Logistic sigmoid, sigmoid(x) = 1 / (1 + exp(-x)), element-wise, without overflow.

    x: any shape. Returns an array of the same shape.
    """
    return _sigmoid_parts(as_float_array(x, "x", "sigmoid"))[1]


def sigmoid_backward(dout, x):
    """Backward pass of the sigmoid: dx = dout * sigmoid(x) * (1 - sigmoid(x)).

    Written as dout * e / (1 + e)^2 with e = exp(-|x|), which keeps full precision in the tails
    where 1 - sigmoid(x) would cancel.

    dout, x: the same shape (x is the forward input). Returns dx: that shape.
    """
    dout, x = _dout_like(dout, x, "sigmoid_backward")
    e, _ = _sigmoid_parts(x)
    return dout * (e / ((1 + e) * (1 + e)))


def tanh(x):
    """Hyperbolic tangent, element-wise. tanh(x) = 2 sigmoid(2x) - 1.

    x: any shape. Returns an array of the same shape.
    """
    return np.tanh(as_float_array(x, "x", "tanh"))


def tanh_backward(dout, x):
    """Backward pass of tanh: dx = dout * (1 - tanh(x)^2).

    dout, x: the same shape (x is the forward input). Returns dx: that shape.
    """
    dout, x = _dout_like(dout, x, "tanh_backward")
    t = np.tanh(x)
    return dout * (1 - t * t)


def relu(x):
    """Rectified linear unit, relu(x) = max(x, 0), element-wise (NaN stays NaN).

    x: any shape. Returns an array of the same shape.
    """
    return np.maximum(as_float_array(x, "x", "relu"), 0)


def relu_backward(dout, x):
    """Backward pass of the ReLU: dx = dout where x > 0, else 0 (also at x = 0, as PyTorch).

    dout, x: the same shape (x is the forward input). Returns dx: that shape.
    """
    dout, x = _dout_like(dout, x, "relu_backward")
    return np.where(x > 0, dout, 0).astype(dout.dtype, copy=False)


def _axis(x, axis, fn):
    if x.ndim == 0:
        fail(fn, f"x must have at least one dimension, got shape {tuple(x.shape)}")
    if not is_int(axis) or not -x.ndim <= axis < x.ndim:
        fail(fn, f"axis must be an int in [{-x.ndim}, {x.ndim}) for x of shape "
                 f"{tuple(x.shape)}, got {axis!r}")
    return int(axis)


def softmax(x, axis=-1):
    """Softmax along `axis`: y_i = exp(x_i) / sum_j exp(x_j).

    Computed as exp(x_i - m) / sum_j exp(x_j - m) with m = max_j x_j, the same value (the factor
    e^-m cancels) but no overflow: the largest exponent is 0.

    x: any shape with at least one axis. Returns y: the same shape, summing to 1 along `axis`.
    """
    fn = "softmax"
    x = as_float_array(x, "x", fn)
    axis = _axis(x, axis, fn)
    if x.size == 0:
        return x.copy()
    with np.errstate(invalid="ignore"):       # rows of -inf or +inf give NaN, as in PyTorch
        z = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return z / np.sum(z, axis=axis, keepdims=True)


def softmax_backward(dout, x, axis=-1):
    """Backward pass of softmax: dx_i = y_i * (dout_i - sum_j dout_j y_j), y = softmax(x).

    dout, x: the same shape (x is the forward input). Returns dx: that shape.
    """
    fn = "softmax_backward"
    dout, x = _dout_like(dout, x, fn)
    axis = _axis(x, axis, fn)
    y = softmax(x, axis)
    return y * (dout - np.sum(dout * y, axis=axis, keepdims=True))
