"""01's convolve1d(x, k): full 1-D convolution, x (n,), k (m,) -> y (n + m - 1,), y[n] = sum_m x[m] k[n - m]."""

from functools import partial

from ... import reference as R
from ..core import Graded, register
from . import ASSIGNMENT
from .signal import case_1d, hidden_1d, hidden_sizes_1d, signal_mistakes, visible_1d


def visible():
    c = partial(case_1d, "convolve1d")
    return visible_1d("convolve1d", [c([0, 1, 0, 0], [1, 2, 3], "an impulse: convolution copies the kernel")],
                      [c([1, -1], [1, 2, 3], "kernel longer than x")])


# its mistakes: these flips of the kernel, and (signal_mistakes) the other modes' results and sizes one off
FLIPS = [(lambda k: k[::-1], "the kernel is not flipped: this is cross-correlation, but true "
                             "convolution flips the kernel, y[n] = sum_m x[m] k[n - m]")]


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
    sizes = hidden_sizes_1d(rng)
    # full mode is defined for a kernel longer than x too
    sizes.append((int(rng.integers(2, 4)), int(rng.integers(4, 7))))
    return hidden_1d("convolve1d", rng, sizes)


register(Graded("convolve1d", ASSIGNMENT, visible, hidden, R.convolve1d,
                signal_mistakes("convolve1d", "full", FLIPS)))
