"""numerical_gradient(f, x, eps=1e-6): the gradient of f at x by central differences, x left as it was.

The functions f of the cases live in `cnnkit.checks.inputs` (cases are pickled to the grading process,
where f runs inside the student's numerical_gradient) and use plain NumPy only. The mistakes: one-sided
differences, the wrong divisor, x not restored between entries; its own judge fails an x changed by
the call even when the gradient is right.
"""

import numpy as np

from ... import reference as R
from ..common import F64, arr
from ..core import Case, Graded, Mistake, Verdict, default_judge, heading, modified_inputs, register
from ..inputs import Quadratic, SigmoidLayer, SigmoidNeuron, log_sum_exp, sine_product, sum_of_cubes, sum_of_squares
from . import ASSIGNMENT


def _case(f, x, eps=None, what="", prefix=""):
    kwargs = {} if eps is None else {"eps": eps}
    label = f"{prefix}f(x) = {what}, x of shape {x.shape}, " + (f"eps={eps:g}" if eps is not None else
                                                               "eps omitted (default 1e-6)")
    return Case("numerical_gradient", (f, x), kwargs, label)


def visible():
    c = _case
    A = arr([[2, 1, 0], [1, 3, -1], [0, -1, 1]])
    X = arr([[1, 0, 2], [0, 1, -1], [1, 1, 1], [2, -1, 0]])
    rng = np.random.default_rng(4)
    return [c(sum_of_squares, arr([1, -2, 3]), None, "sum(x**2), whose gradient is 2x"),
            c(sum_of_cubes, arr([[1, 2], [-1, 0.5]]), 0.1, "sum(x**3): central differences give 3x**2 + eps**2"),
            c(Quadratic(A, arr([1, 0, -1])), arr([1, 0, -1]), 0.01,
              "1/2 x^T A x + b^T x with A = [[2, 1, 0], [1, 3, -1], [0, -1, 1]], b = [1, 0, -1]: gradient A x + b"),
            c(SigmoidNeuron(X, arr([1, 0, 1, 0])), arr([0.5, -0.5, 0.25]), None,
              "the squared error of one sigmoid neuron, 1/2 sum((sigmoid(X w) - t)**2), as a function of w"),
            c(log_sum_exp, np.round(rng.standard_normal((2, 2, 2)), 2), 1e-3, "log(sum(exp(x))), x of three axes")]


def reference(f, x, eps=1e-6):
    """The reference's central differences, on x in float64 (the answer is float64 for any x)."""
    return R.numerical_gradient(f, np.array(x, dtype=F64), eps)


reference.__wrapped__ = R.numerical_gradient   # the answer is the reference's


# ----------------------------------------------------------------------------- mistakes and judge

def _differences(f, x, eps, kind):
    """The gradient as a mistaken numerical_gradient computes it; x itself is never changed."""
    x = np.array(x, dtype=F64)
    g = np.zeros_like(x)
    base = f(x.copy())
    drift, plus, minus = x.copy(), x.copy(), x.copy()
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        if kind == "forward":
            g[i] = (f(x + e) - base) / eps
        elif kind == "backward":
            g[i] = (base - f(x - e)) / eps
        elif kind == "forward_2eps":
            g[i] = (f(x + e) - base) / (2 * eps)
        elif kind == "over_eps":
            g[i] = (f(x + e) - f(x - e)) / eps
        elif kind == "drift":            # one copy, each entry left at x_i - eps
            drift[i] += eps
            fp = f(drift.copy())
            drift[i] -= 2 * eps
            g[i] = (fp - f(drift.copy())) / (2 * eps)
        elif kind == "two_copies":       # x + eps and x - eps in two copies that are never reset
            plus[i] += eps
            minus[i] -= eps
            g[i] = (f(plus.copy()) - f(minus.copy())) / (2 * eps)
    return g


