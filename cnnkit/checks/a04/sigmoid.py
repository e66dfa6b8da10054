"""sigmoid(z) = 1 / (1 + e^(-z)), entry by entry, without overflow for large |z|.

Its mistakes: the exponent's sign, tanh or e^z in its place, and NaN where e^z overflowed (its own
judge adds that diagnosis to the default one).
"""

import numpy as np

from ... import reference as R
from ..common import F32, F64, arr, dtype_name, rand, varied
from ..core import Case, Graded, Mistake, register, with_diagnosis
from . import ASSIGNMENT


def listed(a):
    """A small float array as a short literal for a label: [-2.,-1.,0.,1.,2.]."""
    return np.array2string(np.asarray(a), separator=",", precision=3, suppress_small=True).replace(" ", "")


def _case(z, note="", prefix=""):
    label = f"{prefix}z of shape {z.shape}" if z.size > 8 or z.ndim > 1 else f"z={listed(z)}"
    return Case("sigmoid", (z,), {}, label + (f" ({note})" if note else ""))


def visible():
    c = _case
    return [c(arr([-2, -1, 0, 1, 2]), "sigmoid(0) = 1/2, and sigmoid(-z) = 1 - sigmoid(z)"),
            c(arr([[0.5, -0.5, 3.0], [-3.0, 6.0, -6.0]]), "a 2x3 array: every entry on its own"),
            c(arr([-800, -40, 0, 40, 800]), "large |z|: the answer is 0 or 1, never NaN"),
            c(varied((1, 2, 3, 3), 7, 23, 11) / 4, "feature maps (N, C, H, W)")]


# ----------------------------------------------------------------------------- mistakes and judge

def sigmoid_mistakes(case, ref):
    z = case.args[0]
    with np.errstate(all="ignore"):
        return [Mistake("sigmoid_sign", "this is 1 / (1 + e^z) = sigmoid(-z) = 1 - sigmoid(z): the exponent's sign is "
                                        "flipped; sigmoid(z) = 1 / (1 + e^(-z))", value=R.sigmoid(-z)),
                Mistake("wrong_function", "this is tanh(z); the logistic sigmoid is 1 / (1 + e^(-z)) (it equals "
                                          "(1 + tanh(z/2)) / 2)", value=np.tanh(z)),
                Mistake("wrong_function", "this is e^z, without the 1 / (1 + ...)", value=np.exp(z))]


def _diagnose_overflow(case, y, ref):
    """NaN only where |z| is large, right elsewhere: e^z overflowed."""
    z = case.args[0]
    nan = np.isnan(y)
    if nan.any() and np.all(np.abs(z[nan]) > 80) and np.allclose(y[~nan], ref[~nan], rtol=1e-4, atol=1e-6):
        return "sigmoid_overflow", (
            "NaN where |z| is large: e^z (or e^(-z)) overflowed to infinity and infinity / infinity is NaN. "
            "1 / (1 + np.exp(-z)) only ever divides by infinity (which gives 0, the right answer); or use "
            "e = np.exp(-np.abs(z)) <= 1, with sigmoid = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0")
    return None


judge = with_diagnosis(_diagnose_overflow)


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    out = []
    for dt in (F64, F32):
        for shape, scale in (((int(rng.integers(3, 9)),), 3.0), ((2, int(rng.integers(2, 6))), 2.0),
                             ((2, 3, int(rng.integers(2, 5)), 4), 5.0), ((int(rng.integers(5, 12)),), 1.0)):
            out.append(_case(rand(rng, shape, dt, scale), prefix=f"random {dtype_name(dt)} "))
        big = np.concatenate([rand(rng, 4, dt, 1.0), rng.uniform(90, 1000, 3).astype(dt),
                              -rng.uniform(90, 1000, 3).astype(dt)])
        out.append(_case(rng.permutation(big), "with entries of |z| up to 1000", prefix=f"random {dtype_name(dt)} "))
    return out


register(Graded("sigmoid", ASSIGNMENT, visible, hidden, R.sigmoid, sigmoid_mistakes, argnames=("z",), judge=judge))
