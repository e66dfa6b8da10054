"""Gradient checking: numerical derivatives to test a hand-written backward pass.

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

The central difference has error O(eps^2) (a one-sided difference only O(eps)). Compare it with
the analytic gradient through the relative error |a - n| / max(|a|, |n|); in float64 with
eps = 1e-6 a correct backward pass typically agrees to 1e-7 or better. Use float64: in float32
the steps and the round-off of f swamp the difference.
"""

import numpy as np

from .._args import as_float_array, fail

__all__ = ["numerical_gradient"]


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function f at x.

    grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (x_i + eps - (x_i - eps)), one entry at a
    time. The denominator is the step as it was actually taken in x's dtype (nominally 2 eps).

    x is perturbed in place, one entry at a time, and every entry is put back exactly (also when
    f raises), so f may read x through its argument or through a closure (as in
    `numerical_gradient(lambda _: loss(params), params["W"])`). Input that is not a writable
    floating array (a list, integers, a read-only view) is copied to a float array first.

    f: callable taking an array shaped like x and returning a scalar
    x: array of any shape; eps: step (> 0)
    Returns grad: shaped like x, of x's floating dtype (float64 for integers).
    """
    fn = "numerical_gradient"
    if not callable(f):
        fail(fn, f"f must be callable, got {type(f).__name__}")
    if not eps > 0:
        fail(fn, f"eps must be positive, got {eps!r}")
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating) and x.flags.writeable:
        a = x
    else:
        a = np.array(as_float_array(x, "x", fn), copy=True)
    grad = np.zeros(a.shape, dtype=a.dtype)
    for i in np.ndindex(a.shape):
        old = a[i]
        try:
            a[i] = old + eps
            hi, fp = a[i], _scalar(f(a), fn)
            a[i] = old - eps
            lo, fm = a[i], _scalar(f(a), fn)
        finally:
            a[i] = old
        if hi == lo:
            fail(fn, f"eps={eps!r} is below the resolution of {a.dtype} at x{list(i)} = {old!r}")
        grad[i] = (fp - fm) / (float(hi) - float(lo))
    return grad


def _scalar(v, fn):
    v = np.asarray(v)
    if v.size != 1:
        fail(fn, f"f must return a scalar, got an array of shape {tuple(v.shape)}")
    return float(v.reshape(()))
