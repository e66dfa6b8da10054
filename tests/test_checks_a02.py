"""Tests of the checks of assignment 02 (padding, stride, dilation): correct implementations pass,
each typical mistake is named, PyTorch agrees with the reference answers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import checks
from judging import check_raises, diagnosed

# PyTorch's remark that "same" padding of an even kernel copies the input is not a problem here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

A02 = checks.for_assignment("02")
NAMES = A02.functions
SEEDS = (0, 1, 7)


# ----------------------------------------------------------------------------- helpers of the implementations

def as_pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(u) for u in v)


def four_sides(padding):
    """(left, right, top, bottom) of pad2d's padding."""
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * 4
    if len(padding) == 2:
        return padding[1], padding[1], padding[0], padding[0]
    return tuple(padding)


def conv_pads(padding, k, d):
    """((top, bottom), (left, right)) of a convolution's padding: int, pair, "valid" or "same"."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        totals = [dd * (kk - 1) for kk, dd in zip(k, d)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = as_pair(padding)
    return (ph, ph), (pw, pw)


# ----------------------------------------------------------------------------- correct, written differently

def pad2d_slices(x, padding):
    left, right, top, bottom = four_sides(padding)
    H, W = x.shape[-2:]
    y = np.zeros(x.shape[:-2] + (H + top + bottom, W + left + right), dtype=x.dtype)
    y[..., top:top + H, left:left + W] = x
    return y


def pad2d_torch(x, padding):
    return F.pad(torch.from_numpy(x), four_sides(padding)).numpy()


def size_count(size, kernel_size, stride=1, padding=0, dilation=1):
    """Count the window starts one by one: 0, s, 2s, ... while the dilated kernel still fits."""
    if not isinstance(size, (int, np.integer)):
        per = lambda v: (v, v) if isinstance(v, (int, np.integer, str)) else v
        return tuple(size_count(*a) for a in zip(size, per(kernel_size), per(stride), per(padding), per(dilation)))
    if padding == "same":
        return size
    pad = 0 if padding == "valid" else padding
    span = dilation * (kernel_size - 1) + 1
    count, start = 0, 0
    while start + span <= size + 2 * pad:
        count, start = count + 1, start + stride
    return count


def size_torch(size, kernel_size, stride=1, padding=0, dilation=1):
    """The output size PyTorch's own convolution gives a zero image of that size."""
    pair = not isinstance(size, (int, np.integer))
    H, W = size if pair else (1, size)
    k = kernel_size if pair else (1, kernel_size)
    s = stride if pair or isinstance(stride, tuple) else (1, stride)
    p = padding if pair or isinstance(padding, str) else (0, padding)
    d = dilation if pair else (1, dilation)
    y = F.conv2d(torch.zeros(1, 1, H, W), torch.zeros(1, 1, *as_pair(k)), stride=s, padding=p, dilation=d)
    return tuple(y.shape[2:]) if pair else int(y.shape[3])


