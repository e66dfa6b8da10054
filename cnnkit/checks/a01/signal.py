"""What 01's four single-channel functions share: their fixed inputs, their cases and their mistakes.

convolve1d and correlate1d take x (n,), k (m,); correlate2d and convolve2d take x (H, W), k (kH, kW).
Each function's module says what is its own: the kernel flips that are its mistakes, and for the 1-D
ones the visible cases (and for convolve1d the hidden size) only it has.
"""

import numpy as np

from ... import reference as R
from ..common import F64, arr, attempt, both_dtypes, dtype_name, rand, short_list
from ..core import Case, Mistake, off_by_one

# ----------------------------------------------------------------------------- fixed inputs


def binary_image():
    """The 7x7 binary image: a filled 3x3 square whose right column continues down as a bar."""
    img = np.zeros((7, 7))
    img[1:4, 1:4] = 1
    img[4:6, 3] = 1
    return img


# a vertical-edge filter: not symmetric under a 180° rotation, so a flipped kernel shows
EDGE = arr([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
# the lecture's 2-D example: correlate2d(LECTURE_X2, LECTURE_K2) = [[19, 25], [37, 43]]
LECTURE_X2 = np.arange(9, dtype=F64).reshape(3, 3)
LECTURE_K2 = arr([[0, 1], [2, 3]])


# ----------------------------------------------------------------------------- 1-D

def case_1d(name, x, k, note=""):
    """A visible case of a 1-D function, labelled by its (short) x and k."""
    return Case(name, (arr(x), arr(k)), {}, f"x={short_list(x)}, k={short_list(k)}" + (f" ({note})" if note else ""))


def visible_1d(name, second, last=()):
    """The visible cases of a 1-D function: the lecture's example, then `second` (the function's own),
    the shared ones, and `last` (its own too)."""
    c = lambda x, k, note="": case_1d(name, x, k, note)
    return ([c([1, 2, 3, 4], [5, 6, 7], "the lecture's example")] + list(second)
            + [c([1, 2, 3, 4, 5], [1, -1], "a kernel of even length"),
               c([3, 1, 2], [2], "a kernel of length 1"),
               c([1, 2, 3], [1, 0, -1], "kernel as long as x")]
            + list(last))


# ----------------------------------------------------------------------------- 2-D

def visible_2d(name):
    """The visible cases of a 2-D function: the lecture's example, the binary image, 1x2, 2x1 and 1x1 kernels."""
    img = binary_image()
    return [Case(name, (LECTURE_X2.copy(), LECTURE_K2.copy()), {},
                 "x=arange(9).reshape(3,3), k=[[0,1],[2,3]] (the lecture's example)"),
            Case(name, (img, EDGE.copy()), {}, "a 7x7 binary image (a square with a bar), k=[[1,0,-1]]*3 "
                                               "(a vertical-edge filter)"),
            Case(name, (np.arange(12, dtype=F64).reshape(3, 4), arr([[1, -1]])), {},
                 "x=arange(12).reshape(3,4), k=[[1,-1]] (a 1x2 kernel)"),
            Case(name, (np.arange(12, dtype=F64).reshape(4, 3), arr([[1], [2]])), {},
                 "x=arange(12).reshape(4,3), k=[[1],[2]] (a 2x1 kernel)"),
            Case(name, (arr([[1, 2], [3, 4]]), arr([[2]])), {}, "x=[[1,2],[3,4]], k=[[2]] (a 1x1 kernel)")]


# ----------------------------------------------------------------------------- mistakes

def signal_mistakes(name, mode, flips):
    """The mistakes (case, expected) -> [Mistake] of a single-channel function `name` asked for `mode`.

    flips: (kernel transform, description) pairs: the kernel flipped where it must not be (or not
    flipped where it must), all the reference function applied to a transformed kernel.
    """
    fn = getattr(R, name)
    rule = {"full": "every position where x and k overlap at all, length n + m - 1",
            "valid": "only positions where k lies entirely inside x, length n - m + 1"}[mode]

    def mistakes(case, ref):
        x, k = case.args
        found = []
        for transform, text in flips:
            found.append(Mistake("flipped_kernel", text, value=attempt(fn, x, transform(k), mode=mode)))
        for other in ("full", "valid", "same"):
            if other != mode:
                v = attempt(fn, x, k, mode=other)
                found.append(Mistake("wrong_size", f"the output is the '{other}' mode result; {name} asks for "
                                                   f"'{mode}' mode ({rule})", value=v))
                if v is not None:
                    found.append(Mistake("wrong_size", f"the output has the shape of the '{other}' mode result; "
                                                       f"{name} asks for '{mode}' mode ({rule})", shape=v.shape))
        found += off_by_one(ref.shape, f"({mode} mode: {rule}); check the range of your loop",
                            axes=[(axis, f"along axis {axis}") for axis in range(ref.ndim)])
        return found

    return mistakes


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden_sizes_1d(rng):
    """[(n, m)]: the lengths of x and k of the hidden 1-D cases every 1-D function has."""
    return [(int(rng.integers(5, 12)), 3), (int(rng.integers(5, 12)), 4), (int(rng.integers(3, 9)), 1),
            (6, 6), (int(rng.integers(8, 16)), 2), (int(rng.integers(8, 16)), 5)]


def hidden_1d(name, rng, sizes):
    """Random x (n,) and k (m,) for every (n, m) of `sizes`, in float64 and float32."""
    return [Case(name, (rand(rng, n, dt), rand(rng, m, dt)), {},
                 f"random {dtype_name(dt)} x of shape ({n},), k of shape ({m},)")
            for (n, m), dt in both_dtypes(sizes)]


def hidden_2d(name, rng):
    """Random x (H, W) and k (kH, kW): square, even, 1x1, non-square and one-row kernels, in both dtypes."""
    r = lambda lo, hi: int(rng.integers(lo, hi))
    sizes = [(r(5, 9), r(5, 9), 3, 3), (r(5, 8), r(5, 8), 2, 2), (r(3, 7), r(3, 7), 1, 1),
             (r(4, 7), r(5, 8), 2, 3), (r(5, 8), r(4, 7), 3, 1), (4, 5, 4, 5), (r(5, 8), r(6, 9), 1, 4)]
    return [Case(name, (rand(rng, (H, W), dt), rand(rng, (kh, kw), dt)), {},
                 f"random {dtype_name(dt)} x of shape ({H}, {W}), k of shape ({kh}, {kw})")
            for (H, W, kh, kw), dt in both_dtypes(sizes)]
