"""linear_backward(dout, x, w) -> (dx, dw, db): the gradients of y = x w^T + b.

dout (N, out), x (N, in), w (out, in). Each of dx, dw, db is judged on its own (`parts`); the
mistakes: a transposed dx or dw, w.T in dx, gradients not summed over the batch (a mean, one item),
db summed over the wrong axis.
"""

import numpy as np

from ... import reference as R
from ..common import F32, F64, arr, attempt, dtype_name, rand
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT
from .parts import judge_parts


def _case(dout, x, w, note="", prefix=""):
    label = f"{prefix}dout {dout.shape}, x {x.shape}, w {w.shape}"
    return Case("linear_backward", (dout, x, w), {}, label + (f" ({note})" if note else ""))


def visible():
    c = _case
    return [c(arr([[1, -1]]), arr([[1, 2, 3]]), arr([[1, 0, -1], [2, 1, 0]]),
              "one item: 3 inputs, 2 outputs; dw is the outer product dout^T x"),
            c(arr([[1, 2], [-1, 1]]), arr([[1, 0, 2], [0, 1, -1]]), arr([[1, 0, -1], [2, 1, 0]]),
              "a batch of 2: dw and db add up the two items"),
            c(arr([[2, -1], [1, 0], [0, 3]]), arr([[1, 2, 0, -1], [0, 1, 1, 2], [3, 0, -1, 1]]),
              arr([[1, -1, 0, 2], [0, 2, 1, -1]]), "a batch of 3, 4 inputs, 2 outputs"),
            c(arr([[1, 0, -1], [2, 1, 1]]), arr([[1, 2, 3], [0, -1, 2]]), arr([[1, 2, 0], [0, 1, -1], [3, 0, 1]]),
              "a square w (3x3): a transposed dw has the right shape but not the right values")]


# ----------------------------------------------------------------------------- mistakes

def linear_mistakes(case, refs):
    dout, x, w = case.args
    N = x.shape[0]
    dx, dw, db = refs
    summed = "the batch items' gradients add up: dw = dout^T x (a sum over n), db = dout.sum(axis=0)"
    out = {"dx": [Mistake("dx_transposed", "dx is the transpose of dout @ w; dx has the shape of x, (N, in)",
                          value=dx.T),
                  Mistake("weight_transposed", "dx used w.T; in the forward pass y = x w^T, so dx = dout @ w (no "
                                               "transpose: dx has the shape of x)",
                          value=attempt(lambda: dout @ w.T)),
                  Mistake("weight_transposed", "dx used w.T; in the forward pass y = x w^T, so dx = dout @ w, of the "
                                               "shape of x", shape=(N, w.shape[0]))],
           "dw": [Mistake("weight_transposed", "dw is transposed: it has the shape of w, (out, in): dw = dout^T x, "
                                               "not x^T dout", value=dw.T),
                  Mistake("weight_transposed", "dw is transposed: it has the shape of w, (out, in): dw = dout^T x, "
                                               "not x^T dout", shape=dw.T.shape)],
           "db": [Mistake("not_summed_batch", f"db is dout itself, one row per item; {summed}", value=dout),
                  Mistake("not_summed_batch", f"db is dout itself, one row per item; {summed}", shape=dout.shape),
                  Mistake("wrong_axis", "db was summed over the outputs (axis 1); it is summed over the batch: "
                                        "db = dout.sum(axis=0), of shape (out,)", value=dout.sum(axis=1))]}
    if N > 1:
        out["dw"] += [Mistake("not_summed_batch", f"dw is the mean over the batch; {summed}", value=dw / N),
                      Mistake("not_summed_batch", f"dw holds only the first item's gradient; {summed}",
                              value=np.outer(dout[0], x[0])),
                      Mistake("not_summed_batch", f"dw holds only the last item's gradient (overwritten in a loop over "
                                                  f"the batch: use +=); {summed}", value=np.outer(dout[-1], x[-1]))]
        out["db"] += [Mistake("not_summed_batch", f"db is the mean over the batch; {summed}", value=db / N),
                      Mistake("not_summed_batch", f"db holds only the first item's gradient; {summed}", value=dout[0]),
                      Mistake("not_summed_batch", f"db holds only the last item's gradient; {summed}", value=dout[-1])]
    return {k: [m for m in v if m.value is not None or m.shape is not None] for k, v in out.items()}


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    specs = [(r(2, 6), r(2, 7), r(1, 5)), (1, r(3, 8), r(2, 5)), (r(3, 7), 4, 4), (r(2, 5), r(5, 9), r(5, 9)),
             (5, 3, 5), (r(2, 4), 1, r(2, 4))]
    out = []
    for dt in (F64, F32):
        for N, n_in, n_out in specs:
            out.append(_case(rand(rng, (N, n_out), dt), rand(rng, (N, n_in), dt), rand(rng, (n_out, n_in), dt),
                             prefix=f"random {dtype_name(dt)} "))
    return out


register(Graded("linear_backward", ASSIGNMENT, visible, hidden, R.linear_backward, lambda case, ref: [],
                argnames=("dout", "x", "w"), judge=judge_parts(("dx", "dw", "db"), linear_mistakes)))
