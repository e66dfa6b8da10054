"""Assignment 01 in the one checks suite: correct implementations written differently (loops, and
scipy / PyTorch), and wrong ones, each with the mistake the checks must name."""

import numpy as np
import scipy.signal
import torch
import torch.nn.functional as F

from cnnkit import reference as R

ASSIGNMENT = "01"


# ----------------------------------------------------------------------------- correct, written differently

def convolve1d_loops(x, k):
    n, m = len(x), len(k)
    y = np.zeros(n + m - 1, dtype=np.result_type(x, k))
    for i in range(n):
        for j in range(m):
            y[i + j] += x[i] * k[j]
    return y


def correlate1d_loops(x, k):
    n, m = len(x), len(k)
    y = np.zeros(n - m + 1, dtype=np.result_type(x, k))
    for i in range(n - m + 1):
        y[i] = np.dot(x[i:i + m], k)
    return y


def correlate2d_loops(x, k):
    (H, W), (kh, kw) = x.shape, k.shape
    y = np.zeros((H - kh + 1, W - kw + 1), dtype=np.result_type(x, k))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = np.sum(x[i:i + kh, j:j + kw] * k)
    return y


def convolve2d_loops(x, k):
    return correlate2d_loops(x, k[::-1, ::-1])


def conv2d_loops(x, w, b=None):
    N, C, H, W = x.shape
    Co, _, kh, kw = w.shape
    y = np.zeros((N, Co, H - kh + 1, W - kw + 1), dtype=x.dtype)
    for n in range(N):
        for o in range(Co):
            for c in range(C):
                y[n, o] += correlate2d_loops(x[n, c], w[o, c])
            if b is not None:
                y[n, o] += b[o]
    return y


def _keep(dtype, y):
    return np.asarray(y).astype(dtype, copy=False)


SCIPY = {
    "convolve1d": lambda x, k: _keep(x.dtype, scipy.signal.convolve(x, k, mode="full", method="direct")),
    "correlate1d": lambda x, k: _keep(x.dtype, scipy.signal.correlate(x, k, mode="valid", method="direct")),
    "correlate2d": lambda x, k: _keep(x.dtype, scipy.signal.correlate2d(x, k, mode="valid")),
    "convolve2d": lambda x, k: _keep(x.dtype, scipy.signal.convolve2d(x, k, mode="valid")),
    "conv2d": lambda x, w, b=None: F.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                            None if b is None else torch.from_numpy(b)).numpy(),
}
LOOPS = {"convolve1d": convolve1d_loops, "correlate1d": correlate1d_loops, "correlate2d": correlate2d_loops,
         "convolve2d": convolve2d_loops, "conv2d": conv2d_loops}

CORRECT = {name: [LOOPS[name], SCIPY[name]] for name in LOOPS}


# ----------------------------------------------------------------------------- wrong, each with its mistake

def conv2d_last_channel_only(x, w, b=None):
    N, C, H, W = x.shape
    Co, _, kh, kw = w.shape
    y = np.zeros((N, Co, H - kh + 1, W - kw + 1), dtype=x.dtype)
    for n in range(N):
        for o in range(Co):
            for c in range(C):
                y[n, o] = correlate2d_loops(x[n, c], w[o, c])  # = instead of +=
            if b is not None:
                y[n, o] += b[o]
    return y


def conv2d_per_channel(x, w, b=None):
    # (N, C_out, C_in, H_out, W_out): every (output, input) pair kept apart
    return np.stack([R.conv2d(x[:, c:c + 1], w[:, c:c + 1]) for c in range(x.shape[1])], axis=2)


def correlate1d_one_short(x, k):
    return correlate1d_loops(x, k)[:-1]


def modifies_x(x, k, *rest):
    y = R.conv2d(x, k, *rest) if x.ndim == 4 else getattr(R, "correlate2d")(x, k)
    x += 1  # writes into the caller's array
    return y


WRONG = [
    ("convolve1d", lambda x, k: np.convolve(x, k[::-1]), "flipped_kernel", "not flipped"),
    ("correlate1d", lambda x, k: np.convolve(x, k, "valid"), "flipped_kernel", "flipped"),
    ("correlate2d", lambda x, k: scipy.signal.convolve2d(x, k, "valid"), "flipped_kernel", "flipped"),
    ("convolve2d", lambda x, k: scipy.signal.correlate2d(x, k, "valid"), "flipped_kernel", "not flipped"),
    ("convolve2d", lambda x, k: scipy.signal.correlate2d(x, k[::-1], "valid"), "flipped_kernel", "upside down only"),
    ("correlate2d", lambda x, k: scipy.signal.correlate2d(x, k[:, ::-1], "valid"), "flipped_kernel", "left-right"),
    ("conv2d", lambda x, w, b=None: R.conv2d(x, w[:, :, ::-1, ::-1], b), "flipped_kernel", "cross-correlation"),
    ("correlate2d", lambda x, k: scipy.signal.correlate2d(x, k, "full"), "wrong_size", "'full'"),
    ("correlate2d", lambda x, k: scipy.signal.correlate2d(x, k, "same"), "wrong_size", "'same'"),
    ("convolve1d", lambda x, k: np.convolve(x, k, "valid"), "wrong_size", "'valid'"),
    ("correlate1d", correlate1d_one_short, "wrong_size", "one too short"),
    ("conv2d", lambda x, w, b=None: R.conv2d(x, w, b, padding="same"), "wrong_size", "'same'"),
    ("conv2d", conv2d_last_channel_only, "channels_not_summed", "last input channel"),
    ("conv2d", conv2d_per_channel, "channels_not_summed", "(output, input) channel pair"),
    ("conv2d", lambda x, w, b=None: R.conv2d(x[:, :1], w[:, :1], b), "channels_not_summed", "first input channel"),
    ("conv2d", lambda x, w, b=None: R.conv2d(x, w), "bias_missing", "bias"),
    ("conv2d", lambda x, w, b=None: R.conv2d(x, w) + (0 if b is None else b), "bias_wrong_axis", "last (width)"),
    ("conv2d", lambda x, w, b=None: R.conv2d(x, w) + (0 if b is None else b[:, None]), "bias_wrong_axis", "height"),
    ("correlate2d", lambda x, k: scipy.signal.correlate2d(x, k, "valid").T, "wrong_shape", "transposed"),
    ("conv2d", lambda x, w, b=None: R.conv2d(x, w, b).transpose(0, 2, 3, 1), "wrong_shape", "axes"),
    ("correlate2d", modifies_x, "input_modified", "in place"),
    ("conv2d", modifies_x, "input_modified", "in place"),
]

FLOAT64_FOR_FLOAT32 = tuple(LOOPS)