def conv2d_loops(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    Co, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = as_pair(stride), as_pair(dilation)
    (t, bt), (l, r) = conv_pads(padding, (kh, kw), (dh, dw))
    xp = np.zeros((N, C, H + t + bt, W + l + r), dtype=x.dtype)
    xp[:, :, t:t + H, l:l + W] = x
    Ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, Co, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            field = xp[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
            y[:, :, i, j] = np.tensordot(field, w, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv2d_torch(x, w, b=None, stride=1, padding=0, dilation=1):
    t = torch.from_numpy
    return F.conv2d(t(x), t(w), None if b is None else t(b), stride=stride, padding=padding, dilation=dilation).numpy()


LOOPS = {"pad2d": pad2d_slices, "conv_output_size": size_count, "conv2d": conv2d_loops}
TORCH = {"pad2d": pad2d_torch, "conv_output_size": size_torch, "conv2d": conv2d_torch}


@pytest.mark.parametrize("impl", [LOOPS, TORCH], ids=["loops", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_correct_implementations_pass_every_case(name, impl, capsys):
    A02.check(name, impl[name])
    assert f"checks passed for {name}" in capsys.readouterr().out
    for seed in SEEDS:
        A02.check(name, impl[name], seed=seed, hidden=True)


@pytest.mark.parametrize("name", NAMES)
def test_reference_answers_agree_with_torch(name):
    for seed in SEEDS:
        for case in A02.cases(name) + A02.cases(name, seed=seed, hidden=True):
            ref = A02.expected(case)
            oracle = np.asarray(TORCH[name](*case.args, **case.kwargs))
            assert ref.shape == oracle.shape, case.label
            np.testing.assert_allclose(ref, oracle, rtol=1e-5, atol=1e-5, err_msg=case.label)


def test_worked_examples_are_visible_cases():
    pad = A02.cases("pad2d")[0]
    np.testing.assert_array_equal(A02.expected(pad)[1:-1, 1:-1], np.arange(1, 10).reshape(3, 3))
    assert A02.expected(pad).shape == (5, 5) and A02.expected(pad)[0].sum() == 0
    sizes = {c.label.split(" (")[0]: int(np.asarray(A02.expected(c)).ravel()[0]) for c in A02.cases("conv_output_size")}
    assert sizes["size=7, kernel_size=3"] == 5
    assert sizes["size=8, kernel_size=3, stride=2, padding=1"] == 4
    assert sizes["size=7, kernel_size=3, dilation=2"] == 3
    assert sizes["size=32, kernel_size=5"] == 28
    assert sizes["size=227, kernel_size=11, stride=4"] == 55
    shapes = [A02.expected(c).shape[2:] for c in A02.cases("conv2d")]
    assert shapes[:7] == [(3, 3), (5, 5), (2, 2), (3, 3), (3, 3), (4, 5), (7, 7)]


# ----------------------------------------------------------------------------- cases

@pytest.mark.parametrize("name", NAMES)
def test_cases_deterministic_per_seed_and_differ_across_seeds(name):
    a, b, c = (A02.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    assert len(a) == len(b) >= 12
    same = lambda p, q: (type(p) is type(q) and (np.array_equal(p, q) if isinstance(p, np.ndarray) else p == q)
                         and getattr(p, "dtype", None) == getattr(q, "dtype", None))
    for u, v in zip(a, b):
        assert u.label == v.label and u.kwargs == v.kwargs
        assert all(same(p, q) for p, q in zip(u.args, v.args))
    assert any(u.label != v.label or not all(same(p, q) for p, q in zip(u.args, v.args)) for u, v in zip(a, c))
    if name != "conv_output_size":
        dtypes = {arg.dtype for case in a for arg in case.args if isinstance(arg, np.ndarray)}
        assert dtypes == {np.dtype(np.float32), np.dtype(np.float64)}


def test_hidden_cases_cover_every_option():
    for seed in SEEDS:
        pads = [c.args[1] for c in A02.cases("pad2d", seed=seed, hidden=True)]
        assert {type(p) for p in pads} == {int, tuple} and {len(p) for p in pads if isinstance(p, tuple)} == {2, 4}
        assert {c.args[0].ndim for c in A02.cases("pad2d", seed=seed, hidden=True)} == {2, 3, 4}

        sizes = A02.cases("conv_output_size", seed=seed, hidden=True)
        kw = [c.kwargs for c in sizes]
        assert {k.get("padding") for k in kw} >= {"same", "valid"}
        assert any(k.get("dilation", 1) != 1 for k in kw)
        assert any(isinstance(c.args[0], tuple) for c in sizes)
        # strides that do not divide: floor and ceil differ
        uneven = [c for c in sizes if isinstance(c.args[0], int) and isinstance(c.kwargs.get("padding", 0), int)
                  and c.kwargs.get("stride", 1) > 1]
        assert sum((c.args[0] + 2 * c.kwargs.get("padding", 0) - c.kwargs.get("dilation", 1) * (c.args[1] - 1) - 1)
                   % c.kwargs["stride"] != 0 for c in uneven) >= 5

        conv = A02.cases("conv2d", seed=seed, hidden=True)
        paddings = [c.kwargs.get("padding", 0) for c in conv]
        assert "same" in paddings and "valid" in paddings and any(isinstance(p, tuple) for p in paddings)
        assert any("full" in c.label for c in conv)
        assert any(isinstance(c.kwargs.get("stride"), tuple) for c in conv)
        assert any(c.kwargs.get("dilation", 1) not in (1, (1, 1)) for c in conv)
        assert any(c.args[0].shape[2] != c.args[0].shape[3] for c in conv)
        assert any(c.args[1].shape[2] != c.args[1].shape[3] for c in conv)
        assert any(len(c.args) == 3 and c.args[2] is not None for c in conv)
        assert any(len(c.args) == 2 or c.args[2] is None for c in conv)


def test_conv2d_of_02_is_not_the_one_of_01():
    assert all(c.assignment == "02" for c in A02.cases("conv2d", hidden=True))
    assert any(c.kwargs for c in A02.cases("conv2d"))
    assert not any(c.kwargs for c in checks.cases("conv2d", assignment="01"))
    with pytest.raises(ValueError, match="assignment"):
        checks.cases("conv2d")


# ----------------------------------------------------------------------------- deliberately wrong implementations

def _first_failure(name, fn, code, hidden=False):
    """A failing verdict with diagnosis `code`; cases the wrong implementation crashes on are skipped."""
    return diagnosed(A02, name, fn, code, hidden, skip_raising=True)[0]


def _check_raises(name, fn, code, hidden=False):
    return check_raises(A02, name, fn, code, hidden)


# pad2d: each mistake is a different placement of the zeros

def pad_first_axes(x, padding):
    left, right, top, bottom = four_sides(padding)
    return np.pad(x, [(top, bottom), (left, right)] + [(0, 0)] * (x.ndim - 2))


def pad_batch_too(x, padding):
    left, right, top, bottom = four_sides(padding)
    return np.pad(x, [(top, bottom)] + [(0, 0)] * (x.ndim - 3) + [(top, bottom), (left, right)]) if x.ndim > 2 \
        else pad2d_slices(x, padding)


def pad_hw_swapped(x, padding):
    left, right, top, bottom = four_sides(padding)
    return pad2d_slices(x, (top, bottom, left, right))


def pad_tbrl(x, padding):
    """Four sides read as (top, bottom, left, right)."""
    if isinstance(padding, tuple) and len(padding) == 4:
        t, b, l, r = padding
        return pad2d_slices(x, (l, r, t, b))
    return pad2d_slices(x, padding)


def pad_before_only(x, padding):
    left, right, top, bottom = four_sides(padding)
    return pad2d_slices(x, (left, 0, top, 0))


def pad_edge(x, padding):
    left, right, top, bottom = four_sides(padding)
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)], mode="edge")


# conv_output_size: the formula with one thing wrong, per axis

def size_with(rule):
    def size(size, kernel_size, stride=1, padding=0, dilation=1):
        if not isinstance(size, int):
            per = lambda v: (v, v) if isinstance(v, (int, str)) else v
            return tuple(size_with(rule)(*a) for a in zip(size, per(kernel_size), per(stride), per(padding),
                                                           per(dilation)))
        total = {"valid": 0, "same": dilation * (kernel_size - 1)}.get(padding, None)
        total = 2 * padding if total is None else total
        return rule(size, kernel_size, stride, total, dilation, padding)
    return size


SIZE_WRONG = {
    "ceil": lambda n, k, s, P, d, m: math.ceil((n + P - d * (k - 1) - 1) / s) + 1,
    "true_division": lambda n, k, s, P, d, m: (n + P - d * (k - 1) - 1) / s + 1,
    "no_plus_one": lambda n, k, s, P, d, m: (n + P - d * (k - 1) - 1) // s,
    "padding_once": lambda n, k, s, P, d, m: (n + P // 2 - d * (k - 1) - 1) // s + 1,
    "dilation_times_k": lambda n, k, s, P, d, m: (n + P - d * k) // s + 1,
    "dilation_ignored": lambda n, k, s, P, d, m: (n + P - k) // s + 1,
    "stride_ignored": lambda n, k, s, P, d, m: n + P - d * (k - 1),
    "same_half_kernel": lambda n, k, s, P, d, m: (n + 2 * (k // 2 if m == "same" else P // 2) - d * (k - 1) - 1) // s + 1,
}


# conv2d: the loops of a student, with one thing wrong

def conv_student(index=None, pads=None, size=None, pad_all_axes=False, flip=False, bias=True):
    """A loop implementation; `index(i, p, s, d)` is the input row/column read by output i, tap p."""
    index = index or (lambda i, p, s, d: i * s + p * d)

    def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
        N, C, H, W = x.shape
        Co, _, kh, kw = w.shape
        s, d = as_pair(stride), as_pair(dilation)
        (t, bt), (l, r) = (pads or conv_pads)(padding, (kh, kw), d)
        if pad_all_axes:
            xp = np.pad(x, padding)   # pads the batch and channel axes too
        else:
            xp = np.pad(x, ((0, 0), (0, 0), (t, bt), (l, r)))
        Ho, Wo = (size or (lambda n, k, ss, dd: (n - dd * (k - 1) - 1) // ss + 1))(H + t + bt, kh, s[0], d[0]), \
                 (size or (lambda n, k, ss, dd: (n - dd * (k - 1) - 1) // ss + 1))(W + l + r, kw, s[1], d[1])
        ww = w[:, :, ::-1, ::-1] if flip else w
        y = np.zeros((N, Co, Ho, Wo), dtype=x.dtype)
        for n in range(N):
            for o in range(Co):
                for i in range(Ho):
                    for j in range(Wo):
                        acc = 0.0
                        for c in range(C):
                            for p in range(kh):
                                for q in range(kw):
                                    acc += xp[n, c, index(i, p, s[0], d[0]), index(j, q, s[1], d[1])] * ww[o, c, p, q]
                        y[n, o, i, j] = acc + (b[o] if b is not None and bias else 0)
        return y
    return conv2d


def same_extra_first(padding, k, d):
    if padding == "same":
        return tuple((t - t // 2, t // 2) for t in (dd * (kk - 1) for kk, dd in zip(k, d)))
    return conv_pads(padding, k, d)


def no_padding(padding, k, d):
    return (0, 0), (0, 0)


def ceil_size(n, k, s, d):
    return -(-(n - d * (k - 1) - 1) // s) + 1


def conv_ceil_shape(x, w, b=None, stride=1, padding=0, dilation=1):
    """The right values in an output rounded up in size (the extra row / column left at zero)."""
    y = conv2d_loops(x, w, b, stride, padding, dilation)
    (t, bt), (l, r) = conv_pads(padding, w.shape[2:], as_pair(dilation))
    s, d = as_pair(stride), as_pair(dilation)
    Hc = ceil_size(x.shape[2] + t + bt, w.shape[2], s[0], d[0])
    Wc = ceil_size(x.shape[3] + l + r, w.shape[3], s[1], d[1])
    return np.pad(y, ((0, 0), (0, 0), (0, Hc - y.shape[2]), (0, Wc - y.shape[3])))


def conv_bias_on_height(x, w, b=None, **kw):
    y = conv2d_loops(x, w, None, **kw)
    return y if b is None else y + b[:, None]


def conv_modifies_x(x, w, b=None, **kw):
    y = conv2d_loops(x, w, b, **kw)
    x *= 2
    return y


WRONG = [
    ("pad2d", pad_first_axes, "pad_wrong_axes", "first two axes"),
    ("pad2d", lambda x, p: np.pad(x, p), "pad_wrong_axes", "every axis"),
    ("pad2d", pad_batch_too, "pad_wrong_axes", "batch axis (axis 0)"),
    ("pad2d", pad_hw_swapped, "pad_wrong_sides", "swapped"),
    ("pad2d", pad_tbrl, "pad_wrong_sides", "(left, right, top, bottom)"),
    ("pad2d", pad_before_only, "pad_wrong_sides", "only the top and left"),
    ("pad2d", pad_edge, "pad_value", "edge pixels"),
    ("conv_output_size", size_with(SIZE_WRONG["ceil"]), "floor_vs_ceil", "rounded up"),
    ("conv_output_size", size_with(SIZE_WRONG["true_division"]), "floor_vs_ceil", "not rounded"),
    ("conv_output_size", size_with(SIZE_WRONG["no_plus_one"]), "wrong_size", "+ 1 is missing"),
    ("conv_output_size", size_with(SIZE_WRONG["padding_once"]), "padding_once", "both sides"),
    ("conv_output_size", size_with(SIZE_WRONG["dilation_times_k"]), "dilation_off_by_one", "dilation*kernel_size"),
    ("conv_output_size", size_with(SIZE_WRONG["dilation_ignored"]), "dilation_ignored", "dilation was left out"),
    ("conv_output_size", size_with(SIZE_WRONG["stride_ignored"]), "stride_ignored", "stride was left out"),
    ("conv_output_size", size_with(SIZE_WRONG["same_half_kernel"]), "same_padding", "'same'"),
    ("conv2d", conv_student(flip=True), "flipped_kernel", "cross-correlation"),
    ("conv2d", conv_student(bias=False), "bias_missing", "bias"),
    ("conv2d", conv_bias_on_height, "bias_wrong_axis", "height"),
    ("conv2d", conv_student(pad_all_axes=True), "pad_wrong_axes", "batch and channel axes were padded too"),
    ("conv2d", conv_student(pads=same_extra_first), "same_padding", "bottom / right"),
    ("conv2d", conv_student(pads=no_padding), "padding_ignored", "padding was left out"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i + p * d * s), "stride_on_kernel", "instead of the output"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i + p * d), "stride_ignored", "one pixel at a time"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i * s + p * (d + 1),
                            size=lambda n, k, s, d: (n - (d + 1) * (k - 1) - 1) // s + 1),
     "dilation_off_by_one", "dilation + 1"),
    ("conv2d", conv_student(index=lambda i, p, s, d: i * s + p), "dilation_ignored", "dilation was left out"),
    ("conv2d", conv_ceil_shape, "floor_vs_ceil", "rounded up"),
    ("conv2d", conv_modifies_x, "input_modified", "in place"),
]


@pytest.mark.parametrize("name,fn,code,text", WRONG, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_each_mistake_is_named(name, fn, code, text):
    v = _first_failure(name, fn, code)
    assert text in v.message, v.message
    assert "expected" in v.message
    _check_raises(name, fn, code)


@pytest.mark.parametrize("name,fn,code,text",
                         [w for w in WRONG if w[0] == "conv2d" and w[2] != "input_modified"],
                         ids=[f"{w[2]}-{i}" for i, w in enumerate(w for w in WRONG
                                                                 if w[0] == "conv2d" and w[2] != "input_modified")])
def test_conv2d_mistakes_are_named_on_hidden_cases_too(name, fn, code, text):
    _first_failure(name, fn, code, hidden=True)


@pytest.mark.parametrize("name", ["pad2d", "conv2d"])
def test_float64_for_float32_fails_only_on_hidden_float32_cases(name):
    ref = LOOPS[name]
    upcast = lambda *args, **kw: ref(*[a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in args], **kw)
    A02.check(name, upcast)
    v = _first_failure(name, upcast, "wrong_dtype", hidden=True)
    assert "float32" in v.message and "float64" in v.message


# ----------------------------------------------------------------------------- a size is an int

def test_a_wrong_size_says_both_numbers_and_the_mistake():
    case = next(c for c in A02.cases("conv_output_size") if c.label.startswith("size=8, kernel_size=3, stride=2"))
    v = A02.judge(case, 5)
    assert not v.passed and v.diagnosis == "floor_vs_ceil"
    assert "the value is wrong: expected 4, got 5" in v.message
    assert "  stride = 2" in v.message and "  padding = 1" in v.message and "  size = 8" in v.message
    assert "index ()" not in v.message


def test_a_size_must_be_an_int():
    case = A02.cases("conv_output_size")[0]
    assert A02.judge(case, 5).passed and A02.judge(case, np.int64(5)).passed
    for wrong in (5.0, np.float64(5), True):
        v = A02.judge(case, wrong)
        assert not v.passed and v.diagnosis in ("not_integer", None), v.message
    v = A02.judge(case, 5.0)
    assert v.diagnosis == "not_integer" and "return an int" in v.message
    with pytest.raises(AssertionError, match=r"\[not_integer\]"):
        A02.check("conv_output_size", lambda *a, **k: float(size_count(*a, **k)))


def test_a_pair_of_sizes_is_a_pair():
    case = next(c for c in A02.cases("conv_output_size") if isinstance(c.args[0], tuple))
    assert A02.judge(case, (14, 18)).passed and A02.judge(case, [14, 18]).passed
    v = A02.judge(case, 14)
    assert not v.passed and "a pair of output sizes" in v.message and "expected an output of shape (2,)" in v.message


@pytest.mark.parametrize("output", [None, "4", [4, 4], 4.5, float("nan"), {"size": 4}, object()])
def test_hostile_sizes_fail_cleanly(output):
    case = A02.cases("conv_output_size")[3]
    v = A02.judge(case, output)
    assert isinstance(v, checks.Verdict) and not v.passed and "conv_output_size" in v.message


def test_messages_show_the_options_of_a_case():
    case = next(c for c in A02.cases("conv2d") if c.kwargs.get("padding") == "same")
    msg = A02.judge(case, np.zeros((1, 1, 3, 4))).message
    assert "padding = 'same'" in msg and "x = " in msg and "expected an output of shape (1, 1, 4, 5)" in msg
