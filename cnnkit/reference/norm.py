"""Normalisation layers: batch normalisation and local response normalisation.

Batch normalisation (Ioffe & Szegedy, 2015) standardises every channel over the batch (and the
spatial positions), then rescales it with learned gamma and beta:

    mu_c = mean of x[:, c],  var_c = mean of (x[:, c] - mu_c)^2   (biased)
    y[:, c] = gamma_c * (x[:, c] - mu_c) / sqrt(var_c + eps) + beta_c

In training it uses the statistics of the batch and updates running averages of them; in
evaluation it uses the running averages. Local response normalisation (AlexNet, 2012) divides
each activation by a power of the energy of its neighbouring channels.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._args import as_float_array, fail, float_dtype, is_int

__all__ = ["batch_norm", "batch_norm_backward", "local_response_norm", "local_response_norm_backward"]


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------

def _channels_input(x, fn):
    x = as_float_array(x, "x", fn)
    if x.ndim < 2:
        fail(fn, f"x must have at least 2 dimensions, (N, C), (N, C, L) or (N, C, H, W), "
                 f"got shape {tuple(x.shape)}")
    axes = (0,) + tuple(range(2, x.ndim))            # every axis but the channels
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)   # a per-channel vector, broadcastable to x
    return x, axes, bshape


def _per_channel(v, name, c, x_shape, fn):
    """An optional per-channel vector: None, or an array of shape (C,)."""
    if v is None:
        return None
    v = as_float_array(v, name, fn)
    if v.shape != (c,):
        fail(fn, f"{name} must have shape (C,) = ({c},) for x of shape {tuple(x_shape)}, "
                 f"got shape {tuple(v.shape)}")
    return v


def _running(v, name, c, x_shape, fn):
    """A running statistic that training updates in place: None or a writable float (C,) array."""
    if v is None:
        return None
    if not isinstance(v, np.ndarray) or not np.issubdtype(v.dtype, np.floating) \
            or not v.flags.writeable:
        fail(fn, f"{name} must be a writable floating NumPy array (it is updated in place in "
                 f"training), got {type(v).__name__}"
                 + (f" of dtype {v.dtype}" if isinstance(v, np.ndarray) else ""))
    return _per_channel(v, name, c, x_shape, fn)


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalisation, as torch.nn.functional.batch_norm.

    training: normalise with the batch mean and the BIASED batch variance, and, when given,
    update the running statistics IN PLACE with the UNBIASED variance (M values per channel):
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
    evaluation: normalise with running_mean and running_var (both required).
    y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel; gamma, beta None mean 1 and 0.

    x: (N, C), (N, C, L) or (N, C, H, W) (any (N, C, ...)); gamma, beta, running_mean,
    running_var: (C,) or None
    Returns y: shaped like x.
    """
    fn = "batch_norm"
    x, axes, bshape = _channels_input(x, fn)
    c = x.shape[1]
    gamma = _per_channel(gamma, "gamma", c, x.shape, fn)
    beta = _per_channel(beta, "beta", c, x.shape, fn)
    if training:
        running_mean = _running(running_mean, "running_mean", c, x.shape, fn)
        running_var = _running(running_var, "running_var", c, x.shape, fn)
        m = x.size // c if c else 0
        if m < 2:
            fail(fn, f"expected more than 1 value per channel when training, got x of shape "
                     f"{tuple(x.shape)}")
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)
        if running_mean is not None:
            running_mean[...] = momentum * mean + (1 - momentum) * running_mean
        if running_var is not None:
            running_var[...] = momentum * var * (m / (m - 1)) + (1 - momentum) * running_var
    else:
        if running_mean is None or running_var is None:
            fail(fn, "running_mean and running_var are required in evaluation (training=False)")
        mean = _per_channel(running_mean, "running_mean", c, x.shape, fn)
        var = _per_channel(running_var, "running_var", c, x.shape, fn)
    dt = x.dtype
    inv_std = (1 / np.sqrt(var + eps)).astype(dt, copy=False)
    y = (x - mean.astype(dt, copy=False).reshape(bshape)) * inv_std.reshape(bshape)
    if gamma is not None:
        y *= gamma.astype(dt, copy=False).reshape(bshape)
    if beta is not None:
        y += beta.astype(dt, copy=False).reshape(bshape)
    return y


