"""Fully connected (linear) layer and its backward pass.

    forward   y = x W^T + b                 x: (N, in), W: (out, in), b: (out,), y: (N, out)
    backward  dx = dout W,  dW = dout^T x,  db = sum_n dout

As in PyTorch the weight is stored (out, in), and x may carry any number of leading axes
(..., in): the layer acts on the last axis, and the backward pass sums over all the others.
"""

from .._args import as_float_array, check_ndim, fail, float_dtype

__all__ = ["linear", "linear_backward"]


def _check(x, w, fn):
    x = as_float_array(x, "x", fn)
    w = as_float_array(w, "w", fn)
    check_ndim(w, 2, "w", "(out, in)", fn)
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        fail(fn, f"x must have shape (..., in) with in = {w.shape[1]} to match w {tuple(w.shape)}, "
                 f"got shape {tuple(x.shape)}")
    return x, w


def linear(x, w, b=None):
    """Fully connected layer: y = x @ w.T + b.

    x: (N, in) or (..., in); w: (out, in); b: (out,) or None
    Returns y: (N, out) (or (..., out)).
    """
    fn = "linear"
    x, w = _check(x, w, fn)
    arrays = [x, w]
    if b is not None:
        b = as_float_array(b, "b", fn)
        if b.shape != (w.shape[0],):
            fail(fn, f"b must have shape (out,) = ({w.shape[0]},) to match w {tuple(w.shape)}, "
                     f"got shape {tuple(b.shape)}")
        arrays.append(b)
    dt = float_dtype(*arrays)
    y = x.astype(dt, copy=False) @ w.astype(dt, copy=False).T
    if b is not None:
        y += b.astype(dt, copy=False)
    return y


def linear_backward(dout, x, w):
    """Backward pass of the fully connected layer.

    dx = dout @ w;  dw = dout^T @ x (summed over the batch);  db = dout summed over the batch.

    dout: (N, out) (or (..., out)), the gradient w.r.t. y; x: (N, in) (or (..., in)), the forward
    input; w: (out, in)
    Returns (dx, dw, db): shapes of x, (out, in) and (out,).
    """
    fn = "linear_backward"
    x, w = _check(x, w, fn)
    dout = as_float_array(dout, "dout", fn)
    expected = x.shape[:-1] + (w.shape[0],)
    if dout.shape != expected:
        fail(fn, f"dout must have the shape of the forward output {expected} "
                 f"(x {tuple(x.shape)}, w {tuple(w.shape)}), got shape {tuple(dout.shape)}")
    dt = float_dtype(dout, x, w)
    dout, x, w = (a.astype(dt, copy=False) for a in (dout, x, w))
    d2 = dout.reshape(-1, w.shape[0])
    x2 = x.reshape(-1, w.shape[1])
    return dout @ w, d2.T @ x2, d2.sum(axis=0)
