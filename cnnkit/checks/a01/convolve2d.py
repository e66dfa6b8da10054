"""01's convolve2d(x, k): valid 2-D convolution, the kernel rotated by 180°, x (H, W), k (kH, kW) ->
y (H - kH + 1, W - kW + 1)."""

from ... import reference as R
from ..core import Graded, register
from . import ASSIGNMENT
from .signal import hidden_2d, signal_mistakes, visible_2d


def visible():
    return visible_2d("convolve2d")


# its mistakes: these flips of the kernel, and (signal_mistakes) the other modes' results and sizes one off
FLIPS = [(lambda k: k[::-1, ::-1], "the kernel is not flipped: this is cross-correlation, but true "
                                   "convolution rotates the kernel by 180° (k[::-1, ::-1])"),
         # convolve(x, T(k)) is correlate(x, rot180(T(k))): k[::-1, :] here means the columns
         # only were flipped before correlating, and the reverse
         (lambda k: k[::-1, :], "the kernel is flipped left-right only (k[:, ::-1]); convolution "
                                "flips both axes (k[::-1, ::-1])"),
         (lambda k: k[:, ::-1], "the kernel is flipped upside down only (k[::-1]); convolution "
                                "flips both axes (k[::-1, ::-1])")]


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
    return hidden_2d("convolve2d", rng)


register(Graded("convolve2d", ASSIGNMENT, visible, hidden, R.convolve2d,
                signal_mistakes("convolve2d", "valid", FLIPS)))
