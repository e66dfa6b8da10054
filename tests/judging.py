"""What the checks' tests share: running a deliberately wrong implementation through the judge, and
outputs that try to fool it."""

import numpy as np
import pytest


def verdicts(checks, name, fn, hidden=False, seed=0, skip_raising=False):
    """The judge's verdict on `fn` for every case of `name` (`checks`: a `for_assignment` namespace).

    skip_raising: a wrong implementation often crashes on some cases (an index past the end); those
    are the student's traceback to read, so they are left out instead of failing the test.
    """
    out = []
    for case in checks.cases(name, seed=seed, hidden=hidden):
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in case.args)
        try:
            result = fn(*args, **case.kwargs)
        except Exception:
            if not skip_raising:
                raise
            continue
        out.append(checks.judge(case, result, inputs_after=args))
    return out


def diagnosed(checks, name, fn, code, hidden=False, seed=0, skip_raising=False):
    """The failing verdicts with diagnosis `code`, asserting there is one and that each message names it."""
    failing = [v for v in verdicts(checks, name, fn, hidden, seed, skip_raising) if not v.passed]
    assert failing, f"{name}: the wrong implementation passed every case it ran on"
    hits = [v for v in failing if v.diagnosis == code]
    assert hits, f"{name}: no {code}; got {[v.diagnosis for v in failing]}\n{failing[0].message}"
    assert all(f"[{code}]" in v.message for v in hits)
    return hits


def check_raises(checks, name, fn, code, hidden=False, **others):
    """`checks.check` on a wrong implementation: it must fail, naming `code`; returns its message.
    `others`: the other graded objects the check needs (06's training cases use train_one_epoch)."""
    with pytest.raises(AssertionError) as e:
        checks.check(name, fn, hidden=hidden, **others)
    assert f"[{code}]" in str(e.value)
    return str(e.value)


class Liar:
    """Claims to equal everything; refuses to become an array."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array for you")


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __array__(self, *args, **kwargs):
        raise RuntimeError("never called")


def object_array(shape, make):
    a = np.empty(shape, dtype=object)
    for i in np.ndindex(shape):
        a[i] = make()
    return a


# outputs no correct function returns, which every judge must fail cleanly (no crash, no pass)
HOSTILE = {
    "liar": lambda ref: Liar(),
    "none": lambda ref: None,
    "strings": lambda ref: np.full(ref.shape, "1"),
    "huge": lambda ref: np.broadcast_to(np.float64(1.0), (10 ** 6, 10 ** 6)),
    "nans": lambda ref: np.full(ref.shape, np.nan),
    "infs": lambda ref: np.full(ref.shape, np.inf),
    "lying_subclass": lambda ref: np.zeros(ref.shape).view(LyingArray),
    "complex": lambda ref: ref.astype(complex),
    "tuple": lambda ref: (ref, ref),
    "dict": lambda ref: {"y": ref},
    "object_liars": lambda ref: object_array(ref.shape, Liar),
}
