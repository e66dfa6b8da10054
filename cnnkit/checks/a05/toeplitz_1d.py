"""05's toeplitz_1d(k, n): k (m,), n the signal length -> T (n - m + 1, n), T[i, i + j] = k[j], so that
T @ x == correlate1d(x, k) for every x of length n."""

import numpy as np

from ... import reference as R
from ..common import arr, both_dtypes, dtype_name, rand, short_list
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT


def t1_case(k, n, note="", prefix=""):
    kk = np.asarray(k)
    what = f"k={short_list(kk)}" if not prefix else f"{prefix}k of shape {kk.shape}"
    return Case("toeplitz_1d", (kk, n), {}, f"{what}, n={n}" + (f" ({note})" if note else ""))


def visible():
    c = t1_case
    return [c(arr([5, 6, 7]), 4, "the lecture's example: T @ [1, 2, 3, 4] = [38, 56]"),
            c(arr([1, -1]), 5, "differences of neighbours"),
            c(arr([1, 2, 3]), 6),
            c(arr([2]), 3, "a kernel of length 1: 2 times the identity"),
            c(arr([1, 0, -1]), 3, "a kernel as long as x: one row"),
            c(arr([4, 3, 2, 1]), 7)]


def _band(k, rows, n, sign=1):
    """The rows x n matrix holding k[j] on diagonal sign*j (above the main one for sign=1)."""
    T = np.zeros((rows, n), dtype=k.dtype)
    for j, v in enumerate(k):
        T += v * np.eye(rows, n, sign * j, dtype=k.dtype)
    return T


def mistakes(case, ref):
    k, n = case.args
    m = len(k)
    rows = n - m + 1
    rule = "row i holds the kernel from column i on, T[i, i + j] = k[j], so that (T @ x)[i] = sum_j k[j] x[i + j]"
    found = [
        Mistake("flipped_kernel", f"each row holds the kernel reversed (k[m-1], ..., k[0]): T @ x is then the true "
                                  f"convolution, with the kernel flipped; cross-correlation reads k forwards: {rule}",
                value=R.toeplitz_1d(k[::-1], n)),
        Mistake("shift_direction", f"the kernel went on the diagonals BELOW the main one (T[i, i - j] = k[j]): the "
                                   f"rows shift the wrong way and the kernel falls off the left edge; k[j] goes on "
                                   f"the j-th diagonal ABOVE the main one (np.eye(rows, n, j)): {rule}",
                value=_band(k, rows, n, -1)),
        Mistake("shift_direction", f"the rows are in reverse order: the kernel moves from right to left as i grows; "
                                   f"output i starts at input i: {rule}", value=ref[::-1]),
        Mistake("shift_direction", f"the matrix is mirrored left to right: row i reads x backwards from the end; "
                                   f"{rule}", value=ref[:, ::-1]),
        Mistake("transposed", f"T is transposed: it maps x (n values) to the n - m + 1 outputs, so it has "
                              f"n - len(k) + 1 = {rows} rows and n = {n} columns; {rule}", value=ref.T),
        Mistake("wrong_size", f"T has n rows, one per input sample, and its last rows hold a kernel cut off at the "
                              f"right edge; valid cross-correlation has n - len(k) + 1 = {rows} outputs, one row each: "
                              f"np.eye(n - m + 1, n, j) puts k[j] in place", value=_band(k, n, n)),
        Mistake("wrong_size", f"this is the (n + m - 1) x n matrix of FULL true convolution (column j holds the "
                              f"kernel from row j on); toeplitz_1d is VALID cross-correlation: {rule}, "
                              f"n - len(k) + 1 rows", value=_band(k, n + m - 1, n, -1)),
        Mistake("wrong_size", f"T has n rows; valid cross-correlation has n - len(k) + 1 = {rows} outputs, one row "
                              f"each", shape=(n, n)),
        Mistake("wrong_size", f"T has n + len(k) - 1 rows (full mode); valid cross-correlation has "
                              f"n - len(k) + 1 = {rows}", shape=(n + m - 1, n)),
    ]
    for d in (-1, 1):
        if rows + d > 0:
            found.append(Mistake("wrong_size", f"T has one row too {'few' if d < 0 else 'many'}: valid "
                                               f"cross-correlation has n - len(k) + 1 = {rows} outputs",
                                 shape=(rows + d, n)))
    return found


# ----------------------------------------------------------------------------- hidden cases
# what only the grader needs: the random cases that decide the score, never drawn by a visible check

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    sizes = [(3, r(4, 10)), (2, r(3, 9)), (1, r(2, 6)), (4, 4), (5, r(6, 12)), (r(2, 5), r(8, 14))]
    return [t1_case(rand(rng, m, dt), n, prefix=f"random {dtype_name(dt)} ")
            for (m, n), dt in both_dtypes(sizes)]


register(Graded("toeplitz_1d", ASSIGNMENT, visible, hidden, R.toeplitz_1d, mistakes, argnames=("k", "n")))
