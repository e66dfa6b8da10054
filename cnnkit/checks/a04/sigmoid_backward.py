"""sigmoid_backward(dout, z) = dout * sigmoid(z) * (1 - sigmoid(z)): the chain rule through a sigmoid.

Its mistakes: the derivative missing, applied to z instead of sigmoid(z), without dout, with a factor
missing or its sign flipped.
"""

import numpy as np

from ... import reference as R
from ..common import F32, F64, arr, dtype_name, rand, varied
from ..core import Case, Graded, Mistake, register
from . import ASSIGNMENT
from .sigmoid import listed


def _case(dout, z, note="", prefix=""):
    small = z.size <= 6 and z.ndim == 1
    label = f"dout={listed(dout)}, z={listed(z)}" if small else f"{prefix}dout and z of shape {z.shape}"
    return Case("sigmoid_backward", (dout, z), {}, label + (f" ({note})" if note else ""))


def visible():
    c = _case
    z = arr([-2, -1, 0, 1, 2])
    return [c(np.ones(5), z.copy(), "dout = 1: the derivative itself, largest (1/4) at z = 0"),
            c(arr([2, -1, 0.5, 3, -2]), z.copy(), "the upstream gradient multiplies the derivative"),
            c(arr([[1, -2, 0.5], [3, 1, -1]]), arr([[0.5, -0.5, 3.0], [-3.0, 1.5, -1.5]]), "a 2x3 array"),
            c(varied((1, 2, 2, 3), 5, 7, 3) / 2, arr([[-30, -4, 0], [0.5, 4, 30]] * 2).reshape(1, 2, 2, 3),
              "feature maps; at |z| = 30 the derivative is about 1e-13: the gradient vanishes")]


# ----------------------------------------------------------------------------- mistakes

def sb_mistakes(case, ref):
    dout, z = case.args
    s = R.sigmoid(z)
    d = s * (1 - s)
    why = "dz = dout * sigmoid(z) * (1 - sigmoid(z))"
    return [Mistake("missing_sigmoid_derivative", f"this is dout unchanged: the sigmoid's derivative is missing; the "
                                                  f"chain rule multiplies dout by sigmoid'(z): {why}", value=dout),
            Mistake("derivative_of_z", f"the formula s(1 - s) was applied to z itself; s is the sigmoid's OUTPUT "
                                       f"sigmoid(z), and the function is given the forward input z: {why}",
                    value=dout * z * (1 - z)),
            Mistake("dout_missing", f"this is sigmoid'(z) alone: the upstream gradient dout was not multiplied in "
                                    f"(chain rule): {why}", value=d),
            Mistake("derivative_incomplete", f"this is dout * sigmoid(z): the factor (1 - sigmoid(z)) is missing; "
                                             f"{why}", value=dout * s),
            Mistake("derivative_incomplete", f"this is dout * (1 - sigmoid(z)): the factor sigmoid(z) is missing; "
                                             f"{why}", value=dout * (1 - s)),
            Mistake("derivative_incomplete", f"this is dout * sigmoid(z) * (1 + sigmoid(z)); {why}",
                    value=dout * s * (1 + s)),
            Mistake("wrong_sign", f"the sign is flipped; the sigmoid increases, its derivative is positive: {why}",
                    value=-ref)]


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    out = []
    for dt in (F64, F32):
        for shape, scale in (((int(rng.integers(3, 9)),), 2.0), ((int(rng.integers(2, 5)), 3), 3.0),
                             ((2, 2, int(rng.integers(2, 5)), 3), 4.0), ((int(rng.integers(6, 12)),), 8.0)):
            out.append(_case(rand(rng, shape, dt), rand(rng, shape, dt, scale), prefix=f"random {dtype_name(dt)} "))
    return out


register(Graded("sigmoid_backward", ASSIGNMENT, visible, hidden, R.sigmoid_backward, sb_mistakes,
                argnames=("dout", "z")))
