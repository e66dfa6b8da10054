"""Assignment 03 (pooling) in the one checks suite: implementations written differently (loops, PyTorch),
deliberately wrong ones with the mistake each must be named as, and hostile pairs for the function that
returns (values, indices). tests/test_checks_a03.py tests what only 03 has (stochastic pooling's sampling
test, the geometry of the cases, the reference against PyTorch)."""

import numpy as np
import torch
import torch.nn.functional as F

from cnnkit import reference as R
from judging import Liar, LyingArray

ASSIGNMENT = "03"


# ----------------------------------------------------------------------------- correct, written differently

def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def geometry(x, kernel_size, stride):
    kh, kw = pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else pair(stride)
    H, W = x.shape[2:]
    return kh, kw, sh, sw, (H - kh) // sh + 1, (W - kw) // sw + 1


# ----------------------------------------------------------------------------- correct, written differently

def max_pool_loops(x, kernel_size, stride=None, with_indices=False):
    kh, kw, sh, sw, Ho, Wo = geometry(x, kernel_size, stride)
    N, C, H, W = x.shape
    y = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    idx = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, where = -np.inf, -1
                    for a in range(kh):
                        for b in range(kw):
                            r, q = i * sh + a, j * sw + b
                            if x[n, c, r, q] > best:   # strictly greater: the first maximum wins ties
                                best, where = x[n, c, r, q], r * W + q
                    y[n, c, i, j], idx[n, c, i, j] = best, where
    return (y, idx) if with_indices else y


def avg_pool_loops(x, kernel_size, stride=None):
    kh, kw, sh, sw, Ho, Wo = geometry(x, kernel_size, stride)
    y = np.zeros(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            y[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].mean(axis=(2, 3))
    return y


def global_avg_loops(x):
    N, C, H, W = x.shape
    y = np.zeros((N, C), dtype=x.dtype)
    for h in range(H):
        for w in range(W):
            y += x[:, :, h, w]
    return y / x.dtype.type(H * W)


def stochastic_loops(x, kernel_size, stride=None, training=True, rng=None):
    rng = np.random.default_rng(rng)
    kh, kw, sh, sw, Ho, Wo = geometry(x, kernel_size, stride)
    N, C = x.shape[:2]
    y = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    w = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw].astype(np.float64).ravel()
                    total = w.sum()
                    if total == 0:
                        continue
                    y[n, c, i, j] = w[rng.choice(w.size, p=w / total)] if training else (w @ w) / total
    return y


