"""The lectures' worked network and its gradients, by hand: every backward step of assignment 04.

conv (stride 1, no padding) -> sigmoid -> 2x2 average pooling -> flatten -> FC 1 -> sigmoid ->
FC 2 -> sigmoid = h, with the squared error J = 0.5 * sum((h - y)**2) summed over the batch.
"""

import numpy as np

from .activations import sigmoid, sigmoid_backward
from .conv import conv2d, conv2d_backward
from .linear import linear, linear_backward
from .pool import avg_pool2d, avg_pool2d_backward

__all__ = ["sigmoid_cnn_gradients", "SIGMOID_CNN_KEYS"]

SIGMOID_CNN_KEYS = ("W_conv", "b_conv", "W1", "b1", "W2", "b2")


def sigmoid_cnn_gradients(params, x, y):
    """(J, grads) of the sigmoid CNN for a batch.

    params: "W_conv" (D, C, k, k), "b_conv" (D,), "W1" (H1, D*Hp*Wp), "b1" (H1,), "W2" (K, H1), "b2" (K,)
    x: (N, C, H, W), y: (N, K). Returns J (a float64 scalar) and grads, a dict with the keys of params
    and their shapes. Computed in float64 whatever the inputs.
    """
    missing = [k for k in SIGMOID_CNN_KEYS if k not in params]
    if missing:
        raise ValueError(f"sigmoid_cnn_gradients: params lacks {missing}; it needs {list(SIGMOID_CNN_KEYS)}")
    Wc, bc, W1, b1, W2, b2 = (np.asarray(params[k], dtype=np.float64) for k in SIGMOID_CNN_KEYS)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    N = x.shape[0]
    # forward, keeping what the backward pass reads
    zc = conv2d(x, Wc, bc)
    p = avg_pool2d(sigmoid(zc), 2)
    f = p.reshape(N, -1)
    z1 = linear(f, W1, b1)
    a1 = sigmoid(z1)
    z2 = linear(a1, W2, b2)
    h = sigmoid(z2)
    if h.shape != y.shape:
        raise ValueError(f"sigmoid_cnn_gradients: y has shape {y.shape}, the network's output {h.shape}")
    J = 0.5 * np.sum((h - y) ** 2)
    # backward: dJ/dh = h - y, then each layer's own backward pass in reverse order
    d2 = sigmoid_backward(h - y, z2)
    da1, dW2, db2 = linear_backward(d2, a1, W2)
    df, dW1, db1 = linear_backward(sigmoid_backward(da1, z1), f, W1)
    dzc = sigmoid_backward(avg_pool2d_backward(df.reshape(p.shape), sigmoid(zc), 2), zc)
    _, dWc, dbc = conv2d_backward(dzc, x, Wc)
    grads = {"W_conv": dWc, "b_conv": dbc, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return np.float64(J), {k: np.ascontiguousarray(v) for k, v in grads.items()}
