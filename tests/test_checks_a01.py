"""Tests of cnnkit.checks: correct implementations pass, typical mistakes are named, hostile output fails cleanly."""

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from cnnkit import checks
from cnnkit import reference as R
from judging import Liar, LyingArray, check_raises, diagnosed, object_array

# conv2d is graded in 01 and 02: every check here is bound to assignment 01
A01 = checks.for_assignment("01")
NAMES = A01.functions
SEEDS = (0, 1, 7)


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


@pytest.mark.parametrize("impl", [LOOPS, SCIPY], ids=["loops", "scipy/torch"])
@pytest.mark.parametrize("name", NAMES)
def test_correct_implementations_pass_every_case(name, impl, capsys):
    A01.check(name, impl[name])
    assert f"checks passed for {name}" in capsys.readouterr().out
    for seed in SEEDS:
        A01.check(name, impl[name], seed=seed, hidden=True)


def test_lecture_examples_are_visible_cases():
    c1 = A01.cases("convolve1d")[0]
    assert "lecture" in c1.label
    np.testing.assert_array_equal(checks.expected(c1), [5, 16, 34, 52, 45, 28])
    c2 = A01.cases("correlate2d")[0]
    assert "lecture" in c2.label
    np.testing.assert_array_equal(checks.expected(c2), [[19, 25], [37, 43]])
    assert any(c.args[0].shape == (7, 7) and c.args[1].shape == (3, 3) for c in A01.cases("correlate2d"))
    assert any(c.args[0].shape == (1, 1, 7, 7) for c in A01.cases("conv2d"))


# ----------------------------------------------------------------------------- cases

