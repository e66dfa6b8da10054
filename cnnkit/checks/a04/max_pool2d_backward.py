"""max_pool2d_backward(dout, x, kernel_size, stride=None) -> dx: each window's gradient to its first maximum.

Its cases are those of both pooling backward passes (`pool_backward`), with ties and windows whose
maximum is shared; its own mistakes: the gradient to every tied maximum, split between them, to the
last one, to every pixel, or average pooling's gradient.
"""

from ... import reference as R
from ..core import Graded, Mistake, register
from . import ASSIGNMENT
from .pool_backward import ARGS, hidden_pool, pool_args, pool_common_mistakes, route, visible_pool


def visible():
    return visible_pool("max_pool2d_backward")


def max_back_mistakes(case, ref):
    dout, x, k, s, out, given = pool_args(case)
    area = k[0] * k[1]
    found = [Mistake("max_ties_all", "the gradient was sent to every element equal to the window's maximum; where a "
                                     "window holds its maximum more than once (a tie) only the first one, in "
                                     "row-major order, gets it (np.argmax), as in the forward pass's index",
                     value=route(dout, x, k, s, out, "all_ties")),
             Mistake("max_ties_split", "the gradient was split between the tied maxima of a window; the first "
                                       "maximum in row-major order (np.argmax) gets all of it",
                     value=route(dout, x, k, s, out, "split_ties")),
             Mistake("max_ties_last", "where a window holds its maximum more than once, the gradient went to the "
                                      "last one; it goes to the first in row-major order (np.argmax)",
                     value=route(dout, x, k, s, out, "last")),
             Mistake("max_not_routed", "every pixel of the window got dout; max pooling's output depends only on "
                                       "the maximum, so only that pixel gets dout, the others 0",
                     value=route(dout, x, k, s, out, "spread")),
             Mistake("max_not_routed", f"this is average pooling's gradient (dout / {area} everywhere); max pooling "
                                       f"sends all of dout to the maximum of the window",
                     value=route(dout, x, k, s, out, "mean"))]
    return found + pool_common_mistakes(case, ref, "first")


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    return hidden_pool("max_pool2d_backward", rng)


register(Graded("max_pool2d_backward", ASSIGNMENT, visible, hidden, R.max_pool2d_backward, max_back_mistakes,
                argnames=ARGS))