def as_tensor(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def stochastic_torch(x, kernel_size, stride=None, training=True, rng=None):
    kh, kw, sh, sw, Ho, Wo = geometry(x, kernel_size, stride)
    N, C = x.shape[:2]
    cols = F.unfold(as_tensor(x), (kh, kw), stride=(sh, sw)).reshape(N, C, kh * kw, Ho * Wo).transpose(2, 3)
    cols = cols.reshape(-1, kh * kw).double()
    total = cols.sum(dim=1)
    y = torch.zeros_like(total)
    some = total > 0
    if training:
        seed = int(np.random.default_rng(rng).integers(2 ** 31))
        pick = torch.multinomial(cols[some], 1, generator=torch.Generator().manual_seed(seed))
        y[some] = cols[some].gather(1, pick)[:, 0]
    else:
        y[some] = (cols[some] ** 2).sum(dim=1) / total[some]
    return y.reshape(N, C, Ho, Wo).numpy().astype(x.dtype)


TORCH = {
    "max_pool2d": lambda x, k, s=None: F.max_pool2d(as_tensor(x), k, s).numpy(),
    "max_pool2d_with_indices": lambda x, k, s=None: tuple(t.numpy() for t in F.max_pool2d(as_tensor(x), k, s,
                                                                                           return_indices=True)),
    "avg_pool2d": lambda x, k, s=None: F.avg_pool2d(as_tensor(x), k, s).numpy(),
    "global_avg_pool2d": lambda x: F.adaptive_avg_pool2d(as_tensor(x), 1)[:, :, 0, 0].numpy(),
    "stochastic_pool2d": stochastic_torch,
}
LOOPS = {
    "max_pool2d": max_pool_loops,
    "max_pool2d_with_indices": lambda x, k, s=None: max_pool_loops(x, k, s, with_indices=True),
    "avg_pool2d": avg_pool_loops,
    "global_avg_pool2d": global_avg_loops,
    "stochastic_pool2d": stochastic_loops,
}


# ----------------------------------------------------------------------------- wrong, each naming its mistake

def _ceil_pool(pool):
    def fn(x, k, s=None):
        return pool(x, k, s, ceil_mode=True)
    return fn


def _crop_top_left(pool):
    def fn(x, k, s=None):
        kh, kw, sh, sw, *_ = geometry(x, k, s)
        rh, rw = (x.shape[2] - kh) % sh, (x.shape[3] - kw) % sw
        return pool(x[:, :, rh:, rw:], k, s)
    return fn


def _swapped(pool):
    def fn(x, k, s=None):
        return pool(x, pair(k)[::-1], None if s is None else pair(s)[::-1])
    return fn


def _truncated_windows(x, k, s=None):
    """Windows at i*s, but H // s of them: the last ones run past the edge and are cut short."""
    kh, kw, sh, sw, *_ = geometry(x, k, s)
    H, W = x.shape[2:]
    y = np.zeros(x.shape[:2] + (H // sh, W // sw), dtype=x.dtype)
    for i in range(H // sh):
        for j in range(W // sw):
            y[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return y


def _indices_with(transform):
    """max_pool2d_with_indices whose indices are transform(x, k, s, window_argmax, rows, cols)."""
    def fn(x, k, s=None):
        kh, kw, sh, sw, Ho, Wo = geometry(x, k, s)
        win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        a = win.reshape(win.shape[:4] + (-1,)).argmax(axis=-1)
        rows = np.arange(Ho)[:, None] * sh + a // kw
        cols = np.arange(Wo)[None, :] * sw + a % kw
        return R.max_pool2d(x, k, s), transform(x, k, s, a, rows, cols)
    return fn


def _last_max(x, k, s=None):
    kh, kw, sh, sw, Ho, Wo = geometry(x, k, s)
    N, C, H, W = x.shape
    y, idx = max_pool_loops(x, k, s, with_indices=True)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    block = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    a = block.size - 1 - int(np.argmax(block.ravel()[::-1]))
                    idx[n, c, i, j] = (i * sh + a // kw) * W + j * sw + a % kw
    return y, idx


def _batch_flat(x, k, s, a, rows, cols):
    N, C, H, W = x.shape
    return (np.arange(N * C).reshape(N, C, 1, 1) * H * W + rows * W + cols).astype(np.int64)


def _modifies_x(pool):
    def fn(x, *args, **kwargs):
        y = pool(x, *args, **kwargs)
        x[...] = 0
        return y
    return fn


WRONG_POOL = [
    ("max_pool2d", lambda x, k, s=None: R.max_pool2d(x, k, k), "overlap", "as if they tiled"),
    ("max_pool2d", lambda x, k, s=None: R.max_pool2d(x, k, 1 if s is None else s), "stride_default", "defaults"),
    ("max_pool2d", _ceil_pool(R.max_pool2d), "ragged_edges", "partial windows"),
    ("max_pool2d", _crop_top_left(R.max_pool2d), "ragged_edges", "top or left"),
    ("max_pool2d", _swapped(R.max_pool2d), "pair_swapped", "(height, width)"),
    ("max_pool2d", _truncated_windows, "overlap", "H // sH windows"),
    ("max_pool2d", lambda x, k, s=None: -R.max_pool2d(-x, k, s), "wrong_reduction", "smallest"),
    ("max_pool2d", lambda x, k, s=None: R.max_pool2d(x, k, s).max(axis=1), "wrong_axes", "channels"),
    ("max_pool2d", lambda x, k, s=None: R.max_pool2d(x, k, s)[:, :, :-1], "wrong_size", "one too short"),
    ("max_pool2d", lambda x, k, s=None: R.max_pool2d(x, k, s).transpose(0, 1, 3, 2), "wrong_shape", "axes"),
    ("max_pool2d", _modifies_x(R.max_pool2d), "input_modified", "in place"),
    ("avg_pool2d", lambda x, k, s=None: R.avg_pool2d(x, k, s) * np.prod(pair(k)), "avg_sum", "sum"),
    ("avg_pool2d", lambda x, k, s=None: R.avg_pool2d(x, k, s) * pair(k)[1], "avg_divisor", "kH*kW"),
    ("avg_pool2d", lambda x, k, s=None: R.avg_pool2d(x, k, s).mean(axis=1, keepdims=True), "wrong_axes", "channels"),
    ("avg_pool2d", lambda x, k, s=None: R.avg_pool2d(x, k, 1 if s is None else s), "stride_default", "defaults"),
    ("avg_pool2d", _ceil_pool(R.avg_pool2d), "ragged_edges", "partial windows"),
    ("avg_pool2d", lambda x, k, s=None: R.avg_pool2d(x, k, k), "overlap", "as if they tiled"),
    ("avg_pool2d", lambda x, k, s=None: R.max_pool2d(x, k, s), "wrong_reduction", "max pooling"),
    ("global_avg_pool2d", lambda x: x.mean(axis=(2, 3), keepdims=True), "global_keepdims", "(N, C, 1, 1)"),
    ("global_avg_pool2d", lambda x: x.mean(axis=(0, 2, 3)), "wrong_axes", "batch"),
    ("global_avg_pool2d", lambda x: x.mean(axis=(1, 2, 3)), "wrong_axes", "channels"),
    ("global_avg_pool2d", lambda x: x.mean(axis=2), "wrong_axes", "rows"),
    ("global_avg_pool2d", lambda x: x.sum(axis=(2, 3)), "avg_sum", "H*W"),
    ("global_avg_pool2d", lambda x: x.max(axis=(2, 3)), "wrong_reduction", "global max"),
    ("max_pool2d_with_indices", _indices_with(lambda x, k, s, a, r, c: a), "indices_origin", "inside each window"),
    ("max_pool2d_with_indices",
     _indices_with(lambda x, k, s, a, r, c: (a // pair(k)[1]) * x.shape[3] + a % pair(k)[1]),
     "indices_origin", "top-left corner"),
    ("max_pool2d_with_indices", _indices_with(_batch_flat), "indices_origin", "whole batch"),
    ("max_pool2d_with_indices", _indices_with(lambda x, k, s, a, r, c: r * c.shape[-1] + c), "indices_width",
     "output's width"),
    ("max_pool2d_with_indices", _indices_with(lambda x, k, s, a, r, c: c * x.shape[2] + r), "indices_order",
     "column-major"),
    ("max_pool2d_with_indices", _indices_with(lambda x, k, s, a, r, c: np.stack([r, c])), "indices_rowcol",
     "(row, column)"),
    ("max_pool2d_with_indices", _indices_with(lambda x, k, s, a, r, c: (r * x.shape[3] + c).astype(np.float64)),
     "indices_dtype", "integers"),
    ("max_pool2d_with_indices", _last_max, "ties_last", "first in row-major"),
    ("max_pool2d_with_indices", lambda x, k, s=None: R.max_pool2d(x, k, s), "not_a_pair", "pair (values, indices)"),
    ("max_pool2d_with_indices", lambda x, k, s=None: (R.max_pool2d(x, k, s),) * 3, "not_a_pair", "length 3"),
    ("max_pool2d_with_indices", lambda x, k, s=None: R.max_pool2d(x, k, k, return_indices=True), "overlap",
     "the values (the first element"),
    ("max_pool2d_with_indices", _modifies_x(_indices_with(lambda x, k, s, a, r, c: r * x.shape[3] + c)),
     "input_modified", "in place"),
]


def sampler(choose):
    """A training-mode sampler that picks index choose(window, rng) in each window (float64 window)."""
    def fn(x, kernel_size, stride=None, training=True, rng=None):
        if not training:
            return R.stochastic_pool2d(x, kernel_size, stride, training=False)
        rng = np.random.default_rng(rng)
        kh, kw, sh, sw, Ho, Wo = geometry(x, kernel_size, stride)
        y = np.zeros(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
        for idx in np.ndindex(y.shape):
            n, c, i, j = idx
            w = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw].astype(np.float64).ravel()
            y[idx] = 0 if w.sum() == 0 else w[choose(w, rng)]
        return y
    return fn


def _uniform_positive(w, rng):
    return rng.choice(np.flatnonzero(w > 0))


def _squared(w, rng):
    return rng.choice(w.size, p=w ** 2 / (w ** 2).sum())


def _nan_for_zero_windows(x, kernel_size, stride=None, training=True, rng=None):
    y = stochastic_loops(x, kernel_size, stride, training, rng)
    kh, kw, sh, sw, *_ = geometry(x, kernel_size, stride)
    empty = F.avg_pool2d(as_tensor(x).double(), (kh, kw), (sh, sw)).numpy() == 0
    return np.where(empty, np.nan, y).astype(x.dtype)


def _eval_with_ceil(x, kernel_size, stride=None, training=True, rng=None):
    if training:
        return stochastic_loops(x, kernel_size, stride, training, rng)
    kh, kw, sh, sw, *_ = geometry(x, kernel_size, stride)
    sq = F.avg_pool2d(as_tensor(x).double() ** 2, (kh, kw), (sh, sw), ceil_mode=True)
    lin = F.avg_pool2d(as_tensor(x).double(), (kh, kw), (sh, sw), ceil_mode=True)
    return torch.where(lin > 0, sq / torch.where(lin > 0, lin, 1), 0).numpy().astype(x.dtype)


WRONG_STOCHASTIC = [
    (sampler(lambda w, rng: int(np.argmax(w))), "always_max", "max pooling"),
    (sampler(lambda w, rng: rng.integers(w.size)), "zero_probability", "probability a_i / sum_j a_j is 0"),
    (sampler(_uniform_positive), "wrong_probabilities", "too rarely"),
    (sampler(_squared), "wrong_probabilities", "too often"),
    (lambda x, k, s=None, training=True, rng=None: R.stochastic_pool2d(x, k, s, training=False),
     "training_ignored", "with training=True"),
    (lambda x, k, s=None, training=True, rng=None: R.stochastic_pool2d(x, k, s, training=True, rng=rng),
     "training_ignored", "with training=False"),
    (lambda x, k, s=None, training=True, rng=None: R.avg_pool2d(x, k, s), "wrong_reduction", "plain average"),
    (_nan_for_zero_windows, "zero_window", "window of zeros"),
    (lambda x, k, s=None, training=True, rng=None: R.stochastic_pool2d(x, k, 1 if s is None else s, training, rng),
     "stride_default", "defaults"),
    (_eval_with_ceil, "ragged_edges", "partial windows"),
    (_modifies_x(stochastic_loops), "input_modified", "in place"),
]


WRONG = WRONG_POOL + [("stochastic_pool2d",) + w for w in WRONG_STOCHASTIC]


# ----------------------------------------------------------------------------- hostile pairs

class LyingList(list):
    def __len__(self):
        raise RuntimeError("no length")

    def __getitem__(self, i):
        raise RuntimeError("no items")


class LyingTuple(tuple):
    def __eq__(self, other):
        return True

    __hash__ = tuple.__hash__


HOSTILE_PAIR = {
    "liar": lambda y, i: Liar(),
    "none": lambda y, i: None,
    "lying_list": lambda y, i: LyingList([y, i]),
    "lying_tuple": lambda y, i: LyingTuple((y, i)),
    "pair_of_liars": lambda y, i: (Liar(), Liar()),
    "liar_indices": lambda y, i: (y, Liar()),
    "string_indices": lambda y, i: (y, "0 1 2"),
    "none_indices": lambda y, i: (y, None),
    "complex_indices": lambda y, i: (y, i.astype(complex)),
    "lying_indices": lambda y, i: (y, np.zeros(i.shape, dtype=np.int64).view(LyingArray)),
    "huge_indices": lambda y, i: (y, np.broadcast_to(np.int64(1), (10 ** 6, 10 ** 6))),
    "dict": lambda y, i: {"values": y, "indices": i},
    "generator": lambda y, i: (v for v in (y, i)),
    "stacked": lambda y, i: np.stack([y, i.astype(y.dtype)]),
    "nan_values": lambda y, i: (np.full(y.shape, np.nan), i),
}

# the pair judge meets these instead of judging.HOSTILE; each gets the expected pair (values, indices)
HOSTILE = {"max_pool2d_with_indices": {kind: (lambda make: lambda ref: make(*ref))(make)
                                       for kind, make in HOSTILE_PAIR.items()}}


CORRECT = {name: [LOOPS[name], TORCH[name]] for name in LOOPS}
FLOAT64_FOR_FLOAT32 = ("max_pool2d", "avg_pool2d", "global_avg_pool2d", "stochastic_pool2d")