def batch_norm_backward(dout, x, gamma, eps=1e-5):
    """Backward pass of batch normalisation in training mode (batch statistics).

    With xhat = (x - mu) / sqrt(var + eps) and M values per channel:
        dbeta  = sum dout
        dgamma = sum dout * xhat
        dx     = gamma / sqrt(var + eps) * (dout - dbeta / M - xhat * dgamma / M)
    (sums over every axis but the channels); the last two terms are the paths through mu and var.

    dout: shaped like x; x: (N, C, ...), the forward input; gamma: (C,) or None (ones)
    Returns (dx, dgamma, dbeta): shaped like x, (C,), (C,).
    """
    fn = "batch_norm_backward"
    x, axes, bshape = _channels_input(x, fn)
    dout = as_float_array(dout, "dout", fn)
    if dout.shape != x.shape:
        fail(fn, f"dout must have the shape of x {tuple(x.shape)}, got shape {tuple(dout.shape)}")
    c = x.shape[1]
    gamma = _per_channel(gamma, "gamma", c, x.shape, fn)
    m = x.size // c if c else 0
    if m < 2:
        fail(fn, f"expected more than 1 value per channel, got x of shape {tuple(x.shape)}")
    dt = float_dtype(dout, x, *([gamma] if gamma is not None else []))
    dout, x = dout.astype(dt, copy=False), x.astype(dt, copy=False)
    g = np.ones(c, dt) if gamma is None else gamma.astype(dt, copy=False)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(var + dt.type(eps))
    xhat = (x - mu) * inv_std
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    dx = (g.reshape(bshape) * inv_std) * (
        dout - (dbeta.reshape(bshape) + xhat * dgamma.reshape(bshape)) / dt.type(m))
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Local response normalisation
# ---------------------------------------------------------------------------------------------

def _lrn_input(x, size, fn):
    x = as_float_array(x, "x", fn)
    if x.ndim < 3:
        fail(fn, f"x must have at least 3 dimensions, (N, C, L) or (N, C, H, W), "
                 f"got shape {tuple(x.shape)}")
    if not is_int(size) or size < 1:
        fail(fn, f"size must be a positive int, got {size!r}")
    return x


def _channel_window_sum(v, before, after, size):
    """sum_{j = c - before}^{c + after} v[:, j] for every channel c (zeros outside [0, C))."""
    pad = [(0, 0)] * v.ndim
    pad[1] = (before, after)
    return sliding_window_view(np.pad(v, pad), size, axis=1).sum(axis=-1)


def _lrn_denominator(x, size, alpha, k):
    # PyTorch averages x^2 over `size` channels, size // 2 before and (size - 1) // 2 after
    # (zero padded), so alpha is effectively divided by size.
    return k + alpha / size * _channel_window_sum(x * x, size // 2, (size - 1) // 2, size)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels, as torch.nn.functional.local_response_norm.

    y[:, c] = x[:, c] / (k + alpha/size * sum_{j=c-size//2}^{c+(size-1)//2} x[:, j]^2)^beta,
    channels outside [0, C) counting as zero.

    x: (N, C, L), (N, C, H, W) (any (N, C, ...)); size: channels in the window
    Returns y: shaped like x.
    """
    fn = "local_response_norm"
    x = _lrn_input(x, size, fn)
    d = _lrn_denominator(x, size, alpha, k)
    return x / d ** x.dtype.type(beta)


def local_response_norm_backward(dout, x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Backward pass of local response normalisation.

    With D_c = k + alpha/size * S_c (S_c the window sum of x^2), y_c = x_c D_c^-beta, and channel
    j in the windows of channels c = j - (size-1)//2 ... j + size//2:
        dx_j = dout_j D_j^-beta - 2 beta alpha/size * x_j * sum_{c: j in window(c)} dout_c x_c D_c^(-beta-1)

    dout: shaped like x; x: (N, C, ...), the forward input
    Returns dx: shaped like x.
    """
    fn = "local_response_norm_backward"
    x = _lrn_input(x, size, fn)
    dout = as_float_array(dout, "dout", fn)
    if dout.shape != x.shape:
        fail(fn, f"dout must have the shape of x {tuple(x.shape)}, got shape {tuple(dout.shape)}")
    dt = float_dtype(dout, x)
    dout, x = dout.astype(dt, copy=False), x.astype(dt, copy=False)
    d = _lrn_denominator(x, size, alpha, k)
    b = dt.type(beta)
    g = dout * x * d ** (-b - 1)
    # The reverse window: channel c's window reaches j exactly when j's reversed window reaches c.
    t = _channel_window_sum(g, (size - 1) // 2, size // 2, size)
    return dout * d ** -b - dt.type(2 * beta * alpha / size) * x * t
