"""The checks of assignment 02 (padding, stride, dilation) beyond the one checks suite
(tests/test_checks.py, with tests/variants/a02.py): PyTorch agrees with the reference answers, the
worked examples and every option are among the cases, and a size is judged as an int."""

import numpy as np
import pytest

from cnnkit import checks
from judging import diagnosed
from variants.a02 import LOOPS, TORCH, WRONG, size_count

# PyTorch's remark that "same" padding of an even kernel copies the input is not a problem here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

A02 = checks.for_assignment("02")
NAMES = A02.functions
SEEDS = (0, 1, 7)


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
def test_hidden_cases_are_many_and_come_in_both_dtypes(name):
    # that they are reproducible, differ across seeds and pickle is the suite's (tests/test_checks.py)
    a = A02.cases(name, seed=3, hidden=True)
    assert len(a) >= 12
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
# each mistake of variants.a02.WRONG is named by the suite (conv2d's on the hidden cases too); here:
# by the first case it fails (leaving out those it crashes on), which shows the expected answer

def _first_failure(name, fn, code, hidden=False):
    """A failing verdict with diagnosis `code`; cases the wrong implementation crashes on are skipped."""
    return diagnosed(A02, name, fn, code, hidden, skip_raising=True)[0]


@pytest.mark.parametrize("name,fn,code,text", WRONG, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_the_first_case_a_mistake_fails_names_it_and_shows_the_expected_answer(name, fn, code, text):
    v = _first_failure(name, fn, code)
    assert text in v.message, v.message
    assert "expected" in v.message


@pytest.mark.parametrize("name", ["pad2d", "conv2d"])
def test_float64_for_float32_fails_only_on_hidden_float32_cases(name):
    # the suite upcasts the reference; here the loops, which pass 02's float64 visible cases
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
