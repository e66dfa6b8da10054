"""Assignment 04 (backpropagation) in the one checks suite: implementations written with loops and with
PyTorch's autograd, deliberately wrong ones with the mistake each must be named as, and hostile outputs
for the functions that return a tuple of gradients or the pair (J, grads). tests/test_checks_a04.py tests
what only 04 has (the references against autograd, random geometry, the network judge's diagnoses)."""

import math

import numpy as np
import torch
import torch.nn.functional as F

from cnnkit import reference as R
from judging import Liar, LyingArray, object_array

ASSIGNMENT = "04"


def pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def as_tensor(a, grad=False):
    t = torch.from_numpy(np.ascontiguousarray(a)).clone()
    return t.requires_grad_(grad) if grad else t


def pool_geometry(x, kernel_size, stride):
    kh, kw = pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else pair(stride)
    H, W = x.shape[2:]
    return kh, kw, sh, sw, (H - kh) // sh + 1, (W - kw) // sw + 1


# ----------------------------------------------------------------------------- correct, written with loops

def sigmoid_loops(z):
    out = np.empty_like(z)
    for i in np.ndindex(z.shape):
        v = float(z[i])
        out[i] = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    return out


def sigmoid_backward_loops(dout, z):
    dz = np.empty_like(z)
    for i in np.ndindex(z.shape):
        s = 1 / (1 + math.exp(-float(z[i]))) if z[i] >= 0 else math.exp(float(z[i])) / (1 + math.exp(float(z[i])))
        dz[i] = dout[i] * s * (1 - s)
    return dz


def linear_backward_loops(dout, x, w):
    N, n_in = x.shape
    n_out = w.shape[0]
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros(n_out, dtype=x.dtype)
    for n in range(N):
        for o in range(n_out):
            db[o] += dout[n, o]
            for i in range(n_in):
                dw[o, i] += dout[n, o] * x[n, i]
                dx[n, i] += dout[n, o] * w[o, i]
    return dx, dw, db


def avg_pool_backward_loops(dout, x, kernel_size, stride=None):
    kh, kw, sh, sw, Ho, Wo = pool_geometry(x, kernel_size, stride)
    dx = np.zeros_like(x)
    N, C = x.shape[:2]
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    for a in range(kh):
                        for b in range(kw):
                            dx[n, c, i * sh + a, j * sw + b] += dout[n, c, i, j] / (kh * kw)
    return dx


def max_pool_backward_loops(dout, x, kernel_size, stride=None):
    kh, kw, sh, sw, Ho, Wo = pool_geometry(x, kernel_size, stride)
    dx = np.zeros_like(x)
    N, C = x.shape[:2]
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, at = -np.inf, None
                    for a in range(kh):
                        for b in range(kw):
                            if x[n, c, i * sh + a, j * sw + b] > best:   # strictly: the first maximum wins
                                best, at = x[n, c, i * sh + a, j * sw + b], (i * sh + a, j * sw + b)
                    dx[n, c, at[0], at[1]] += dout[n, c, i, j]
    return dx


def conv2d_backward_loops(dout, x, w, stride=1, padding=0):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = np.zeros(w.shape[0], dtype=x.dtype)
    N, Co, Ho, Wo = dout.shape
    kh, kw = w.shape[2:]
    for n in range(N):
        for o in range(Co):
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, o, i, j]
                    block = xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    dw[o] += g * block
                    dxp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += g * w[o]
                    db[o] += g
    return dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]], dw, db


def _conv_forward_loops(x, w, b):
    N, C, H, W = x.shape
    D, _, k, _ = w.shape
    y = np.zeros((N, D, H - k + 1, W - k + 1))
    for n in range(N):
        for d in range(D):
            for i in range(H - k + 1):
                for j in range(W - k + 1):
                    y[n, d, i, j] = np.sum(x[n, :, i:i + k, j:j + k] * w[d]) + b[d]
    return y


