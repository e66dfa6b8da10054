"""max_pool2d(x, kernel_size, stride=None): the largest value of each window.

Its cases and geometry mistakes are those of every pooling (`pooling`); its own mistakes are the wrong
reduction: the smallest value, the average, the largest absolute value.
"""

import numpy as np

from ... import reference as R
from ..core import Graded, Mistake, register
from . import ASSIGNMENT
from .pooling import ARGS, geometry, geometry_mistakes, hidden_pool, visible_pool


def visible():
    return visible_pool("max_pool2d")


def max_mistakes(case, ref):
    """The mistakes of max pooling's values (max_pool2d_with_indices's values have the same)."""
    x = case.args[0]
    found = geometry_mistakes(case, ref, R.max_pool2d, np.max)
    k, s, _ = geometry(case)
    found.append(Mistake("wrong_reduction", "this is the smallest value of each window; max pooling keeps the largest",
                         value=-R.max_pool2d(-x, k, s)))
    found.append(Mistake("wrong_reduction", "this is the average of each window (average pooling); max pooling keeps "
                                            "the largest value", value=R.avg_pool2d(x, k, s)))
    found.append(Mistake("wrong_reduction", "this is the largest absolute value; max pooling keeps the largest value, "
                                            "sign included", value=R.max_pool2d(np.abs(x), k, s)))
    return found


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    return hidden_pool("max_pool2d", rng, ties=True)


register(Graded("max_pool2d", ASSIGNMENT, visible, hidden, R.max_pool2d, max_mistakes, argnames=ARGS))