@pytest.mark.parametrize("name", NAMES)
def test_cases_deterministic_per_seed_and_differ_across_seeds(name):
    a, b, c = (A01.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.label == v.label
        for p, q in zip(u.args, v.args):
            assert (p is None and q is None) or (p.dtype == q.dtype and np.array_equal(p, q))
    assert any(not np.array_equal(u.args[0], v.args[0]) for u, v in zip(a, c) if u.args[0].shape == v.args[0].shape)
    dtypes = {arg.dtype for case in a for arg in case.args if arg is not None}
    assert dtypes == {np.dtype(np.float32), np.dtype(np.float64)}


def test_hidden_cases_cover_the_awkward_shapes():
    k1 = [c.args[1].shape for c in A01.cases("correlate1d", hidden=True)]
    assert (1,) in k1 and any(s[0] % 2 == 0 for s in k1)
    k2 = [c.args[1].shape for c in A01.cases("correlate2d", hidden=True)]
    assert any(h != w for h, w in k2) and any(h % 2 == 0 for h, _ in k2) and (1, 1) in k2
    conv = A01.cases("conv2d", hidden=True)
    assert any(c.args[0].shape[0] > 1 for c in conv) and any(c.args[0].shape[1] > 1 for c in conv)
    assert any(len(c.args) == 3 and c.args[2] is not None for c in conv)
    assert any(len(c.args) == 2 or c.args[2] is None for c in conv)


# ----------------------------------------------------------------------------- diagnoses

def _first_failure(name, fn, code, hidden=False):
    return diagnosed(A01, name, fn, code, hidden)[0]


def _check_raises(name, fn, code, hidden=False):
    return check_raises(A01, name, fn, code, hidden)


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


@pytest.mark.parametrize("name,fn,code,text", WRONG, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_each_mistake_is_named(name, fn, code, text):
    v = _first_failure(name, fn, code)
    assert text in v.message
    assert "expected" in v.message
    _check_raises(name, fn, code)


@pytest.mark.parametrize("name", NAMES)
def test_float64_for_float32_fails_only_on_hidden_float32_cases(name):
    ref = getattr(R, name)
    upcast = lambda *args: ref(*[None if a is None else a.astype(np.float64) for a in args])
    A01.check(name, upcast)  # visible cases are float64: a float64 result is right there
    v = _first_failure(name, upcast, "wrong_dtype", hidden=True)
    assert "float32" in v.message and "float64" in v.message
    msg = _check_raises(name, upcast, "wrong_dtype", hidden=True)
    assert "float32" in msg


def test_check_reports_every_failure_and_exceptions_with_their_line():
    def boom(x, k):
        raise IndexError("index 3 is out of bounds")  # a line the message quotes

    with pytest.raises(AssertionError) as e:
        A01.check("correlate1d", boom)
    msg = str(e.value)
    n = len(A01.cases("correlate1d"))
    assert msg.startswith(f"{n} of {n} checks failed for correlate1d")
    assert msg.count("IndexError: index 3 is out of bounds") == n
    assert 'raise IndexError("index 3 is out of bounds")' in msg
    assert "the lecture's example" in msg


def test_in_place_detection_through_inputs_after():
    case = A01.cases("conv2d")[1]
    out = checks.expected(case)
    assert checks.judge(case, out, inputs_after=case.args).passed
    changed = (case.args[0] * 2,) + case.args[1:]
    v = checks.judge(case, out, inputs_after=changed)
    assert not v.passed and v.diagnosis == "input_modified" and "x" in v.message


def test_unknown_mistake_has_no_diagnosis_but_says_where():
    case = A01.cases("correlate2d")[0]
    v = checks.judge(case, np.array([[19.0, 25.0], [37.0, 44.0]]))
    assert not v.passed and v.diagnosis is None
    assert "index (1, 1)" in v.message and "expected 43" in v.message


def test_tolerances_follow_dtype():
    c64 = next(c for c in A01.cases("conv2d", hidden=True) if c.args[0].dtype == np.float64)
    c32 = next(c for c in A01.cases("conv2d", hidden=True) if c.args[0].dtype == np.float32)
    e64, e32 = checks.expected(c64), checks.expected(c32)
    scale = max(1.0, float(np.abs(e32).max()))
    assert checks.judge(c32, (e32 + np.float32(3e-5 * scale)).astype(np.float32)).passed
    assert not checks.judge(c32, (e32 + np.float32(1e-3 * scale)).astype(np.float32)).passed
    assert not checks.judge(c64, e64 * (1 + 1e-4)).passed
    assert checks.judge(c64, e64 * (1 + 1e-7)).passed


# ----------------------------------------------------------------------------- hostile output

HOSTILE = {
    "liar": lambda ref: Liar(),
    "strings": lambda ref: [["19", "25"], ["37", "43"]],
    "none": lambda ref: None,
    "huge": lambda ref: np.broadcast_to(np.float64(1.0), (10 ** 6, 10 ** 6)),
    "huge_same_ndim": lambda ref: np.zeros((3000, 3000)),
    "nans": lambda ref: np.full(ref.shape, np.nan),
    "lying_subclass": lambda ref: np.zeros(ref.shape).view(LyingArray),
    "object_array_of_liars": lambda ref: object_array(ref.shape, Liar),
    "complex": lambda ref: ref.astype(complex),
    "dict": lambda ref: {"y": ref},
    "string": lambda ref: "19 25 37 43",
    "ragged": lambda ref: [[19, 25], [37]],
    "generator": lambda ref: (v for v in ref),
    "list_with_none": lambda ref: [[19, 25], [37, None]],
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_judge_fails_cleanly_on_hostile_output(kind):
    case = A01.cases("correlate2d")[0]
    v = checks.judge(case, HOSTILE[kind](checks.expected(case)))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert "correlate2d" in v.message


def test_correct_values_in_a_list_or_a_plain_subclass_pass():
    case = A01.cases("correlate2d")[0]
    assert checks.judge(case, [[19, 25], [37, 43]]).passed
    assert checks.judge(case, np.array([[19.0, 25.0], [37.0, 43.0]]).view(np.matrix)).passed


def test_messages_print_small_inputs_and_truncate_big_ones():
    small = A01.cases("correlate1d")[0]
    assert "x = [1. 2. 3. 4.]" in checks.judge(small, [0.0, 0.0]).message
    big = next(c for c in A01.cases("conv2d", hidden=True) if c.args[0].size > 100)
    msg = checks.judge(big, np.zeros_like(checks.expected(big))).message
    assert "..." in msg and len(msg) < 5000


def test_a_name_graded_in_two_assignments_needs_the_assignment():
    from cnnkit.checks import core
    from cnnkit.checks.core import Graded, register

    twin = Graded("convolve1d", "99", lambda: [], lambda rng: [], lambda x, k: x, lambda c, r: [])
    register(twin)
    try:
        with pytest.raises(ValueError, match="assignment"):
            checks.cases("convolve1d")
        assert checks.cases("convolve1d", assignment="01")[0].assignment == "01"
        assert checks.graded("convolve1d", "99") is twin
    finally:
        del core._REGISTRY[("99", "convolve1d")]


def test_for_assignment_binds_the_assignment():
    a01 = checks.for_assignment("01")
    assert a01.functions == checks.GRADED["01"]
    assert all(c.assignment == "01" for c in a01.cases("conv2d", hidden=True))
    with pytest.raises(ValueError, match="unknown assignment"):
        checks.for_assignment("nope")