def network_numpy(params, x, y, bug=None):
    """The lectures' network written image by image; `bug` makes one of the typical mistakes on purpose."""
    W_conv, b_conv, W1, b1, W2, b2 = (params[k] for k in ("W_conv", "b_conv", "W1", "b1", "W2", "b2"))
    N = x.shape[0]
    sig = lambda z: 1 / (1 + np.exp(-z))
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    J = 0.0
    for n in range(N):
        z_c = _conv_forward_loops(x[n:n + 1], W_conv, b_conv)[0]          # (D, Hc, Wc)
        a_c = sig(z_c)
        D, Hc, Wc = a_c.shape
        Hp, Wp = Hc // 2, Wc // 2
        p = a_c[:, :2 * Hp, :2 * Wp].reshape(D, Hp, 2, Wp, 2).mean(axis=(2, 4))
        f = p.ravel()
        a1 = sig(W1 @ f + b1)
        h = sig(W2 @ a1 + b2)
        J += 0.5 * np.sum((h - y[n]) ** 2)
        d2 = (h - y[n]) * (1 if bug == "no_output_derivative" else h * (1 - h))
        d1 = (W2.T @ d2) * (1 if bug == "no_hidden_derivative" else a1 * (1 - a1))
        dp = (W1.T @ d1).reshape(D, Hp, Wp)
        da = np.zeros_like(a_c)
        share = 1.0 if bug == "pool_not_divided" else 0.25
        da[:, :2 * Hp, :2 * Wp] = np.repeat(np.repeat(dp, 2, axis=1), 2, axis=2) * share
        dz = da * (1 if bug == "no_conv_derivative" else a_c * (1 - a_c))
        grads["W2"] += np.outer(d2, a1)
        grads["b2"] += d2
        grads["W1"] += np.outer(d1, f)
        grads["b1"] += d1
        k = W_conv.shape[2]
        dWc = np.zeros_like(W_conv)
        for i in range(Hc):
            for j in range(Wc):
                if bug == "conv_dw_overwritten":     # = instead of +=: the last position only
                    dWc = np.einsum("d,cab->dcab", dz[:, i, j], x[n, :, i:i + k, j:j + k])
                else:
                    dWc += np.einsum("d,cab->dcab", dz[:, i, j], x[n, :, i:i + k, j:j + k])
        if bug == "conv_dw_last_image":
            grads["W_conv"] = dWc
            grads["b_conv"] = dz.sum(axis=(1, 2))
        else:
            grads["W_conv"] += dWc
            grads["b_conv"] += dz[:, -1, -1] if bug == "conv_dw_overwritten" else dz.sum(axis=(1, 2))
    if bug == "W1_transposed":
        grads["W1"] = grads["W1"].T.copy()
    if bug == "W_conv_transposed":
        grads["W_conv"] = grads["W_conv"].transpose(1, 0, 2, 3).copy()
    if bug == "batch_mean":
        J, grads = J / N, {k: v / N for k, v in grads.items()}
    return J, grads


def network_loops(params, x, y):
    return network_numpy(params, x, y)


