"""The checks of assignment 05 (convolution as matrix multiplication) beyond the one checks suite
(tests/test_checks.py, with tests/variants/a05.py): the reference answers agree with PyTorch, the
cases hold the lectures' examples and the awkward geometry, and any geometry (hypothesis) is judged
right."""

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from cnnkit import checks
from cnnkit import reference as R
from cnnkit.checks.core import Case
from judging import HOSTILE, diagnosed
from variants.a05 import (LOOPS, WRONG, as_tensor, conv2d_gemm_one_product, conv2d_torch, geometry, im2col_loops,
                          im2col_strided, im2col_torch, kernel_major, toeplitz_1d_loops, toeplitz_1d_scipy,
                          toeplitz_matrix_blocks, toeplitz_matrix_impulses, toeplitz_matrix_loops)

A05 = checks.for_assignment("05")
NAMES = checks.GRADED["05"]
SEEDS = (0, 1, 7)


def test_assignment_05_grades_the_functions_of_the_course():
    assert NAMES == ("toeplitz_1d", "toeplitz_matrix", "im2col", "conv2d_gemm")
    assert all(c.assignment == "05" for c in A05.cases("im2col"))


# ----------------------------------------------------------------------------- the reference and PyTorch

def _all_cases(name):
    return A05.cases(name) + [c for s in SEEDS for c in A05.cases(name, seed=s, hidden=True)]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def test_toeplitz_1d_times_x_is_pytorchs_valid_cross_correlation():
    for case in _all_cases("toeplitz_1d"):
        k, n = case.args
        T = checks.expected(case)
        assert T.shape == (n - len(k) + 1, n) and T.dtype == k.dtype
        x = np.random.default_rng(n).standard_normal(n).astype(k.dtype)
        want = F.conv1d(as_tensor(x)[None, None], as_tensor(k)[None, None])[0, 0].numpy()
        np.testing.assert_allclose(T @ x, want, **_tol(k.dtype), err_msg=case.label)
        np.testing.assert_allclose(T @ x, R.correlate1d(x, k), **_tol(k.dtype))


def test_toeplitz_matrix_is_pytorchs_conv2d_on_flattened_images():
    for case in _all_cases("toeplitz_matrix"):
        w, shape = case.args
        T = checks.expected(case)
        x = np.random.default_rng(0).standard_normal((3,) + shape).astype(w.dtype)
        want = F.conv2d(as_tensor(x), as_tensor(w)).numpy()
        assert T.shape == (want[0].size, x[0].size) and T.dtype == w.dtype
        np.testing.assert_allclose(x.reshape(3, -1) @ T.T, want.reshape(3, -1), **_tol(w.dtype), err_msg=case.label)


def test_im2col_and_conv2d_gemm_references_are_pytorchs_unfold_and_conv2d():
    for case in _all_cases("im2col"):
        got = checks.expected(case)
        np.testing.assert_array_equal(got, im2col_torch(*case.args, **case.kwargs), err_msg=case.label)
        assert got.dtype == case.args[0].dtype
    for case in _all_cases("conv2d_gemm"):
        got = checks.expected(case)
        want = conv2d_torch(*case.args, **case.kwargs)
        np.testing.assert_allclose(got, want, **_tol(case.args[0].dtype), err_msg=case.label)
        assert got.dtype == case.args[0].dtype


def test_lecture_examples_are_visible_cases():
    T = checks.expected(A05.cases("toeplitz_1d")[0])
    np.testing.assert_array_equal(T, [[5, 6, 7, 0], [0, 5, 6, 7]])
    np.testing.assert_array_equal(T @ [1, 2, 3, 4], [38, 56])
    T2 = checks.expected(A05.cases("toeplitz_matrix")[0])
    np.testing.assert_array_equal(T2 @ np.arange(9), [19, 25, 37, 43])
    cols = checks.expected(A05.cases("im2col")[0])[0]
    np.testing.assert_array_equal(cols[:, 0], [0, 1, 3, 4])          # the top-left window, row by row
    np.testing.assert_array_equal(checks.expected(A05.cases("conv2d_gemm")[0])[0, 0], [[19, 25], [37, 43]])


# ----------------------------------------------------------------------------- cases

@pytest.mark.parametrize("name", NAMES)
def test_hidden_cases_come_in_both_dtypes_and_their_values_change_with_the_seed(name):
    # that they are reproducible and pickle is the suite's (tests/test_checks.py)
    a, c = (A05.cases(name, seed=s, hidden=True) for s in (3, 4))
    assert any(not np.array_equal(u.args[0], v.args[0]) for u, v in zip(a, c))
    assert {u.args[0].dtype for u in a} == {np.dtype(np.float32), np.dtype(np.float64)}


