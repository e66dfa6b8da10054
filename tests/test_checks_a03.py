"""Tests of the checks of assignment 03 (pooling): correct implementations pass, typical mistakes are
named, hostile output fails cleanly, and the reference answers agree with PyTorch."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import checks
from cnnkit import reference as R
from judging import HOSTILE, Liar, LyingArray, diagnosed

A03 = checks.for_assignment("03")
NAMES = checks.GRADED["03"]
SEEDS = (0, 1, 7)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _geometry(x, kernel_size, stride):
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    H, W = x.shape[2:]
    return kh, kw, sh, sw, (H - kh) // sh + 1, (W - kw) // sw + 1


# ----------------------------------------------------------------------------- correct, written differently

def max_pool_loops(x, kernel_size, stride=None, with_indices=False):
    kh, kw, sh, sw, Ho, Wo = _geometry(x, kernel_size, stride)
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
    kh, kw, sh, sw, Ho, Wo = _geometry(x, kernel_size, stride)
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
    kh, kw, sh, sw, Ho, Wo = _geometry(x, kernel_size, stride)
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


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def stochastic_torch(x, kernel_size, stride=None, training=True, rng=None):
    kh, kw, sh, sw, Ho, Wo = _geometry(x, kernel_size, stride)
    N, C = x.shape[:2]
    cols = F.unfold(_t(x), (kh, kw), stride=(sh, sw)).reshape(N, C, kh * kw, Ho * Wo).transpose(2, 3)
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
    "max_pool2d": lambda x, k, s=None: F.max_pool2d(_t(x), k, s).numpy(),
    "max_pool2d_with_indices": lambda x, k, s=None: tuple(t.numpy() for t in F.max_pool2d(_t(x), k, s,
                                                                                           return_indices=True)),
    "avg_pool2d": lambda x, k, s=None: F.avg_pool2d(_t(x), k, s).numpy(),
    "global_avg_pool2d": lambda x: F.adaptive_avg_pool2d(_t(x), 1)[:, :, 0, 0].numpy(),
    "stochastic_pool2d": stochastic_torch,
}
LOOPS = {
    "max_pool2d": max_pool_loops,
    "max_pool2d_with_indices": lambda x, k, s=None: max_pool_loops(x, k, s, with_indices=True),
    "avg_pool2d": avg_pool_loops,
    "global_avg_pool2d": global_avg_loops,
    "stochastic_pool2d": stochastic_loops,
}


def test_assignment_03_grades_the_functions_of_the_course():
    assert NAMES == ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "global_avg_pool2d",
                     "stochastic_pool2d")
    assert all(c.assignment == "03" for c in A03.cases("max_pool2d"))


@pytest.mark.parametrize("impl", [LOOPS, TORCH], ids=["loops", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_correct_implementations_pass_every_case(name, impl, capsys):
    A03.check(name, impl[name])
    assert f"checks passed for {name}" in capsys.readouterr().out
    for seed in SEEDS:
        A03.check(name, impl[name], seed=seed, hidden=True)


@pytest.mark.parametrize("name", ["max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "global_avg_pool2d"])
def test_reference_answers_agree_with_pytorch(name):
    for hidden, seed in ((False, 0),) + tuple((True, s) for s in SEEDS):
        for case in A03.cases(name, seed=seed, hidden=hidden):
            want, got = TORCH[name](*case.args), checks.expected(case)
            if name == "max_pool2d_with_indices":
                np.testing.assert_array_equal(got[1], want[1], err_msg=case.label)
                want, got = want[0], got[0]
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=case.label)
            assert got.dtype == case.args[0].dtype


def test_stochastic_evaluation_is_the_probability_weighted_average():
    for case in A03.cases("stochastic_pool2d", hidden=True):
        if case.kwargs.get("training", True):
            continue
        x = _t(case.args[0]).double()
        k, s = case.args[1], case.args[2] if len(case.args) > 2 else None
        sq, lin = F.avg_pool2d(x ** 2, k, s), F.avg_pool2d(x, k, s)
        want = torch.where(lin > 0, sq / torch.where(lin > 0, lin, 1), 0).numpy()
        np.testing.assert_allclose(checks.expected(case), want, rtol=1e-5, atol=1e-6)


def test_lecture_example_and_ties_are_visible_cases():
    first = A03.cases("max_pool2d")[0]
    np.testing.assert_array_equal(checks.expected(first)[0, 0], [[6, 8], [3, 4]])
    y, idx = checks.expected(next(c for c in A03.cases("max_pool2d_with_indices") if "overlapping by two" in c.label))
    assert y[0, 0, 1, 0] == 8 and idx[0, 0, 1, 0] == 6     # the first of three 8s: row 1, column 1
    labels = " ".join(c.label for c in A03.cases("avg_pool2d"))
    assert "stride omitted" in labels and "left over" in labels and "overlapping" in labels


# ----------------------------------------------------------------------------- cases

@pytest.mark.parametrize("name", NAMES)
def test_cases_deterministic_per_seed_and_differ_across_seeds(name):
    a, b, c = (A03.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    assert [u.label for u in a] == [v.label for v in b]
    for u, v in zip(a, b):
        for p, q in zip(u.args, v.args):
            assert type(p) is type(q)
            if isinstance(p, np.ndarray):
                assert p.dtype == q.dtype and np.array_equal(p, q)
    assert any(not np.array_equal(u.args[0], v.args[0]) for u, v in zip(a, c))   # shapes or values
    assert {u.args[0].dtype for u in a} == {np.dtype(np.float32), np.dtype(np.float64)}


def test_hidden_cases_cover_the_awkward_geometry():
    cases = A03.cases("max_pool2d", hidden=True)
    geo = [(c, *_geometry(c.args[0], c.args[1], c.args[2] if len(c.args) > 2 else None)) for c in cases]
    assert any(len(c.args) == 2 for c in cases)                               # the default stride
    assert any(sh < kh for _, kh, kw, sh, sw, *_ in geo)                      # overlapping windows
    assert any(sh > kh for _, kh, kw, sh, sw, *_ in geo)                      # gaps
    assert any((c.args[0].shape[2] - kh) % sh for c, kh, kw, sh, sw, *_ in geo)   # ragged edges
    assert any(kh != kw for _, kh, kw, *_ in geo)                             # a non-square kernel
    ties = [c for c in cases if "ties" in c.label]
    assert ties and all(np.array_equal(c.args[0], np.round(c.args[0])) for c in ties)


def test_cases_are_picklable_and_the_judge_does_not_advance_their_generator():
    import pickle

    for case in A03.cases("stochastic_pool2d", hidden=True):
        pickle.loads(pickle.dumps(case))
    case = next(c for c in A03.cases("stochastic_pool2d") if isinstance(c.kwargs.get("rng"), np.random.Generator))
    state = copy.deepcopy(case.kwargs["rng"].bit_generator.state)
    checks.expected(case)
    checks.judge(case, np.zeros(1))
    assert case.kwargs["rng"].bit_generator.state == state


# ----------------------------------------------------------------------------- diagnoses

def _hits(name, fn, code, hidden=False):
    """The verdicts with diagnosis `code`; cases the wrong implementation crashes on are skipped (check()
    reports those itself)."""
    return diagnosed(A03, name, fn, code, hidden, skip_raising=True)


def _first_failure(name, fn, code, hidden=False):
    return _hits(name, fn, code, hidden)[0]


def _named(name, fn, code, text):
    """The first verdict with diagnosis `code` whose message says `text` (asserting there is one)."""
    hits = _hits(name, fn, code)
    found = [v for v in hits if text in v.message]
    assert found, f"{name}: no [{code}] message says {text!r}:\n{hits[0].message}"
    return found[0]


def _ceil_pool(pool):
    def fn(x, k, s=None):
        return pool(x, k, s, ceil_mode=True)
    return fn


def _crop_top_left(pool):
    def fn(x, k, s=None):
        kh, kw, sh, sw, *_ = _geometry(x, k, s)
        rh, rw = (x.shape[2] - kh) % sh, (x.shape[3] - kw) % sw
        return pool(x[:, :, rh:, rw:], k, s)
    return fn


def _swapped(pool):
    def fn(x, k, s=None):
        return pool(x, _pair(k)[::-1], None if s is None else _pair(s)[::-1])
    return fn


def _truncated_windows(x, k, s=None):
    """Windows at i*s, but H // s of them: the last ones run past the edge and are cut short."""
    kh, kw, sh, sw, *_ = _geometry(x, k, s)
    H, W = x.shape[2:]
    y = np.zeros(x.shape[:2] + (H // sh, W // sw), dtype=x.dtype)
    for i in range(H // sh):
        for j in range(W // sw):
            y[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return y


def _indices_with(transform):
    """max_pool2d_with_indices whose indices are transform(x, k, s, window_argmax, rows, cols)."""
    def fn(x, k, s=None):
        kh, kw, sh, sw, Ho, Wo = _geometry(x, k, s)
        win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        a = win.reshape(win.shape[:4] + (-1,)).argmax(axis=-1)
        rows = np.arange(Ho)[:, None] * sh + a // kw
        cols = np.arange(Wo)[None, :] * sw + a % kw
        return R.max_pool2d(x, k, s), transform(x, k, s, a, rows, cols)
    return fn


def _last_max(x, k, s=None):
    kh, kw, sh, sw, Ho, Wo = _geometry(x, k, s)
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


def _upcast(pool):
    return lambda x, *args, **kwargs: pool(x.astype(np.float64), *args, **kwargs)


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
    ("avg_pool2d", lambda x, k, s=None: R.avg_pool2d(x, k, s) * np.prod(_pair(k)), "avg_sum", "sum"),
    ("avg_pool2d", lambda x, k, s=None: R.avg_pool2d(x, k, s) * _pair(k)[1], "avg_divisor", "kH*kW"),
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
     _indices_with(lambda x, k, s, a, r, c: (a // _pair(k)[1]) * x.shape[3] + a % _pair(k)[1]),
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


@pytest.mark.parametrize("name,fn,code,text", WRONG_POOL, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG_POOL)])
def test_each_mistake_is_named(name, fn, code, text):
    _named(name, fn, code, text)
    with pytest.raises(AssertionError) as e:
        A03.check(name, fn)
    assert f"[{code}]" in str(e.value)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "global_avg_pool2d", "stochastic_pool2d"])
def test_float64_for_float32_is_named_on_hidden_cases(name):
    impl = _upcast(LOOPS[name])
    A03.check(name, impl)   # the visible cases are float64
    _first_failure(name, impl, "wrong_dtype", hidden=True)


# ----------------------------------------------------------------------------- stochastic pooling

def _sampler(choose):
    """A training-mode sampler that picks index choose(window, rng) in each window (float64 window)."""
    def fn(x, kernel_size, stride=None, training=True, rng=None):
        if not training:
            return R.stochastic_pool2d(x, kernel_size, stride, training=False)
        rng = np.random.default_rng(rng)
        kh, kw, sh, sw, Ho, Wo = _geometry(x, kernel_size, stride)
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
    kh, kw, sh, sw, *_ = _geometry(x, kernel_size, stride)
    empty = F.avg_pool2d(_t(x).double(), (kh, kw), (sh, sw)).numpy() == 0
    return np.where(empty, np.nan, y).astype(x.dtype)


def _eval_with_ceil(x, kernel_size, stride=None, training=True, rng=None):
    if training:
        return stochastic_loops(x, kernel_size, stride, training, rng)
    kh, kw, sh, sw, *_ = _geometry(x, kernel_size, stride)
    sq = F.avg_pool2d(_t(x).double() ** 2, (kh, kw), (sh, sw), ceil_mode=True)
    lin = F.avg_pool2d(_t(x).double(), (kh, kw), (sh, sw), ceil_mode=True)
    return torch.where(lin > 0, sq / torch.where(lin > 0, lin, 1), 0).numpy().astype(x.dtype)


WRONG_STOCHASTIC = [
    (_sampler(lambda w, rng: int(np.argmax(w))), "always_max", "max pooling"),
    (_sampler(lambda w, rng: rng.integers(w.size)), "zero_probability", "probability a_i / sum_j a_j is 0"),
    (_sampler(_uniform_positive), "wrong_probabilities", "too rarely"),
    (_sampler(_squared), "wrong_probabilities", "too often"),
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


@pytest.mark.parametrize("fn,code,text", WRONG_STOCHASTIC, ids=[f"{w[1]}-{i}" for i, w in enumerate(WRONG_STOCHASTIC)])
def test_each_stochastic_mistake_is_named(fn, code, text):
    _named("stochastic_pool2d", fn, code, text)
    with pytest.raises(AssertionError) as e:
        A03.check("stochastic_pool2d", fn)
    assert f"[{code}]" in str(e.value)


def test_every_special_window_is_checked():
    case = next(c for c in A03.cases("stochastic_pool2d") if "constant" in c.label)
    good = stochastic_loops(*case.args, **{**case.kwargs, "rng": 5})
    assert checks.judge(case, good).passed
    # windows: constant 2, one positive (5), all zero, mixed [0, 1, 2, 4] -> picks 4 here, ties [3, 3, 0, 1]
    for where, value, code in (((0, 0, 0, 0), 1.0, "not_in_window"),   # constant window of 2s: only 2
                               ((0, 0, 0, 1), 0.0, "zero_probability"),  # the only positive value is 5
                               ((0, 0, 0, 2), 1.0, "not_in_window"),     # a window of zeros gives 0
                               ((0, 0, 0, 3), 0.0, "zero_probability")):
        bad = good.copy()
        bad[where] = value
        v = checks.judge(case, bad)
        assert not v.passed and v.diagnosis == code, (where, v.message)
        assert f"index {where}" in v.message


def test_the_frequency_test_runs_on_every_large_hidden_training_case():
    always_max = _sampler(lambda w, rng: int(np.argmax(w)))
    large = [c for c in A03.cases("stochastic_pool2d", hidden=True)
             if c.kwargs.get("training", True) and c.args[0].size > 1000]
    assert len(large) >= 8
    for case in large:
        v = checks.judge(case, always_max(*case.args, **case.kwargs))
        assert not v.passed and v.diagnosis == "always_max", case.label


def test_correct_samplers_pass_the_frequency_test_across_seeds():
    cases = [c for c in A03.cases("stochastic_pool2d") + A03.cases("stochastic_pool2d", hidden=True)
             if "2400 windows" in c.label]
    assert len(cases) == 3
    for case in cases:
        for seed in range(6):
            kwargs = {**case.kwargs, "rng": seed}
            assert checks.judge(case, stochastic_loops(*case.args, **kwargs)).passed
            assert checks.judge(case, R.stochastic_pool2d(*case.args, **kwargs)).passed


# ----------------------------------------------------------------------------- hostile output

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


@pytest.mark.parametrize("kind", HOSTILE_PAIR)
def test_pair_judge_fails_cleanly_on_hostile_output(kind):
    case = A03.cases("max_pool2d_with_indices")[0]
    y, i = checks.expected(case)
    v = checks.judge(case, HOSTILE_PAIR[kind](y, i))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert "max_pool2d_with_indices" in v.message


def test_pair_judge_accepts_a_list_and_any_integer_dtype():
    case = A03.cases("max_pool2d_with_indices")[2]
    y, i = checks.expected(case)
    assert checks.judge(case, [y, i]).passed
    assert checks.judge(case, (y.tolist(), i.astype(np.int32))).passed



@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("training", [True, False])
def test_stochastic_judge_fails_cleanly_on_hostile_output(kind, training):
    case = next(c for c in A03.cases("stochastic_pool2d") if c.kwargs.get("training", True) == training)
    v = checks.judge(case, HOSTILE[kind](checks.expected(case)))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert "stochastic_pool2d" in v.message


def test_messages_show_small_inputs_and_name_the_window():
    case = next(c for c in A03.cases("stochastic_pool2d") if "training (the default)" in c.label)
    msg = checks.judge(case, np.full((1, 1, 2, 2), 100.0)).message
    assert "x = " in msg and "kernel_size = 2" in msg and "one correct output" in msg
    assert "window" in msg
