"""The checks of assignment 01, and the core's behaviour seen through them: what the one checks suite
(tests/test_checks.py, with tests/variants/a01.py) does not cover."""

import numpy as np
import pytest

from cnnkit import checks
from cnnkit import reference as R
from judging import check_raises, diagnosed
from variants.a01 import WRONG

# conv2d is graded in 01 and 02: every check here is bound to assignment 01
A01 = checks.for_assignment("01")
NAMES = A01.functions


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
def test_hidden_cases_come_in_both_dtypes_and_their_values_change_with_the_seed(name):
    # that they are reproducible and pickle is the suite's (tests/test_checks.py)
    a, c = (A01.cases(name, seed=s, hidden=True) for s in (3, 4))
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
# each mistake of variants.a01.WRONG is named by the suite; here: by the first case it fails, which
# shows the expected answer (none of them crashes on a case)

def _first_failure(name, fn, code, hidden=False):
    return diagnosed(A01, name, fn, code, hidden)[0]


@pytest.mark.parametrize("name,fn,code,text", WRONG, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_the_first_case_a_mistake_fails_names_it_and_shows_the_expected_answer(name, fn, code, text):
    v = _first_failure(name, fn, code)
    assert text in v.message
    assert "expected" in v.message


@pytest.mark.parametrize("name", NAMES)
def test_float64_for_float32_fails_only_on_hidden_float32_cases(name):
    # the suite names the mistake on the hidden cases; 01's visible cases are float64, where it is right
    ref = getattr(R, name)
    upcast = lambda *args: ref(*[None if a is None else a.astype(np.float64) for a in args])
    A01.check(name, upcast)
    v = _first_failure(name, upcast, "wrong_dtype", hidden=True)
    assert "float32" in v.message and "float64" in v.message
    msg = check_raises(A01, name, upcast, "wrong_dtype", hidden=True)
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
# the suite meets every function with judging.HOSTILE; these are the shapes of a wrong answer a
# student's list or string takes besides

MORE_HOSTILE = {
    "strings_in_a_list": lambda ref: [["19", "25"], ["37", "43"]],
    "huge_same_ndim": lambda ref: np.zeros((3000, 3000)),
    "string": lambda ref: "19 25 37 43",
    "ragged": lambda ref: [[19, 25], [37]],
    "generator": lambda ref: (v for v in ref),
    "list_with_none": lambda ref: [[19, 25], [37, None]],
}


@pytest.mark.parametrize("kind", MORE_HOSTILE)
def test_judge_fails_cleanly_on_lists_strings_and_other_hostile_output(kind):
    case = A01.cases("correlate2d")[0]
    v = checks.judge(case, MORE_HOSTILE[kind](checks.expected(case)))
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