def numerical_gradient_copy(f, x, eps=1e-6):
    """Central differences on a flat copy: x itself is never touched."""
    flat = x.astype(np.float64).ravel()
    grad = np.empty_like(flat)
    for i in range(flat.size):
        step = np.zeros_like(flat)
        step[i] = eps
        grad[i] = (f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / (2 * eps)
    return grad.reshape(x.shape)


def numerical_gradient_in_place(f, x, eps=1e-6):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad


LOOPS = {
    "sigmoid": sigmoid_loops,
    "sigmoid_backward": sigmoid_backward_loops,
    "linear_backward": linear_backward_loops,
    "avg_pool2d_backward": avg_pool_backward_loops,
    "max_pool2d_backward": max_pool_backward_loops,
    "conv2d_backward": conv2d_backward_loops,
    "sigmoid_cnn_gradients": network_loops,
    "numerical_gradient": numerical_gradient_in_place,
}


# ----------------------------------------------------------------------------- correct, by PyTorch's autograd

def torch_sigmoid(z):
    return torch.sigmoid(as_tensor(z)).numpy()


def torch_sigmoid_backward(dout, z):
    zt = as_tensor(z, grad=True)
    torch.sigmoid(zt).backward(as_tensor(dout))
    return zt.grad.numpy()


def torch_linear_backward(dout, x, w):
    xt, wt = as_tensor(x, True), as_tensor(w, True)
    bt = torch.zeros(w.shape[0], dtype=wt.dtype, requires_grad=True)
    F.linear(xt, wt, bt).backward(as_tensor(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def torch_pool_backward(pool):
    def fn(dout, x, kernel_size, stride=None):
        xt = as_tensor(x, True)
        pool(xt, kernel_size, stride).backward(as_tensor(dout))
        return xt.grad.numpy()
    return fn


def torch_conv2d_backward(dout, x, w, stride=1, padding=0):
    xt, wt = as_tensor(x, True), as_tensor(w, True)
    bt = torch.zeros(w.shape[0], dtype=wt.dtype, requires_grad=True)
    F.conv2d(xt, wt, bt, stride=stride, padding=padding).backward(as_tensor(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def torch_network(params, x, y):
    t = {k: as_tensor(np.asarray(v), True) for k, v in params.items()}
    h = torch.sigmoid(F.linear(torch.sigmoid(F.linear(
        F.avg_pool2d(torch.sigmoid(F.conv2d(as_tensor(x), t["W_conv"], t["b_conv"])), 2).flatten(1), t["W1"], t["b1"])),
        t["W2"], t["b2"]))
    J = 0.5 * ((h - as_tensor(y)) ** 2).sum()
    J.backward()
    return J.item(), {k: v.grad.numpy() for k, v in t.items()}


TORCH = {
    "sigmoid": torch_sigmoid,
    "sigmoid_backward": torch_sigmoid_backward,
    "linear_backward": torch_linear_backward,
    "avg_pool2d_backward": torch_pool_backward(F.avg_pool2d),
    "max_pool2d_backward": torch_pool_backward(F.max_pool2d),
    "conv2d_backward": torch_conv2d_backward,
    "sigmoid_cnn_gradients": torch_network,
    "numerical_gradient": numerical_gradient_copy,
}


# ----------------------------------------------------------------------------- wrong, each naming its mistake

def _naive_sigmoid(z):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(z) / (1 + np.exp(z))


def _sig(z):
    return R.sigmoid(z)


def _lin(transform):
    def fn(dout, x, w):
        return transform(dout, x, w, *R.linear_backward(dout, x, w))
    return fn


def _pool_windows(mode, accumulate=True):
    """A max / average pooling backward pass, window by window, with one deliberate mistake."""
    def fn(dout, x, kernel_size, stride=None):
        kh, kw, sh, sw, Ho, Wo = pool_geometry(x, kernel_size, stride)
        dx = np.zeros_like(x)
        for i in range(Ho):
            for j in range(Wo):
                win = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                g = dout[:, :, i, j][:, :, None, None]
                if mode == "ties_all":
                    part = (win == win.max(axis=(2, 3), keepdims=True)) * g
                elif mode == "ties_split":
                    m = win == win.max(axis=(2, 3), keepdims=True)
                    part = m * g / m.sum(axis=(2, 3), keepdims=True)
                elif mode == "ties_last":
                    flat = win.reshape(win.shape[:2] + (-1,))
                    a = flat.shape[-1] - 1 - np.argmax(flat[..., ::-1], axis=-1)
                    part = (np.eye(kh * kw)[a] * g[..., 0]).reshape(win.shape)
                elif mode == "spread":
                    part = np.ones_like(win) * g
                elif mode == "first":
                    flat = win.reshape(win.shape[:2] + (-1,))
                    part = (np.eye(kh * kw)[np.argmax(flat, axis=-1)] * g[..., 0]).reshape(win.shape)
                else:   # "mean"
                    part = np.ones_like(win) * g / (kh * kw)
                if accumulate:
                    dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += part
                else:
                    dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] = part
        return dx
    return fn


def _avg_by_repeat(dout, x, kernel_size, stride=None):
    kh, kw = pair(kernel_size)
    return np.repeat(np.repeat(dout, kh, axis=2), kw, axis=3) / (kh * kw)


def _conv(transform):
    def fn(dout, x, w, stride=1, padding=0):
        return transform(dout, x, w, stride, padding, *R.conv2d_backward(dout, x, w, stride, padding))
    return fn


def _conv_dw_overwritten(dout, x, w, stride=1, padding=0):
    """Loops over positions that assign dw instead of adding to it: only the last position is left."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx, _, db = R.conv2d_backward(dout, x, w, stride, padding)
    kh, kw = w.shape[2:]
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dw = np.einsum("no,ncab->ocab", dout[:, :, i, j], xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw])
    return dx, dw.astype(x.dtype), db


def _conv_last_image(dout, x, w, stride=1, padding=0):
    dx, _, _ = R.conv2d_backward(dout, x, w, stride, padding)
    for n in range(x.shape[0]):
        _, dw, db = R.conv2d_backward(dout[n:n + 1], x[n:n + 1], w, stride, padding)
    return dx, dw, db


def _conv_unflipped(dout, x, w, stride=1, padding=0):
    dx, dw, db = R.conv2d_backward(dout, x, w[:, :, ::-1, ::-1], stride, padding)
    return dx, R.conv2d_backward(dout, x, w, stride, padding)[1], db


def _conv_padded_dx(dout, x, w, stride=1, padding=0):
    ph, pw = pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return (R.conv2d_backward(dout, xp, w, stride)[0],) + R.conv2d_backward(dout, x, w, stride, padding)[1:]


def _net(bug):
    return lambda params, x, y: network_numpy(params, x, y, bug=bug)


def _one_sided(f, x, eps=1e-6):
    x = x.copy()
    g = np.zeros(x.shape)
    base = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        g[i] = (f(x) - base) / eps
        x[i] = old
    return g


def _not_restored(f, x, eps=1e-6):
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        g[i] = (fp - f(x)) / (2 * eps)       # and x[i] is never put back
    return g


def _not_restored_copy(f, x, eps=1e-6):
    x = x.astype(float)        # the caller's x is safe, but the copy drifts
    return _not_restored(f, x, eps)


def _over_eps(f, x, eps=1e-6):
    return 2 * numerical_gradient_copy(f, x, eps)


WRONG = [
    ("sigmoid", lambda z: 1 / (1 + np.exp(z)), "sigmoid_sign", "flipped"),
    ("sigmoid", np.tanh, "wrong_function", "tanh"),
    ("sigmoid", lambda z: np.exp(z), "wrong_function", "without the 1 / (1 + ...)"),
    ("sigmoid", _naive_sigmoid, "sigmoid_overflow", "NaN"),
    ("sigmoid_backward", lambda dout, z: dout, "missing_sigmoid_derivative", "derivative is missing"),
    ("sigmoid_backward", lambda dout, z: dout * z * (1 - z), "derivative_of_z", "sigmoid's OUTPUT"),
    ("sigmoid_backward", lambda dout, z: _sig(z) * (1 - _sig(z)), "dout_missing", "chain rule"),
    ("sigmoid_backward", lambda dout, z: dout * _sig(z), "derivative_incomplete", "(1 - sigmoid(z))"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, x.T @ dout, db)), "weight_transposed",
     "dw is transposed"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw / len(x), db)), "not_summed_batch", "mean"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, np.outer(dout[-1], x[-1]), db)), "not_summed_batch",
     "last item"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw, dout)), "not_summed_batch", "db is dout"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw, dout.sum(axis=1))), "wrong_axis", "axis=0"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx.T, dw, db)), "dx_transposed", "shape of x"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dout @ w.T if w.shape[0] == w.shape[1] else dx * 2, dw,
                                                             db)), "weight_transposed", "used w.T"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dw, dx, db)), "wrong_order", "order of the inputs"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw)), "not_a_tuple", "length 2"),
    ("avg_pool2d_backward", lambda *a: R.avg_pool2d_backward(*a) * np.prod(pair(a[2])), "avg_not_divided",
     "pool area"),
    ("avg_pool2d_backward", _pool_windows("mean", accumulate=False), "overlap_not_summed", "+="),
    ("avg_pool2d_backward", _avg_by_repeat, "wrong_size", "no window reaches"),
    ("avg_pool2d_backward", lambda *a: R.max_pool2d_backward(*a), "wrong_pool", "max pooling's gradient"),
    ("max_pool2d_backward", _pool_windows("ties_all"), "max_ties_all", "every element equal"),
    ("max_pool2d_backward", _pool_windows("ties_split"), "max_ties_split", "split"),
    ("max_pool2d_backward", _pool_windows("ties_last"), "max_ties_last", "last one"),
    ("max_pool2d_backward", _pool_windows("spread"), "max_not_routed", "every pixel of the window"),
    ("max_pool2d_backward", _pool_windows("mean"), "max_not_routed", "average pooling's gradient"),
    ("max_pool2d_backward", _pool_windows("first", accumulate=False), "overlap_not_summed", "overwrote"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw.transpose(1, 0, 2, 3), db)),
     "weight_transposed", "first two axes swapped"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw[:, :, ::-1, ::-1].copy(), db)),
     "conv_weight_flipped", "rotated by 180"),
    ("conv2d_backward", _conv_dw_overwritten, "not_summed_positions", "last output position"),
    ("conv2d_backward", _conv_last_image, "not_summed_batch", "last image"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw / len(x), db)), "not_summed_batch",
     "mean over the batch"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw, dout.sum(axis=0))),
     "not_summed_positions", "summed over the batch only"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw, dout.sum(axis=(2, 3)))),
     "not_summed_batch", "positions only"),
    ("conv2d_backward", _conv_unflipped, "dx_kernel_not_flipped", "rotated by 180"),
    ("conv2d_backward", _conv_padded_dx, "padding_not_removed", "crop"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw, db)[::-1]), "wrong_order",
     "order of the inputs"),
    ("sigmoid_cnn_gradients", _net("no_output_derivative"), "missing_sigmoid_derivative", "output layer"),
    ("sigmoid_cnn_gradients", _net("no_hidden_derivative"), "missing_sigmoid_derivative", "hidden layer"),
    ("sigmoid_cnn_gradients", _net("no_conv_derivative"), "missing_sigmoid_derivative", "convolution layer"),
    ("sigmoid_cnn_gradients", _net("pool_not_divided"), "avg_not_divided", "delta / 4"),
    ("sigmoid_cnn_gradients", _net("W1_transposed"), "weight_transposed", "dW1 is transposed"),
    ("sigmoid_cnn_gradients", _net("W_conv_transposed"), "weight_transposed", "dW_conv has its first two axes"),
    ("sigmoid_cnn_gradients", _net("conv_dw_overwritten"), "not_summed_positions", "last position"),
    ("sigmoid_cnn_gradients", _net("conv_dw_last_image"), "not_summed_batch", "last image"),
    ("sigmoid_cnn_gradients", _net("batch_mean"), "not_summed_batch", "means over the batch"),
    ("sigmoid_cnn_gradients", lambda p, x, y: network_numpy(p, x, y)[1], "not_a_pair", "got only a dict"),
    ("sigmoid_cnn_gradients", lambda p, x, y: (network_numpy(p, x, y)[0], list(network_numpy(p, x, y)[1].values())),
     "not_a_dict", "must be a dict"),
    ("sigmoid_cnn_gradients", lambda p, x, y: (network_numpy(p, x, y)[0],
                                               {k: v for k, v in network_numpy(p, x, y)[1].items() if k != "b1"}),
     "not_a_dict", "no 'b1'"),
    ("numerical_gradient", _one_sided, "one_sided", "one-sided"),
    ("numerical_gradient", _not_restored, "x_not_restored", "put every entry back"),
    ("numerical_gradient", _not_restored_copy, "x_not_restored", "left at x_i - eps"),
    ("numerical_gradient", _over_eps, "divided_by_eps", "2 eps apart"),
]


# ----------------------------------------------------------------------------- hostile tuples and pairs

HOSTILE_TUPLE = {
    "liar": lambda r: Liar(),
    "none": lambda r: None,
    "liars": lambda r: (Liar(), Liar(), Liar()),
    "none_parts": lambda r: (r[0], None, r[2]),
    "string_part": lambda r: (r[0], "dw", r[2]),
    "complex_part": lambda r: (r[0], r[1].astype(complex), r[2]),
    "lying_part": lambda r: (r[0], np.zeros(r[1].shape).view(LyingArray), r[2]),
    "object_part": lambda r: (r[0], object_array(r[1].shape, Liar), r[2]),
    "huge_part": lambda r: (np.broadcast_to(np.float64(1), (10 ** 6, 10 ** 6)), r[1], r[2]),
    "nan_part": lambda r: (r[0], np.full(r[1].shape, np.nan), r[2]),
    "dict": lambda r: {"dx": r[0], "dw": r[1], "db": r[2]},
    "generator": lambda r: (v for v in r),
    "stacked": lambda r: np.concatenate([a.ravel() for a in r]),
}


HOSTILE_NET = {
    "liar": lambda J, g: Liar(),
    "none": lambda J, g: None,
    "pair_of_liars": lambda J, g: (Liar(), Liar()),
    "liar_J": lambda J, g: (Liar(), g),
    "none_J": lambda J, g: (None, g),
    "string_J": lambda J, g: ("0.2", g),
    "complex_J": lambda J, g: (complex(J), g),
    "array_J": lambda J, g: (np.full(3, J), g),
    "nan_J": lambda J, g: (np.nan, g),
    "liar_grad": lambda J, g: (J, dict(g, W1=Liar())),
    "lying_grad": lambda J, g: (J, dict(g, W1=np.zeros(g["W1"].shape).view(LyingArray))),
    "object_grad": lambda J, g: (J, dict(g, W2=object_array(g["W2"].shape, Liar))),
    "huge_grad": lambda J, g: (J, dict(g, b1=np.broadcast_to(np.float64(1), (10 ** 6, 10 ** 6)))),
    "string_grad": lambda J, g: (J, dict(g, b2="0 0")),
    "three": lambda J, g: (J, g, g),
    "dict_subclass": lambda J, g: (J, type("D", (dict,), {})(g)),
}


def _from_expected(make):
    """A hostile output of the network from checks.expected's (J, grads), whose grads come as a 0-d object array."""
    return lambda ref: make(ref[0][()], ref[1][()])


# the tuple and pair judges meet these instead of judging.HOSTILE
HOSTILE = {"linear_backward": HOSTILE_TUPLE, "conv2d_backward": HOSTILE_TUPLE,
           "sigmoid_cnn_gradients": {kind: _from_expected(make) for kind, make in HOSTILE_NET.items()}}

CORRECT = {name: [LOOPS[name], TORCH[name]] for name in LOOPS}
FLOAT64_FOR_FLOAT32 = ("sigmoid", "sigmoid_backward", "linear_backward", "avg_pool2d_backward", "max_pool2d_backward",
                       "conv2d_backward")