def numerical_mistakes(case, ref):
    f, x = case.args
    eps = case.kwargs.get("eps", 1e-6)
    central = "(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)"
    restore = ("after the two evaluations of entry i, put x_i back to its value (x[i] = old) before moving to the "
               "next entry: the next one must be measured at x, not at a shifted point")
    return [Mistake("one_sided", f"this is the one-sided difference (f(x + eps e_i) - f(x)) / eps; use the central "
                                 f"difference {central}: its error shrinks like eps^2 instead of eps",
                    value=_differences(f, x, eps, "forward")),
            Mistake("one_sided", f"this is the one-sided difference (f(x) - f(x - eps e_i)) / eps; use the central "
                                 f"difference {central}", value=_differences(f, x, eps, "backward")),
            Mistake("one_sided", f"this is (f(x + eps e_i) - f(x)) / (2 eps): half a one-sided difference; use "
                                 f"{central}", value=_differences(f, x, eps, "forward_2eps")),
            Mistake("divided_by_eps", f"the difference was divided by eps; f(x + eps e_i) and f(x - eps e_i) are "
                                      f"2 eps apart: {central}", value=2 * ref),
            Mistake("divided_by_eps", f"the difference was divided by eps^2 or similar; {central}",
                    value=2 * ref / eps),
            Mistake("x_not_restored", f"each entry was left at x_i - eps after its turn; {restore}",
                    value=_differences(f, x, eps, "drift")),
            Mistake("x_not_restored", f"the shifted copies were never reset, so the steps pile up; {restore}",
                    value=_differences(f, x, eps, "two_copies"))]


def judge(case, output, inputs_after=None):
    """The default judgement, where an x changed by the call is the mistake x_not_restored."""
    modified = modified_inputs(case, inputs_after)
    v = default_judge(case, output, None)
    if not modified:
        return v
    text = ("x was changed: after the call it is not what it was. numerical_gradient may shift x_i by +eps and "
            "-eps to evaluate f, but it must put every entry back exactly (x[i] = old), so that the caller's array "
            "- often a network's weights - is left as it found it")
    if v.passed:
        return Verdict(False, f"{heading(case)}: the gradient is right, but [x_not_restored] {text}",
                       "x_not_restored")
    first, _, rest = v.message.partition("\n")
    rest = "\n".join(line for line in rest.splitlines() if "likely mistake [" not in line)
    return Verdict(False, f"{first}\n  likely mistake [x_not_restored]: {text}" + (f"\n{rest}" if rest else ""),
                   "x_not_restored")


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    out = []
    eps_choices = (None, 1e-5, 1e-3, 1e-2, 0.05)
    for i in range(12):
        eps = eps_choices[i % len(eps_choices)]
        kind = i % 6
        if kind == 0:
            x = rng.standard_normal((r(3, 9),))
            f, what = sum_of_cubes, "sum(x**3)"
        elif kind == 1:
            n = r(3, 7)
            M = rng.standard_normal((n, n))
            x = rng.standard_normal((n,))
            f, what = Quadratic(M + M.T, rng.standard_normal(n)), "1/2 x^T A x + b^T x"
        elif kind == 2:
            x = rng.standard_normal((r(2, 4), r(2, 4)))
            f, what = log_sum_exp, "log(sum(exp(x)))"
        elif kind == 3:
            x = rng.uniform(0.3, 2.8, (r(2, 4), r(2, 3)))
            f, what = sine_product, "the product of sin(x_i)"
        elif kind == 4:
            n_in = r(2, 5)
            X = rng.standard_normal((r(3, 7), n_in))
            x = rng.standard_normal(n_in)
            f, what = SigmoidNeuron(X, rng.integers(0, 2, X.shape[0])), "1/2 sum((sigmoid(X w) - t)**2)"
        else:
            n_in, n_out, N = r(2, 5), r(2, 4), r(2, 5)
            a = rng.standard_normal((N, n_in))
            x = rng.standard_normal((n_out, n_in))
            f, what = SigmoidLayer(a, rng.random((N, n_out))), "1/2 sum((sigmoid(a W^T) - y)**2) as a function of W"
        out.append(_case(f, x, eps, what, prefix="random "))
    return out


register(Graded("numerical_gradient", ASSIGNMENT, visible, hidden, reference, numerical_mistakes,
                argnames=("f", "x", "eps"), judge=judge))