def test_hidden_cases_cover_the_awkward_geometry():
    im = A05.cases("im2col", hidden=True)
    geo = [(c, *geometry(c.args[0], c.args[1], *(c.args[2:] or (c.kwargs.get("stride", 1),
                                                                c.kwargs.get("padding", 0))))) for c in im]
    assert any(sH > 1 for _, kH, kW, sH, *_ in geo) and any(pH > 0 for _, kH, kW, sH, sW, pH, *_ in geo)
    assert any(kH != kW for _, kH, kW, *_ in geo) and any(sH != sW for _, kH, kW, sH, sW, *_ in geo)
    assert any((c.args[0].shape[2] + 2 * pH - kH) % sH for c, kH, kW, sH, sW, pH, *_ in geo)   # ragged edges
    assert any(len(c.args) == 4 for c in im)                                                   # by position
    # a transposed (L, C*kH*kW) layout has the right shape in some case, so only its values give it away
    assert any(checks.expected(c).shape[1] == checks.expected(c).shape[2] for c in im)
    gemm = A05.cases("conv2d_gemm", hidden=True)
    bias_fits = [c for c in gemm if len(c.args) > 2 and c.args[2] is not None
                 and c.args[1].shape[0] == np.prod(checks.expected(c).shape[2:])]
    assert {c.args[0].dtype for c in bias_fits} == {np.dtype(np.float32), np.dtype(np.float64)}
    assert any(len(c.args) == 3 and c.args[2] is None for c in gemm)                           # b=None given
    tm = A05.cases("toeplitz_matrix", hidden=True)
    assert any(c.args[0].shape[0] > 1 and c.args[0].shape[1] > 1 for c in tm)
    assert any(c.args[0].shape[2] != c.args[0].shape[3] for c in tm)


# ----------------------------------------------------------------------------- diagnoses
# each mistake of variants.a05.WRONG is named by the suite on the visible cases; here on the hidden
# ones too, but for an input changed in place and the missing batch axis (whose batch of one a hidden
# case need not have)

@pytest.mark.parametrize("name,fn,code,text", [w for w in WRONG if w[2] not in ("input_modified", "wrong_shape")],
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)
                              if w[2] not in ("input_modified", "wrong_shape")])
def test_each_mistake_is_named_on_hidden_cases_too(name, fn, code, text):
    diagnosed(A05, name, fn, code, hidden=True, skip_raising=True)


def test_the_floor_vs_ceil_mistake_of_conv2d_gemm_is_named_by_its_shape():
    case = next(c for c in A05.cases("conv2d_gemm") if "everything" in c.label)
    ref = checks.expected(case)
    v = checks.judge(case, np.zeros(ref.shape[:2] + (ref.shape[2] + 1, ref.shape[3])))
    assert not v.passed and v.diagnosis in ("floor_vs_ceil", "wrong_size")


@pytest.mark.parametrize("name", NAMES)
def test_float64_for_float32_fails_only_on_hidden_float32_cases(name):
    # the suite upcasts the reference; here the loops, which pass 05's float64 visible cases
    impl = lambda *a, **kw: LOOPS[name](*(v.astype(np.float64) if isinstance(v, np.ndarray) else v for v in a), **kw)
    A05.check(name, impl)
    diagnosed(A05, name, impl, "wrong_dtype", hidden=True)


# ----------------------------------------------------------------------------- any geometry (hypothesis)

@st.composite
def im2col_cases(draw):
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kH, kW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sH, sW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pH, pW = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kH - 2 * pH), 9))
    W = draw(st.integers(max(1, kW - 2 * pW), 9))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).standard_normal((N, C, H, W)).astype(dtype)
    return Case("im2col", (x, (kH, kW)), {"stride": (sH, sW), "padding": (pH, pW)}, "hypothesis", "05")


