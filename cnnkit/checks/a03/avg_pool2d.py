"""avg_pool2d(x, kernel_size, stride=None): the mean of each window.

Its cases and geometry mistakes are those of every pooling (`pooling`); its own mistakes are the
divisor (the sum, the kernel's side) and max pooling in its place.
"""

import numpy as np

from ... import reference as R
from ..core import Graded, Mistake, register
from . import ASSIGNMENT
from .pooling import ARGS, geometry, geometry_mistakes, hidden_pool, visible_pool


def visible():
    return visible_pool("avg_pool2d")


def avg_mistakes(case, ref):
    x = case.args[0]
    k, s, _ = geometry(case)
    n = k[0] * k[1]
    found = [Mistake("avg_sum", f"this is the sum of each window; the average divides it by the number of pixels "
                                f"kH*kW = {n}", value=ref * n)]
    if k[0] != n:
        found.append(Mistake("avg_divisor", f"the sums were divided by {k[0]} (the kernel's side), not by the "
                                            f"number of pixels in the window, kH*kW = {n}", value=ref * n / k[0]))
    found += geometry_mistakes(case, ref, R.avg_pool2d, np.mean)
    found.append(Mistake("wrong_reduction", "this is the largest value of each window (max pooling); average pooling "
                                            "takes the mean", value=R.max_pool2d(x, k, s)))
    return found


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    return hidden_pool("avg_pool2d", rng, ties=False)


register(Graded("avg_pool2d", ASSIGNMENT, visible, hidden, R.avg_pool2d, avg_mistakes, argnames=ARGS))
