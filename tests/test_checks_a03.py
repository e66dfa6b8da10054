"""What only assignment 03's checks have (the one suite, tests/test_checks.py, runs the rest from
tests/variants/a03.py): the reference answers against PyTorch, the geometry the cases cover, stochastic
pooling's judge of a random sample (every window, the frequency test), and the pair judge's leniencies."""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import checks
from cnnkit import reference as R
from judging import HOSTILE
from variants.a03 import TORCH, as_tensor, geometry, sampler, stochastic_loops

A03 = checks.for_assignment("03")
NAMES = checks.GRADED["03"]
SEEDS = (0, 1, 7)


def test_assignment_03_grades_the_functions_of_the_course():
    assert NAMES == ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "global_avg_pool2d",
                     "stochastic_pool2d")
    assert all(c.assignment == "03" for c in A03.cases("max_pool2d"))


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
        x = as_tensor(case.args[0]).double()
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
def test_hidden_cases_keep_their_dtypes_and_differ_across_seeds(name):
    a, b, c = (A03.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    for u, v in zip(a, b):
        for p, q in zip(u.args, v.args):
            assert type(p) is type(q)
            if isinstance(p, np.ndarray):
                assert p.dtype == q.dtype and np.array_equal(p, q)
    assert any(not np.array_equal(u.args[0], v.args[0]) for u, v in zip(a, c))   # shapes or values
    assert {u.args[0].dtype for u in a} == {np.dtype(np.float32), np.dtype(np.float64)}


def test_hidden_cases_cover_the_awkward_geometry():
    cases = A03.cases("max_pool2d", hidden=True)
    geo = [(c, *geometry(c.args[0], c.args[1], c.args[2] if len(c.args) > 2 else None)) for c in cases]
    assert any(len(c.args) == 2 for c in cases)                               # the default stride
    assert any(sh < kh for _, kh, kw, sh, sw, *_ in geo)                      # overlapping windows
    assert any(sh > kh for _, kh, kw, sh, sw, *_ in geo)                      # gaps
    assert any((c.args[0].shape[2] - kh) % sh for c, kh, kw, sh, sw, *_ in geo)   # ragged edges
    assert any(kh != kw for _, kh, kw, *_ in geo)                             # a non-square kernel
    ties = [c for c in cases if "ties" in c.label]
    assert ties and all(np.array_equal(c.args[0], np.round(c.args[0])) for c in ties)


def test_cases_are_picklable_and_the_judge_does_not_advance_their_generator():
    for case in A03.cases("stochastic_pool2d", hidden=True):
        pickle.loads(pickle.dumps(case))
    case = next(c for c in A03.cases("stochastic_pool2d") if isinstance(c.kwargs.get("rng"), np.random.Generator))
    state = copy.deepcopy(case.kwargs["rng"].bit_generator.state)
    checks.expected(case)
    checks.judge(case, np.zeros(1))
    assert case.kwargs["rng"].bit_generator.state == state


# ----------------------------------------------------------------------------- stochastic pooling

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
    always_max = sampler(lambda w, rng: int(np.argmax(w)))
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

def test_pair_judge_accepts_a_list_and_any_integer_dtype():
    case = A03.cases("max_pool2d_with_indices")[2]
    y, i = checks.expected(case)
    assert checks.judge(case, [y, i]).passed
    assert checks.judge(case, (y.tolist(), i.astype(np.int32))).passed



@pytest.mark.parametrize("kind", HOSTILE)
def test_stochastic_judge_fails_cleanly_on_hostile_output_in_training(kind):
    """The suite meets a visible case in evaluation; a training case has a judge of its own."""
    case = next(c for c in A03.cases("stochastic_pool2d") if c.kwargs.get("training", True))
    v = checks.judge(case, HOSTILE[kind](checks.expected(case)))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert "stochastic_pool2d" in v.message


def test_messages_show_small_inputs_and_name_the_window():
    case = next(c for c in A03.cases("stochastic_pool2d") if "training (the default)" in c.label)
    msg = checks.judge(case, np.full((1, 1, 2, 2), 100.0)).message
    assert "x = " in msg and "kernel_size = 2" in msg and "one correct output" in msg
    assert "window" in msg
