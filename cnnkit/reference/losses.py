"""Loss functions and their gradients.

    squared error   J = 1/2 * sum (h - y)^2                       dJ/dh = h - y
    cross-entropy   J = 1/N * sum_n -log softmax(z_n)[y_n]        dJ/dz = (softmax(z) - onehot(y)) / N

The squared error is summed (the course's worked example, with sigmoid outputs h); the
cross-entropy of a batch of logits z with integer labels y is averaged over the batch, as
`torch.nn.functional.cross_entropy` does by default.
"""

import numpy as np

from .._args import as_float_array, check_ndim, fail, float_dtype

__all__ = ["squared_error", "squared_error_backward", "cross_entropy", "cross_entropy_backward"]


def _same_shape(h, y, fn):
    h = as_float_array(h, "h", fn)
    y = as_float_array(y, "y", fn)
    if h.shape != y.shape:
        fail(fn, f"h and y must have the same shape, got h {tuple(h.shape)} and y {tuple(y.shape)}")
    dt = float_dtype(h, y)
    return h.astype(dt, copy=False), y.astype(dt, copy=False)


def squared_error(h, y):
    """Sum of squared errors, J = 0.5 * sum((h - y)**2).

    h: predictions, any shape; y: targets, the same shape.
    Returns J: a scalar of the inputs' floating dtype.
    """
    h, y = _same_shape(h, y, "squared_error")
    r = h - y
    return h.dtype.type(0.5) * np.sum(r * r)


def squared_error_backward(h, y):
    """Gradient of the squared error w.r.t. h: dJ/dh = h - y.

    h, y: the same shape. Returns dh: that shape.
    """
    h, y = _same_shape(h, y, "squared_error_backward")
    return h - y


def _logits_labels(logits, labels, fn):
    z = as_float_array(logits, "logits", fn)
    check_ndim(z, 2, "logits", "(N, K)", fn)
    t = np.asarray(labels)
    if t.dtype == bool or not np.issubdtype(t.dtype, np.integer):
        fail(fn, f"labels must be integer class indices, got dtype {t.dtype}")
    n, k = z.shape
    if t.shape != (n,):
        fail(fn, f"labels must have shape (N,) = ({n},) to match logits {tuple(z.shape)}, "
                 f"got shape {tuple(t.shape)}")
    if n and (t.min() < 0 or t.max() >= k):
        fail(fn, f"labels must lie in [0, K) = [0, {k}) for logits {tuple(z.shape)}, "
                 f"got values from {t.min()} to {t.max()}")
    return z, t.astype(np.intp)


def _log_softmax(z):
    # log softmax(z)_i = z_i - logsumexp(z), with logsumexp(z) = m + log sum exp(z - m), m = max z.
    m = np.max(z, axis=1, keepdims=True)
    return z - (m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)))


def cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels.

    J = 1/N * sum_n ( logsumexp(z_n) - z_n[y_n] ), computed with the log-sum-exp trick so large
    logits neither overflow nor lose the small probabilities.

    logits: (N, K) unnormalised scores; labels: (N,) integers in [0, K).
    Returns J: a scalar of the logits' floating dtype (NaN for an empty batch, as in PyTorch).
    """
    z, t = _logits_labels(logits, labels, "cross_entropy")
    n = z.shape[0]
    if n == 0:
        return z.dtype.type(np.nan)
    logp = _log_softmax(z)
    return -np.sum(logp[np.arange(n), t]) / z.dtype.type(n)


def cross_entropy_backward(logits, labels):
    """Gradient of the mean cross-entropy w.r.t. the logits: (softmax(z) - onehot(y)) / N.

    logits: (N, K); labels: (N,) integers in [0, K).
    Returns dlogits: (N, K).
    """
    z, t = _logits_labels(logits, labels, "cross_entropy_backward")
    n = z.shape[0]
    p = np.exp(_log_softmax(z))
    p[np.arange(n), t] -= 1
    return p / z.dtype.type(max(n, 1))
