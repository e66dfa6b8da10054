"""What the cases hand to a student's function besides arrays: parameter dicts it may not change and
the functions whose gradients `numerical_gradient` estimates (assignment 04).

This module holds inputs only, no answers: while a notebook is graded it is the one part of
`cnnkit.checks` the student's process can import (the cases are unpickled there), so nothing here
may compute what a graded function is asked for.
"""

import numpy as np

_F64 = np.float64


class Params(dict):
    """The parameters of a case: a dict (and arrays) that the function under test cannot change.

    The reference answer is computed from the same dict after the call, so writing gradients into it
    (`grads = params; grads["W1"] = ...`) would corrupt the answer; here it raises instead.
    """

    def _refuse(self, *args, **kwargs):
        raise TypeError("params may not be changed: build a new dict for the gradients (grads = {...}) "
                        "instead of writing into params")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _refuse

    def __reduce__(self):
        return (Params, (dict(self),))


def _sig(z):
    return 0.5 * (1 + np.tanh(0.5 * z))   # the sigmoid, without overflow, in plain NumPy


def sum_of_squares(x):
    """f(x) = sum(x**2); its gradient is 2x."""
    return float(np.sum(np.asarray(x, dtype=_F64) ** 2))


def sum_of_cubes(x):
    """f(x) = sum(x**3); its gradient is 3x**2 (the central difference gives 3x**2 + eps**2)."""
    return float(np.sum(np.asarray(x, dtype=_F64) ** 3))


def log_sum_exp(x):
    """f(x) = log(sum(exp(x))); its gradient is softmax(x) (every entry depends on all the others)."""
    x = np.asarray(x, dtype=_F64).ravel()
    m = x.max()
    return float(m + np.log(np.sum(np.exp(x - m))))


def sine_product(x):
    """f(x) = sin(x_0) * sin(x_1) * ...: every entry of the gradient depends on every other entry."""
    return float(np.prod(np.sin(np.asarray(x, dtype=_F64))))


class Quadratic:
    """f(x) = 1/2 x^T A x + b^T x on the flattened x; its gradient is (A + A^T)/2 x + b."""

    def __init__(self, A, b):
        self.A, self.b = np.asarray(A, dtype=_F64), np.asarray(b, dtype=_F64)

    def __call__(self, x):
        v = np.asarray(x, dtype=_F64).ravel()
        return float(0.5 * v @ self.A @ v + self.b @ v)


class SigmoidNeuron:
    """f(w) = 1/2 sum((sigmoid(X w) - t)**2): the squared error of one sigmoid neuron, as a function of its weights."""

    def __init__(self, X, t):
        self.X, self.t = np.asarray(X, dtype=_F64), np.asarray(t, dtype=_F64)

    def __call__(self, w):
        h = _sig(self.X @ np.asarray(w, dtype=_F64).ravel())
        return float(0.5 * np.sum((h - self.t) ** 2))


class SigmoidLayer:
    """f(W) = 1/2 sum((sigmoid(a W^T) - y)**2): a fully connected sigmoid layer's loss, as a function of W (out, in)."""

    def __init__(self, a, y):
        self.a, self.y = np.asarray(a, dtype=_F64), np.asarray(y, dtype=_F64)

    def __call__(self, W):
        W = np.asarray(W, dtype=_F64).reshape(self.y.shape[1], self.a.shape[1])
        return float(0.5 * np.sum((_sig(self.a @ W.T) - self.y) ** 2))
