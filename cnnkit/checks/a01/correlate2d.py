"""01's correlate2d(x, k): valid 2-D cross-correlation, x (H, W), k (kH, kW) -> y (H - kH + 1, W - kW + 1)."""

from ... import reference as R
from ..core import Graded, register
from . import ASSIGNMENT
from .signal import hidden_2d, signal_mistakes, visible_2d


def visible():
    return visible_2d("correlate2d")


# its mistakes: these flips of the kernel, and (signal_mistakes) the other modes' results and sizes one off
FLIPS = [(lambda k: k[::-1, ::-1], "the kernel is flipped (rotated by 180°): this is true convolution, "
                                   "but cross-correlation uses k as it is"),
         (lambda k: k[::-1, :], "the kernel is flipped upside down (k[::-1]); cross-correlation uses k "
                                "as it is"),
         (lambda k: k[:, ::-1], "the kernel is flipped left-right (k[:, ::-1]); cross-correlation uses k "
                                "as it is")]


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
    return hidden_2d("correlate2d", rng)


register(Graded("correlate2d", ASSIGNMENT, visible, hidden, R.correlate2d,
                signal_mistakes("correlate2d", "valid", FLIPS)))
