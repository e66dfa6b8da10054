"""Checks that grade students' functions against `cnnkit.reference`.

    checks.GRADED                               {"01": ("convolve1d", ...)}: graded functions per assignment
    checks.cases(name, seed=0, hidden=False)    the inputs: fixed visible cases, or random hidden ones
    checks.expected(case)                       the reference answer
    checks.judge(case, output, inputs_after=None) -> Verdict(passed, message, diagnosis)
    checks.check(name, fn, seed=0, hidden=False)  run fn on every case; AssertionError lists all failures

`cases` and `judge` work on plain NumPy arrays only, so the student's code can run elsewhere (a
sandbox) and only its output arrays need to come back to be judged. Each assignment has its own
module (a01, ...) that registers its cases and the typical mistakes that `judge` recognises.
"""

from . import a01
from .core import Case, Verdict, Mistake, cases, check, expected, judge

__all__ = ["GRADED", "Case", "Verdict", "Mistake", "cases", "expected", "judge", "check"]

GRADED = {
    a01.ASSIGNMENT: a01.FUNCTIONS,
}
