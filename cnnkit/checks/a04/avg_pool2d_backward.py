"""avg_pool2d_backward(dout, x, kernel_size, stride=None) -> dx: each window's gradient spread evenly over it.

Its cases are those of both pooling backward passes (`pool_backward`); its own mistakes: dout not
divided by the pool area (or divided twice, or by one side), max pooling's gradient in its place.
"""

from ... import reference as R
from ..common import attempt
from ..core import Graded, Mistake, register
from . import ASSIGNMENT
from .pool_backward import ARGS, hidden_pool, pool_args, pool_common_mistakes, visible_pool


def visible():
    return visible_pool("avg_pool2d_backward")


def avg_back_mistakes(case, ref):
    dout, x, k, s, out, given = pool_args(case)
    area = k[0] * k[1]
    found = [Mistake("avg_not_divided", f"every pixel of a window got the whole of dout; the average divides by the "
                                        f"pool area kH*kW = {area}, so each pixel gets dout / {area}",
                     value=ref * area)]
    if k[0] != k[1]:
        found += [Mistake("avg_not_divided", f"dout was divided by {d} only; each pixel gets dout / (kH*kW) = "
                                             f"dout / {area}", value=ref * area / d) for d in k]
    found += [Mistake("avg_not_divided", f"dout was divided by the pool area twice, dout / {area}^2; each pixel "
                                         f"gets dout / {area}", value=ref / area),
              Mistake("wrong_pool", "this is max pooling's gradient (all of dout to the maximum); average pooling "
                                    "spreads dout / (kH*kW) over the whole window",
                      value=attempt(R.max_pool2d_backward, dout, x, k, s))]
    return found + pool_common_mistakes(case, ref, "mean")


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    return hidden_pool("avg_pool2d_backward", rng)


register(Graded("avg_pool2d_backward", ASSIGNMENT, visible, hidden, R.avg_pool2d_backward, avg_back_mistakes,
                argnames=ARGS))
