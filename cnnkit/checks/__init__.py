"""Checks that grade students' functions against `cnnkit.reference`.

    checks.GRADED                               {"01": ("convolve1d", ...)}: graded functions per assignment
    checks.cases(name, seed=0, hidden=False)    the inputs: fixed visible cases, or random hidden ones
    checks.expected(case)                       the reference answer
    checks.judge(case, output, inputs_after=None) -> Verdict(passed, message, diagnosis)
    checks.check(name, fn, seed=0, hidden=False)  run fn on every case; AssertionError lists all failures
    checks.for_assignment("01")                 the same, for one assignment: .check(name, fn), .cases(name)

`cases`, `check` take `assignment=` where two assignments grade a function of the same name (conv2d
in 01 and 02); a notebook uses `checks = for_assignment("02")` and never has to say it again.

`cases` and `judge` work on plain NumPy arrays only, so the student's code can run elsewhere (a
sandbox) and only its output arrays need to come back to be judged. Each assignment has its own
module (a01, ...) that registers its cases and the typical mistakes that `judge` recognises.
"""

from functools import partial
from types import SimpleNamespace

from . import a01, a02, a03
from . import a04
from . import a05
from . import a06
from .core import Case, Verdict, Mistake, cases, check, expected, graded, judge

__all__ = ["GRADED", "Case", "Verdict", "Mistake", "cases", "expected", "judge", "check", "graded",
           "for_assignment"]

GRADED = {
    a01.ASSIGNMENT: a01.FUNCTIONS,
    a02.ASSIGNMENT: a02.FUNCTIONS,
    a03.ASSIGNMENT: a03.FUNCTIONS,
    a04.ASSIGNMENT: a04.FUNCTIONS,
    a05.ASSIGNMENT: a05.FUNCTIONS,
    a06.ASSIGNMENT: a06.FUNCTIONS,
}


def for_assignment(assignment):
    """`check`, `cases` and `graded` bound to one assignment, plus its `functions`."""
    assignment = str(assignment)
    if assignment not in GRADED:
        raise ValueError(f"unknown assignment {assignment!r}; assignments: {sorted(GRADED)}")
    return SimpleNamespace(assignment=assignment, functions=GRADED[assignment],
                           check=partial(check, assignment=assignment),
                           cases=partial(cases, assignment=assignment),
                           graded=partial(graded, assignment=assignment),
                           expected=expected, judge=judge)
