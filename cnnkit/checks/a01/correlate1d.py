"""01's correlate1d(x, k): valid 1-D cross-correlation, x (n,), k (m,) -> y (n - m + 1,), y[n] = sum_m x[n + m] k[m]."""

from functools import partial

from ... import reference as R
from ..core import Graded, register
from . import ASSIGNMENT
from .signal import case_1d, hidden_1d, hidden_sizes_1d, signal_mistakes, visible_1d


def visible():
    c = partial(case_1d, "correlate1d")
    return visible_1d("correlate1d", [c([0, 1, 4, 9, 16], [-1, 0, 1], "differences two apart")])


# its mistakes: these flips of the kernel, and (signal_mistakes) the other modes' results and sizes one off
FLIPS = [(lambda k: k[::-1], "the kernel is flipped: this is true convolution, but cross-correlation "
                             "slides k as it is, y[n] = sum_m x[n + m] k[m]")]


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
    return hidden_1d("correlate1d", rng, hidden_sizes_1d(rng))


register(Graded("correlate1d", ASSIGNMENT, visible, hidden, R.correlate1d,
                signal_mistakes("correlate1d", "valid", FLIPS)))