@given(im2col_cases())
def test_any_geometry_correct_im2col_passes_and_kernel_major_rows_are_named(case):
    x, k = case.args
    assert checks.judge(case, im2col_loops(x, k, **case.kwargs)).passed
    assert checks.judge(case, im2col_strided(x, k, **case.kwargs)).passed
    ref = checks.expected(case)
    np.testing.assert_array_equal(ref, im2col_torch(x, k, **case.kwargs))
    # a wrong layout is named whenever it changes the output (windows of padding zeros alone, or
    # a symmetric cols, can hide it)
    rows_kernel_first = kernel_major(x, k, **case.kwargs)
    if not np.array_equal(rows_kernel_first, ref):
        v = checks.judge(case, rows_kernel_first)
        assert not v.passed and v.diagnosis == "row_order", v.message
    rows_as_windows = ref.transpose(0, 2, 1)
    if rows_as_windows.shape != ref.shape or not np.array_equal(rows_as_windows, ref):
        v = checks.judge(case, rows_as_windows)
        assert not v.passed and v.diagnosis == "transposed", v.message


@given(st.integers(1, 6), st.integers(0, 8), st.integers(0, 2 ** 16))
def test_any_size_toeplitz_1d_flipped_and_transposed_are_named(m, extra, seed):
    k = np.random.default_rng(seed).standard_normal(m)
    n = m + extra
    case = Case("toeplitz_1d", (k, n), {}, "hypothesis", "05")
    assert checks.judge(case, toeplitz_1d_scipy(k, n)).passed
    if m > 1:
        v = checks.judge(case, toeplitz_1d_loops(k[::-1].copy(), n))
        assert not v.passed and v.diagnosis == "flipped_kernel", v.message
    if m > 1:   # for m = 1, T = k[0] * I is its own transpose
        v = checks.judge(case, toeplitz_1d_loops(k, n).T)
        assert not v.passed and v.diagnosis == "transposed", v.message


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 1), st.integers(0, 2 ** 16))
def test_any_geometry_conv2d_gemm_unreshaped_output_is_named(N, C, D, k, s, p, seed):
    rng = np.random.default_rng(seed)
    H, W = rng.integers(k, k + 6, size=2)
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((D, C, k, k)), rng.standard_normal(D)
    case = Case("conv2d_gemm", (x, w, b), {"stride": s, "padding": p}, "hypothesis", "05")
    ref = checks.expected(case)
    np.testing.assert_allclose(ref, conv2d_torch(x, w, b, stride=s, padding=p), rtol=1e-10, atol=1e-10)
    assert checks.judge(case, conv2d_gemm_one_product(x, w, b, stride=s, padding=p)).passed
    assume(ref.shape[2] * ref.shape[3] > 1)
    v = checks.judge(case, ref.reshape(N, D, -1))
    assert not v.passed and v.diagnosis == "not_reshaped", v.message


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 3),
       st.integers(0, 3), st.integers(0, 2 ** 16))
def test_any_geometry_toeplitz_matrix_is_the_layer(D, C, kH, kW, dh, dw, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((D, C, kH, kW))
    shape = (C, kH + dh, kW + dw)
    case = Case("toeplitz_matrix", (w, shape), {}, "hypothesis", "05")
    T = checks.expected(case)
    np.testing.assert_allclose(T, toeplitz_matrix_impulses(w, shape), rtol=1e-12, atol=1e-12)
    assert checks.judge(case, toeplitz_matrix_blocks(w, shape)).passed
    if kH > 1 or kW > 1:
        v = checks.judge(case, toeplitz_matrix_loops(w[:, :, ::-1, ::-1].copy(), shape))
        assert not v.passed and v.diagnosis == "flipped_kernel", v.message


# ----------------------------------------------------------------------------- hostile output
# the suite meets each function's first case with judging.HOSTILE; here its second case too (another
# shape of answer), and the right numbers in an object array, which pass as for every judge

@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("name", NAMES)
def test_judge_fails_cleanly_on_hostile_output_for_the_second_case_too(name, kind):
    case = A05.cases(name)[1]
    v = checks.judge(case, HOSTILE[kind](checks.expected(case)))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert name in v.message


@pytest.mark.parametrize("name", NAMES)
def test_the_right_numbers_in_an_object_array_are_judged_like_any_array(name):
    for case in A05.cases(name)[:2]:
        v = checks.judge(case, checks.expected(case).astype(object))
        assert isinstance(v, checks.Verdict) and v.passed, v.message


def test_messages_show_small_inputs_and_the_expected_matrix():
    case = A05.cases("toeplitz_1d")[0]
    msg = checks.judge(case, np.zeros((2, 4))).message
    assert "k = [5. 6. 7.]" in msg and "n = 4" in msg and "expected" in msg
    case = A05.cases("im2col")[2]
    msg = checks.judge(case, kernel_major(*case.args)).message
    assert "x = " in msg and "kernel_size = 2" in msg and "[row_order]" in msg
