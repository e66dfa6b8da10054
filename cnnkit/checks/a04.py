"""Assignment 04: backpropagation through a small CNN with sigmoid activations.

Graded: sigmoid(z), sigmoid_backward(dout, z), linear_backward(dout, x, w),
avg_pool2d_backward(dout, x, kernel_size, stride=None), max_pool2d_backward(dout, x, kernel_size, stride=None),
conv2d_backward(dout, x, w, stride=1, padding=0), sigmoid_cnn_gradients(params, x, y),
numerical_gradient(f, x, eps=1e-6).

Visible cases are small and hand-readable: the derivative of the sigmoid at a few points, one
and two items through a fully connected layer, the 4x4 map of assignment 03 with its pooled
gradient, windows that overlap or hold ties, a convolution with a batch, a stride and padding,
the lectures' worked network and functions whose gradient is known. Hidden cases are random, in
float32 and float64 (float64 only for the whole network and the numerical gradient: gradient
checks are done in float64).

Functions that return several arrays bring their own judge, which says which part is wrong:
- linear_backward and conv2d_backward return (dx, dw, db); each part is compared on its own and
  its typical mistakes named (a transposed or unsummed weight gradient, a kernel not flipped, ...);
- sigmoid_cnn_gradients returns (J, grads): the loss first, then every gradient, in the order
  backpropagation computes them (W2, b2, W1, b1, W_conv, b_conv). A wrong delta in one layer
  spoils every layer below it, so the judge looks for one mistake (a missing sigmoid derivative,
  an average not divided, a gradient not summed over positions or the batch, a transposed weight
  gradient, ...) that explains every wrong gradient at once;
- numerical_gradient is judged as one array, and must leave x as it found it.

The functions f of the numerical_gradient cases live in this module (cases are pickled to the
grading process) and use plain NumPy only: the grader forbids graded functions to run
`cnnkit.reference`, and f runs inside the student's numerical_gradient.
"""

import numpy as np

from .. import reference as R
from .a03 import EXAMPLE, SMALL, _img, _mixed, _type_name, _with_line
from .inputs import Params, Quadratic, _sig, SigmoidLayer, SigmoidNeuron, log_sum_exp, sine_product, sum_of_cubes, sum_of_squares  # noqa: F401
from .core import (Case, Graded, Mistake, Verdict, _as_plain, _case_dtype, _close, _fail, _modified_inputs,
                   _shape_mistakes, _to_float, default_judge, heading, register, tolerances)

ASSIGNMENT = "04"
FUNCTIONS = ("sigmoid", "sigmoid_backward", "linear_backward", "avg_pool2d_backward", "max_pool2d_backward",
             "conv2d_backward", "sigmoid_cnn_gradients", "numerical_gradient")

_F64, _F32 = np.float64, np.float32


def _a(values, dtype=_F64):
    return np.array(values, dtype=dtype)


def _rand(rng, shape, dtype=_F64, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def _name(dt):
    return np.dtype(dt).name


def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _try(fn, *args, **kwargs):
    try:
        out = fn(*args, **kwargs)
        return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else np.asarray(out)
    except Exception:  # a mistake the reference cannot even form is skipped
        return None


# ----------------------------------------------------------------------------- judging several parts

def _compare(case, what, ref, output, candidates, dtype):
    """None when `output` is `ref` (within tolerance, in the right dtype); else (sentence, mistake, raw).

    `what` names the part ("dw", "grads['W1']"); `candidates` are the Mistakes this part can show.
    """
    raw, problem = _as_plain(output)
    if problem is not None:
        return f"{what} {problem}", None, None
    ref = np.asarray(ref)
    out_f = _to_float(raw) if raw.size <= 10 ** 7 else None
    if out_f is not None and raw.shape == ref.shape and _close(out_f, ref, dtype):
        if dtype == np.float32 and raw.dtype != np.float32:
            return (f"the values of {what} are right, but its dtype is {raw.dtype} for float32 inputs; functions "
                    f"keep the floating dtype they are given (compute in x.dtype, e.g. np.zeros(shape, "
                    f"dtype=x.dtype))", Mistake("wrong_dtype", ""), raw)
        return None
    mistake = None
    if out_f is not None:
        matches = [m for m in candidates if m.value is not None and m.value.shape == raw.shape
                   and _close(out_f, m.value, dtype)]
        if matches:
            # two mistakes that give the same numbers here are both named
            texts = list(dict.fromkeys(m.text for m in matches))
            mistake = Mistake(matches[0].code, "; or: ".join(texts[:3]))
    if mistake is None and raw.shape != ref.shape:
        mistake = next((m for m in candidates if m.shape is not None and tuple(m.shape) == raw.shape), None)
    if mistake is None and out_f is not None:
        found = _shape_mistakes(raw, ref, dtype)
        mistake = found[0] if found else None
    if raw.shape != ref.shape:
        want = "a single number" if ref.shape == () else f"shape {ref.shape}"
        got = "a single number" if raw.shape == () else f"shape {raw.shape}"
        sentence = f"{what} should have {want}, got {got}"
        if mistake is None:
            mistake = Mistake("wrong_shape", "")
    else:
        sentence = f"{what} is wrong"
        if np.isnan(out_f).any() or np.isinf(out_f).any():
            sentence += " (it contains NaN or infinity)"
        elif ref.ndim == 0:
            sentence += f": expected {ref[()]:.6g}, got {out_f[()]:.6g}"
        else:
            bad = np.argwhere(~np.isclose(out_f, ref, *tolerances(dtype, ref)))
            if len(bad):
                i = tuple(int(v) for v in bad[0])
                sentence += (f" ({len(bad)} of {ref.size} entries; first at index {i}: expected {ref[i]:.6g}, "
                             f"got {out_f[i]:.6g})")
    return sentence, mistake, raw


def _verdict(case, sentence, mistake, ref, raw, modified, ref_label="expected"):
    """A failing Verdict: the sentence, the likely mistake, the inputs when small, expected and got."""
    code = mistake.code if mistake is not None else None
    what = sentence
    if mistake is not None and mistake.text:
        what += f"\n  likely mistake [{mistake.code}]: {mistake.text}"
    elif code == "wrong_dtype":
        what = f"[wrong_dtype] {sentence}"
    return _fail(heading(case), case, ref, raw, what, code, modified, ref_label=ref_label)


def _judge_parts(parts, mistakes):
    """A judge for a function returning a tuple of arrays named `parts` (("dx", "dw", "db")).

    `mistakes(case, refs)` -> {part: [Mistake]}; the reference returns the tuple in the same order.
    """
    def judge(case, output, inputs_after=None):
        g_ref = _REFERENCES[case.name]
        refs = tuple(np.asarray(r) for r in g_ref(*case.args, **case.kwargs))
        modified = _modified_inputs(case, inputs_after)
        n = len(parts)
        names = ", ".join(parts)
        kind = type(output)
        if kind is not tuple and kind is not list:
            return _fail(heading(case), case, None, None,
                         f"[not_a_tuple] the output must be the {n} gradients ({names}), e.g. `return {names}`; got "
                         f"a {_type_name(output)}", "not_a_tuple", modified)
        if len(output) != n:
            return _fail(heading(case), case, None, None,
                         f"[not_a_tuple] the output must be the {n} gradients ({names}), in that order; got a "
                         f"{kind.__name__} of length {len(output)}", "not_a_tuple", modified)
        dtype = _case_dtype(case)
        try:
            per_part = mistakes(case, refs)
        except Exception:
            per_part = {}
        for i, (part, ref) in enumerate(zip(parts, refs)):
            got = _compare(case, f"{part} (element {i} of the tuple ({names}))", ref, output[i],
                           per_part.get(part, []), dtype)
            if got is None:
                continue
            sentence, mistake, raw = got
            if mistake is None or mistake.code == "wrong_shape":
                # the right arrays in the wrong order?
                other = _as_plain(output[i])[0]
                for j, (p2, r2) in enumerate(zip(parts, refs)):
                    if j != i and other is not None and other.shape == r2.shape and \
                            _close(_to_float(other), r2, dtype):
                        mistake = Mistake("wrong_order", f"this is {p2}: return the gradients in the order of "
                                                         f"the inputs, ({names})")
                        break
            return _verdict(case, sentence, mistake, ref, raw, modified, ref_label=f"expected {part}")
        if modified:
            return _fail(heading(case), case, None, None, "[input_modified] the output is right, but " + modified,
                         "input_modified", None)
        return Verdict(True, "", None)
    return judge


# ----------------------------------------------------------------------------- sigmoid

def _sigmoid_case(z, note="", prefix=""):
    label = f"{prefix}z of shape {z.shape}" if z.size > 8 or z.ndim > 1 else f"z={_list(z)}"
    return Case("sigmoid", (z,), {}, label + (f" ({note})" if note else ""))


def _list(a):
    return np.array2string(np.asarray(a), separator=",", precision=3, suppress_small=True).replace(" ", "")


def _visible_sigmoid():
    c = _sigmoid_case
    return [c(_a([-2, -1, 0, 1, 2]), "sigmoid(0) = 1/2, and sigmoid(-z) = 1 - sigmoid(z)"),
            c(_a([[0.5, -0.5, 3.0], [-3.0, 6.0, -6.0]]), "a 2x3 array: every entry on its own"),
            c(_a([-800, -40, 0, 40, 800]), "large |z|: the answer is 0 or 1, never NaN"),
            c(_mixed((1, 2, 3, 3)) / 4, "feature maps (N, C, H, W)")]


def _hidden_sigmoid(rng):
    out = []
    for dt in (_F64, _F32):
        for shape, scale in (((int(rng.integers(3, 9)),), 3.0), ((2, int(rng.integers(2, 6))), 2.0),
                             ((2, 3, int(rng.integers(2, 5)), 4), 5.0), ((int(rng.integers(5, 12)),), 1.0)):
            out.append(_sigmoid_case(_rand(rng, shape, dt, scale), prefix=f"random {_name(dt)} "))
        big = np.concatenate([_rand(rng, 4, dt, 1.0), rng.uniform(90, 1000, 3).astype(dt),
                              -rng.uniform(90, 1000, 3).astype(dt)])
        out.append(_sigmoid_case(rng.permutation(big), "with entries of |z| up to 1000",
                                 prefix=f"random {_name(dt)} "))
    return out


def _sigmoid_mistakes(case, ref):
    z = case.args[0]
    with np.errstate(all="ignore"):
        return [Mistake("sigmoid_sign", "this is 1 / (1 + e^z) = sigmoid(-z) = 1 - sigmoid(z): the exponent's sign is "
                                        "flipped; sigmoid(z) = 1 / (1 + e^(-z))", value=R.sigmoid(-z)),
                Mistake("wrong_function", "this is tanh(z); the logistic sigmoid is 1 / (1 + e^(-z)) (it equals "
                                          "(1 + tanh(z/2)) / 2)", value=np.tanh(z)),
                Mistake("wrong_function", "this is e^z, without the 1 / (1 + ...)", value=np.exp(z))]


def _judge_sigmoid(case, output, inputs_after=None):
    v = default_judge(case, output, inputs_after)
    if v.passed or v.diagnosis is not None:
        return v
    try:
        raw, problem = _as_plain(output)
        z = case.args[0]
        if problem is not None or raw.shape != z.shape:
            return v
        y = _to_float(raw)
        nan = np.isnan(y)
        ref = R.sigmoid(z)
        if nan.any() and np.all(np.abs(z[nan]) > 80) and np.allclose(y[~nan], ref[~nan], rtol=1e-4, atol=1e-6):
            return Verdict(False, _with_line(
                v.message, "sigmoid_overflow",
                "NaN where |z| is large: e^z (or e^(-z)) overflowed to infinity and infinity / infinity is NaN. "
                "1 / (1 + np.exp(-z)) only ever divides by infinity (which gives 0, the right answer); or use "
                "e = np.exp(-np.abs(z)) <= 1, with sigmoid = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0"),
                "sigmoid_overflow")
    except Exception:  # the extra diagnosis is a bonus; the verdict stands without it
        return v
    return v


# ----------------------------------------------------------------------------- sigmoid_backward

def _sb_case(dout, z, note="", prefix=""):
    small = z.size <= 6 and z.ndim == 1
    label = f"dout={_list(dout)}, z={_list(z)}" if small else f"{prefix}dout and z of shape {z.shape}"
    return Case("sigmoid_backward", (dout, z), {}, label + (f" ({note})" if note else ""))


def _visible_sigmoid_backward():
    c = _sb_case
    z = _a([-2, -1, 0, 1, 2])
    return [c(np.ones(5), z.copy(), "dout = 1: the derivative itself, largest (1/4) at z = 0"),
            c(_a([2, -1, 0.5, 3, -2]), z.copy(), "the upstream gradient multiplies the derivative"),
            c(_a([[1, -2, 0.5], [3, 1, -1]]), _a([[0.5, -0.5, 3.0], [-3.0, 1.5, -1.5]]), "a 2x3 array"),
            c(_mixed((1, 2, 2, 3), 5, 7) / 2, _a([[-30, -4, 0], [0.5, 4, 30]] * 2).reshape(1, 2, 2, 3),
              "feature maps; at |z| = 30 the derivative is about 1e-13: the gradient vanishes")]


def _hidden_sigmoid_backward(rng):
    out = []
    for dt in (_F64, _F32):
        for shape, scale in (((int(rng.integers(3, 9)),), 2.0), ((int(rng.integers(2, 5)), 3), 3.0),
                             ((2, 2, int(rng.integers(2, 5)), 3), 4.0), ((int(rng.integers(6, 12)),), 8.0)):
            out.append(_sb_case(_rand(rng, shape, dt), _rand(rng, shape, dt, scale), prefix=f"random {_name(dt)} "))
    return out


def _sb_mistakes(case, ref):
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


# ----------------------------------------------------------------------------- linear_backward

def _lin_case(dout, x, w, note="", prefix=""):
    label = f"{prefix}dout {dout.shape}, x {x.shape}, w {w.shape}"
    return Case("linear_backward", (dout, x, w), {}, label + (f" ({note})" if note else ""))


def _visible_linear():
    c = _lin_case
    return [c(_a([[1, -1]]), _a([[1, 2, 3]]), _a([[1, 0, -1], [2, 1, 0]]),
              "one item: 3 inputs, 2 outputs; dw is the outer product dout^T x"),
            c(_a([[1, 2], [-1, 1]]), _a([[1, 0, 2], [0, 1, -1]]), _a([[1, 0, -1], [2, 1, 0]]),
              "a batch of 2: dw and db add up the two items"),
            c(_a([[2, -1], [1, 0], [0, 3]]), _a([[1, 2, 0, -1], [0, 1, 1, 2], [3, 0, -1, 1]]),
              _a([[1, -1, 0, 2], [0, 2, 1, -1]]), "a batch of 3, 4 inputs, 2 outputs"),
            c(_a([[1, 0, -1], [2, 1, 1]]), _a([[1, 2, 3], [0, -1, 2]]), _a([[1, 2, 0], [0, 1, -1], [3, 0, 1]]),
              "a square w (3x3): a transposed dw has the right shape but not the right values")]


def _hidden_linear(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    specs = [(r(2, 6), r(2, 7), r(1, 5)), (1, r(3, 8), r(2, 5)), (r(3, 7), 4, 4), (r(2, 5), r(5, 9), r(5, 9)),
             (5, 3, 5), (r(2, 4), 1, r(2, 4))]
    out = []
    for dt in (_F64, _F32):
        for N, n_in, n_out in specs:
            out.append(_lin_case(_rand(rng, (N, n_out), dt), _rand(rng, (N, n_in), dt), _rand(rng, (n_out, n_in), dt),
                                 prefix=f"random {_name(dt)} "))
    return out


def _linear_mistakes(case, refs):
    dout, x, w = case.args
    N = x.shape[0]
    dx, dw, db = refs
    summed = "the batch items' gradients add up: dw = dout^T x (a sum over n), db = dout.sum(axis=0)"
    out = {"dx": [Mistake("dx_transposed", "dx is the transpose of dout @ w; dx has the shape of x, (N, in)",
                          value=dx.T),
                  Mistake("weight_transposed", "dx used w.T; in the forward pass y = x w^T, so dx = dout @ w (no "
                                               "transpose: dx has the shape of x)",
                          value=_try(lambda: dout @ w.T)),
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


# ----------------------------------------------------------------------------- pooling backward

def _pool_args(case):
    """(dout, x, (kH, kW), (sH, sW), (H_out, W_out), whether the stride was given)."""
    dout, x, k = case.args[:3]
    stride = case.args[3] if len(case.args) > 3 else case.kwargs.get("stride")
    k = _pair(k)
    s = k if stride is None else _pair(stride)
    out = ((x.shape[2] - k[0]) // s[0] + 1, (x.shape[3] - k[1]) // s[1] + 1)
    return dout, x, k, s, out, stride is not None


def _fmt_k(v):
    return str(v).replace(" ", "")


def _pool_case(name, x, kernel_size, stride=None, dout=None, note="", prefix="", rng=None):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    out = ((x.shape[2] - k[0]) // s[0] + 1, (x.shape[3] - k[1]) // s[1] + 1)
    if dout is None:
        shape = x.shape[:2] + out
        dout = (rng.standard_normal(shape).astype(x.dtype) if rng is not None
                else (np.arange(1, int(np.prod(shape)) + 1) % 7 + 1).astype(x.dtype).reshape(shape))
    args = (dout, x, kernel_size) if stride is None else (dout, x, kernel_size, stride)
    label = f"{prefix}x of shape {x.shape}, kernel_size={_fmt_k(kernel_size)}, "
    label += f"stride={_fmt_k(stride)}" if stride is not None else "stride omitted (default: the kernel size)"
    return Case(name, args, {}, label + (f" ({note})" if note else ""))


TIES = np.array([[0, 2, 1, 1], [2, 0, 3, 0], [0, 0, 0, 4], [1, 0, 4, 0]], dtype=_F64)


def _visible_pool(name):
    c = lambda *a, **kw: _pool_case(name, *a, **kw)
    d22 = _a([[1, 2], [3, 4]]).reshape(1, 1, 2, 2)
    out = [c(_img(EXAMPLE), 2, 2, d22, "the 4x4 map of assignment 03, dout = [[1, 2], [3, 4]]"),
           c(_img(EXAMPLE), 2, None, d22.copy(), "the same with the default stride"),
           c(_img(SMALL), 3, 2, note="the 5x5 map, 3x3 windows overlapping by one: the shared pixels collect from "
                                     "two or four windows"),
           c(_img(SMALL), 2, note="the 5x5 map, 2x2 windows: the last row and column are in no window"),
           c(_mixed((2, 3, 4, 4)), 2, note="a batch of 2 images with 3 channels"),
           c(_mixed((1, 2, 4, 6)), (2, 3), (2, 1), note="a 2x3 kernel with stride (2, 1)")]
    if name == "max_pool2d_backward":
        out.insert(2, c(_img(TIES), 2, None, d22.copy(), "ties: the window at the top left holds 2 twice, the one at "
                                                         "the bottom right 4 twice"))
        out.insert(4, c(_img(SMALL), 3, 1, note="the 5x5 map, 3x3 windows with stride 1: the 8 at (1, 1) is the "
                                                "maximum of four windows"))
        out.append(c(np.zeros((1, 1, 4, 4)), 2, note="an image of zeros: every window is a four-way tie"))
    return out


_POOL_SPECS = [  # (N, C, H, W, kernel_size, stride or None)
    (1, 1, (4, 9), (4, 9), 2, None), ((1, 3), (1, 4), (5, 9), (5, 9), 2, 2), (1, 2, (5, 9), (5, 9), 3, 1),
    (2, 1, (6, 10), (6, 10), 3, 2), ((1, 3), 3, 7, (7, 10), 3, None), (2, 2, (5, 9), (5, 9), 2, 3),
    (1, 3, (4, 8), (5, 9), (2, 3), (1, 2)), (1, 2, (5, 8), (4, 7), (3, 2), None)]


def _draw(rng, v):
    return int(rng.integers(v[0], v[1])) if isinstance(v, tuple) else v


def _hidden_pool(name, rng):
    out = []
    for dt in (_F64, _F32):
        for i, (N, C, H, W, k, s) in enumerate(_POOL_SPECS):
            shape = tuple(_draw(rng, v) for v in (N, C, H, W))
            if name == "max_pool2d_backward" and i % 2 == 0:
                x, note = rng.integers(-3, 4, shape).astype(dt), "small integers, with ties"
            else:
                x, note = rng.standard_normal(shape).astype(dt), ""
            out.append(_pool_case(name, x, k, s, note=note, prefix=f"random {_name(dt)} ", rng=rng))
    return out


def _route(dout, x, k, s, out, how, accumulate=True):
    """dx of a pooling backward pass done window by window (N and C at once); `how` says where each window's
    gradient goes: "first" / "last" maximum, "all_ties", "split_ties", "spread" (every pixel gets dout),
    "mean" (every pixel dout / area), "at_max" (the first maximum, assigned alone: the rest untouched)."""
    N, C = x.shape[:2]
    dx = np.zeros(x.shape)
    kk = k[0] * k[1]
    for i in range(out[0]):
        for j in range(out[1]):
            rows, cols = slice(i * s[0], i * s[0] + k[0]), slice(j * s[1], j * s[1] + k[1])
            win = x[:, :, rows, cols].astype(_F64).reshape(N, C, kk)
            g = dout[:, :, i, j].astype(_F64)[..., None]
            if how in ("first", "at_max"):
                mask = np.eye(kk)[np.argmax(win, axis=-1)]
            elif how == "last":
                mask = np.eye(kk)[kk - 1 - np.argmax(win[..., ::-1], axis=-1)]
            elif how in ("all_ties", "split_ties"):
                mask = (win == win.max(axis=-1, keepdims=True)).astype(_F64)
                if how == "split_ties":
                    mask /= mask.sum(axis=-1, keepdims=True)
            elif how == "spread":
                mask = np.ones_like(win)
            else:
                mask = np.full_like(win, 1.0 / kk)
            part = (mask * g).reshape(N, C, k[0], k[1])
            if how == "at_max" and not accumulate:
                block = dx[:, :, rows, cols]
                dx[:, :, rows, cols] = np.where(mask.reshape(part.shape) > 0, part, block)
            elif accumulate:
                dx[:, :, rows, cols] += part
            else:
                dx[:, :, rows, cols] = part
    return dx


def _pool_common_mistakes(case, ref, how_right):
    dout, x, k, s, out, given = _pool_args(case)
    N, C, H, W = x.shape
    found = []
    overlap = s[0] < k[0] or s[1] < k[1]
    if overlap:
        text = ("windows that overlap were not added up: a later window overwrote what an earlier one gave a shared "
                "pixel; a pixel in several windows collects the sum of their gradients (dx[...] += ..., not =)")
        found.append(Mistake("overlap_not_summed", text, value=_route(dout, x, k, s, out, how_right, False)))
        if how_right == "first":
            found.append(Mistake("overlap_not_summed", text, value=_route(dout, x, k, s, out, "at_max", False)))
    cover = (out[0] * s[0], out[1] * s[1])
    if cover != (H, W):
        text = ("dx must have the shape of x, (N, C, H, W); rows and columns that no window reaches get a gradient "
                "of 0 (np.repeat / np.kron of dout only fill H_out*sH rows)")
        found.append(Mistake("wrong_size", text, shape=(N, C) + cover))
        found.append(Mistake("wrong_size", text, shape=(N, C, out[0] * k[0], out[1] * k[1])))
    found.append(Mistake("wrong_shape", "dx has the shape of the pooled output; it has the shape of x, the "
                                        "forward input: every input pixel gets a gradient", shape=dout.shape))
    return found


def _avg_back_mistakes(case, ref):
    dout, x, k, s, out, given = _pool_args(case)
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
                      value=_try(R.max_pool2d_backward, dout, x, k, s))]
    return found + _pool_common_mistakes(case, ref, "mean")


def _max_back_mistakes(case, ref):
    dout, x, k, s, out, given = _pool_args(case)
    area = k[0] * k[1]
    found = [Mistake("max_ties_all", "the gradient was sent to every element equal to the window's maximum; where a "
                                     "window holds its maximum more than once (a tie) only the first one, in "
                                     "row-major order, gets it (np.argmax), as in the forward pass's index",
                     value=_route(dout, x, k, s, out, "all_ties")),
             Mistake("max_ties_split", "the gradient was split between the tied maxima of a window; the first "
                                       "maximum in row-major order (np.argmax) gets all of it",
                     value=_route(dout, x, k, s, out, "split_ties")),
             Mistake("max_ties_last", "where a window holds its maximum more than once, the gradient went to the "
                                      "last one; it goes to the first in row-major order (np.argmax)",
                     value=_route(dout, x, k, s, out, "last")),
             Mistake("max_not_routed", "every pixel of the window got dout; max pooling's output depends only on "
                                       "the maximum, so only that pixel gets dout, the others 0",
                     value=_route(dout, x, k, s, out, "spread")),
             Mistake("max_not_routed", f"this is average pooling's gradient (dout / {area} everywhere); max pooling "
                                       f"sends all of dout to the maximum of the window",
                     value=_route(dout, x, k, s, out, "mean"))]
    return found + _pool_common_mistakes(case, ref, "first")


# ----------------------------------------------------------------------------- conv2d_backward

def _conv_case(x, w, stride=None, padding=None, dout=None, note="", prefix="", rng=None):
    kwargs = {}
    if stride is not None:
        kwargs["stride"] = stride
    if padding is not None:
        kwargs["padding"] = padding
    y_shape = R.conv2d(x, w, **kwargs).shape
    if dout is None:
        dout = (rng.standard_normal(y_shape).astype(x.dtype) if rng is not None
                else ((np.arange(int(np.prod(y_shape))) * 5 % 7) - 3).astype(x.dtype).reshape(y_shape))
    opts = "".join(f", {k}={_fmt_k(v)}" for k, v in kwargs.items())
    label = f"{prefix}x {x.shape}, w {w.shape}{opts}, dout {dout.shape}"
    return Case("conv2d_backward", (dout, x, w), kwargs, label + (f" ({note})" if note else ""))


def _visible_conv():
    c = _conv_case
    x4 = _a([[1, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1], [1, 3, 0, 2]]).reshape(1, 1, 4, 4)
    w2 = _a([[1, 2], [-1, 0]]).reshape(1, 1, 2, 2)
    w3 = _a([[1, 0, -1], [2, 1, 0], [0, -1, 1]]).reshape(1, 1, 3, 3)
    x5 = _mixed((1, 1, 5, 5), 7, 11)
    return [c(x4, w2, dout=_a([[1, 0, -1], [2, 1, 0], [0, 1, 1]]).reshape(1, 1, 3, 3),
              note="one channel, a 2x2 kernel: dw sums the 9 windows of x, each weighted by its dout"),
            c(_mixed((2, 2, 5, 5)), _mixed((3, 2, 3, 3), 5, 7), note="a batch of 2, 2 input and 3 output channels: "
                                                                    "dw and db add up every position and image"),
            c(x5, w3.copy(), stride=2, note="stride 2: a 2x2 output"),
            c(x4.copy(), w3.copy(), padding=1, note="padding 1: the output keeps the 4x4 size; dx drops the padding"),
            c(_mixed((1, 2, 6, 6), 3, 13), _mixed((2, 2, 3, 3), 5, 7), stride=2, padding=1,
              note="stride 2 and padding 1: 3x3 outputs, the last padded row and column unused"),
            c(_mixed((2, 1, 5, 6), 5, 9), _mixed((2, 1, 2, 3), 3, 5), stride=(1, 2), padding=(1, 0),
              note="a 2x3 kernel, stride (1, 2), padding (1, 0)")]


def _hidden_conv(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    specs = [(r(1, 3), r(1, 3), r(1, 4), r(4, 8), r(4, 8), 3, 3, None, None),
             (2, 2, 3, r(5, 8), r(5, 8), 2, 2, None, None),
             (r(1, 3), 2, 2, r(6, 10), r(6, 10), 3, 3, 2, None),
             (r(1, 3), r(1, 3), 2, r(4, 7), r(4, 7), 3, 3, None, 1),
             (2, 2, r(1, 4), r(6, 10), r(6, 10), 3, 3, 2, 1),
             (r(1, 3), 2, 2, r(5, 9), r(5, 9), 2, 3, (1, 2), (1, 0)),
             (3, 1, 2, r(5, 8), r(5, 8), 1, 1, None, None),
             (1, 3, 2, r(7, 10), r(7, 10), r(2, 4), r(2, 4), 3, r(0, 2))]
    out = []
    for dt in (_F64, _F32):
        for N, Ci, Co, H, W, kh, kw, s, p in specs:
            out.append(_conv_case(_rand(rng, (N, Ci, H, W), dt), _rand(rng, (Co, Ci, kh, kw), dt), s, p,
                                  prefix=f"random {_name(dt)} ", rng=rng))
    return out


def _conv_options(case):
    s = _pair(case.kwargs.get("stride", 1))
    p = _pair(case.kwargs.get("padding", 0))
    return s, p


def _conv_mistakes(case, refs):
    dout, x, w = case.args
    s, p = _conv_options(case)
    dx, dw, db = refs
    N = x.shape[0]
    Co, Ho, Wo = dout.shape[1:]
    kh, kw = w.shape[2:]
    xp = np.pad(x.astype(_F64), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    d64 = dout.astype(_F64)
    summed = ("dw[o, c, a, b] = sum over the images n and the positions (i, j) of dout[n, o, i, j] * "
              "x_pad[n, c, i*s + a, j*s + b]: every position used the same weight, so every position adds to its "
              "gradient")
    last_pos = np.einsum("no,ncab->ocab", d64[:, :, -1, -1],
                         xp[:, :, (Ho - 1) * s[0]:(Ho - 1) * s[0] + kh, (Wo - 1) * s[1]:(Wo - 1) * s[1] + kw])
    found = {
        "dx": [Mistake("dx_kernel_not_flipped", "dx went back through the kernel the wrong way round (not rotated); "
                                                "each output pixel (i, j) sends dout * w[a, b] back to the input pixel "
                                                "it read, x[i*s + a, j*s + b], which amounts to a full "
                                                "cross-correlation of dout with the kernel rotated by 180° (a full true "
                                                "convolution with the kernel as it is)",
                       value=_try(lambda: R.conv2d_backward(dout, x, w[:, :, ::-1, ::-1], stride=s, padding=p)[0])),
               Mistake("padding_not_removed", "dx still has the padding's rows and columns; the padding is not an "
                                              "input: crop dx_pad to dx_pad[:, :, p:p + H, p:p + W]",
                       value=_try(lambda: R.conv2d_backward(dout, xp.astype(x.dtype), w, stride=s)[0]))],
        "dw": [Mistake("weight_transposed", "dw has its first two axes swapped, (C_in, C_out, kH, kW); it has the "
                                            "shape of w, (C_out, C_in, kH, kW)", value=dw.transpose(1, 0, 2, 3)),
               Mistake("conv_weight_flipped", "dw is rotated by 180°: the forward pass is a cross-correlation "
                                              "(no flip), and so is dw, the correlation of x_pad with dout",
                       value=dw[:, :, ::-1, ::-1]),
               Mistake("not_summed_positions", f"dw holds only the last output position's share (overwritten in the "
                                               f"loop over positions? use +=); {summed}", value=last_pos)],
        "db": [Mistake("not_summed_positions", "db was summed over the batch only; it is summed over every position "
                                               "too: db = dout.sum(axis=(0, 2, 3)), of shape (C_out,)",
                       value=d64.sum(axis=0)),
               Mistake("not_summed_batch", "db was summed over the positions only, per image; it is summed over the "
                                           "batch too: db = dout.sum(axis=(0, 2, 3)), of shape (C_out,)",
                       value=d64.sum(axis=(2, 3))),
               Mistake("not_summed_positions", "db holds only the last position's share; db = dout.sum(axis=(0, 2, "
                                               "3))", value=d64[:, :, -1, -1].sum(axis=0))]}
    if Ho * Wo > 1:
        found["db"].append(Mistake("not_summed_positions", "db is the mean over the positions; the bias is added at "
                                                           "every position, so every position adds to its gradient: "
                                                           "db = dout.sum(axis=(0, 2, 3))",
                                   value=d64.mean(axis=(2, 3)).sum(axis=0)))
        found["dw"].append(Mistake("not_summed_positions", f"dw is the mean over the positions; {summed}",
                                   value=dw / (Ho * Wo)))
    if N > 1:
        one = lambda n: R.conv2d_backward(dout[n:n + 1], x[n:n + 1], w, stride=s, padding=p)
        found["dw"] += [Mistake("not_summed_batch", f"dw holds only the last image's share (overwritten in a loop over "
                                                    f"the batch? use +=); {summed}", value=one(N - 1)[1]),
                        Mistake("not_summed_batch", f"dw holds only the first image's share; {summed}",
                                value=one(0)[1]),
                        Mistake("not_summed_batch", f"dw is the mean over the batch; {summed}", value=dw / N)]
        found["db"] += [Mistake("not_summed_batch", "db holds only the last image's share; db = dout.sum(axis=(0, 2, "
                                                    "3))", value=one(N - 1)[2]),
                        Mistake("not_summed_batch", "db is the mean over the batch; db = dout.sum(axis=(0, 2, 3))",
                                value=db / N)]
    return {k: [m for m in v if m.value is not None or m.shape is not None] for k, v in found.items()}


# ----------------------------------------------------------------------------- the network

KEYS = ("W_conv", "b_conv", "W1", "b1", "W2", "b2")
BACKWARD_ORDER = ("W2", "b2", "W1", "b1", "W_conv", "b_conv")


def _params(arrays):
    out = {}
    for k in KEYS:
        a = np.array(arrays[k], dtype=_F64)
        a.setflags(write=False)
        out[k] = a
    return Params(out)


def _sig_prime(z):
    s = R.sigmoid(z)
    return s * (1 - s)


def network(params, x, y, *, no_derivative=(), derivative_of_z=False, pool_divide=True, pool="avg",
            flatten="channels_first", batch_mean=False, loss_factor=0.5, conv_dw=None):
    """The lectures' network and its gradients, (J, grads); the keywords make the typical mistakes.

    conv -> sigmoid -> 2x2 average pooling -> flatten -> FC 1 -> sigmoid -> FC 2 -> sigmoid = h,
    J = 0.5 * sum((h - y)**2). `no_derivative`: layers ("out", "hidden", "conv") whose delta misses the
    sigmoid's derivative; `conv_dw`: "last_item", "last_position", "flipped", "transposed".
    """
    Wc, bc, W1, b1, W2, b2 = (np.asarray(params[k], dtype=_F64) for k in KEYS)
    x = np.asarray(x, dtype=_F64)
    y = np.asarray(y, dtype=_F64)
    N = x.shape[0]
    zc = R.conv2d(x, Wc, bc)
    ac = R.sigmoid(zc)
    p = R.avg_pool2d(ac, 2) if pool == "avg" else R.max_pool2d(ac, 2)
    f = p.reshape(N, -1) if flatten == "channels_first" else p.transpose(0, 2, 3, 1).reshape(N, -1)
    z1 = R.linear(f, W1, b1)
    a1 = R.sigmoid(z1)
    z2 = R.linear(a1, W2, b2)
    h = R.sigmoid(z2)
    J = loss_factor * np.sum((h - y) ** 2)

    def deriv(z, a, layer):
        if layer in no_derivative:
            return 1.0
        return a * (1 - a) if not derivative_of_z else z * (1 - z)

    d2 = 2 * loss_factor * (h - y) * deriv(z2, h, "out")
    da1, dW2, db2 = R.linear_backward(d2, a1, W2)
    d1 = da1 * deriv(z1, a1, "hidden")
    df, dW1, db1 = R.linear_backward(d1, f, W1)
    if flatten == "channels_first":
        dp = df.reshape(p.shape)
    else:
        dp = df.reshape(p.shape[0], p.shape[2], p.shape[3], p.shape[1]).transpose(0, 3, 1, 2)
    if pool == "avg":
        dac = R.avg_pool2d_backward(dp, ac, 2) * (1 if pool_divide else 4)
    else:
        dac = R.max_pool2d_backward(dp, ac, 2)
    dzc = dac * deriv(zc, ac, "conv")
    _, dWc, dbc = R.conv2d_backward(dzc, x, Wc)
    if conv_dw == "last_item":
        _, dWc, dbc = R.conv2d_backward(dzc[-1:], x[-1:], Wc)
    elif conv_dw == "last_position":
        Ho, Wo = dzc.shape[2:]
        k = Wc.shape[2]
        dWc = np.einsum("nd,ncab->dcab", dzc[:, :, -1, -1], x[:, :, Ho - 1:Ho - 1 + k, Wo - 1:Wo - 1 + k])
        dbc = dzc[:, :, -1, -1].sum(axis=0)
    elif conv_dw == "flipped":
        dWc = dWc[:, :, ::-1, ::-1]
    elif conv_dw == "transposed":
        dWc = dWc.transpose(1, 0, 2, 3)
    grads = {"W_conv": dWc, "b_conv": dbc, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    if batch_mean:
        J, grads = J / N, {k: v / N for k, v in grads.items()}
    return np.float64(J), {k: np.ascontiguousarray(v) for k, v in grads.items()}


def _network_reference(params, x, y):
    return network(params, x, y)


def _net_case(arrays, x, y, note="", prefix=""):
    params = _params(arrays)
    D, C, k, _ = params["W_conv"].shape
    label = (f"{prefix}x {x.shape}, {D} conv filter{'s' if D > 1 else ''} {k}x{k}, FC {params['W1'].shape[1]} -> "
             f"{params['W1'].shape[0]} -> {params['W2'].shape[0]}")
    return Case("sigmoid_cnn_gradients", (params, np.asarray(x, dtype=_F64), np.asarray(y, dtype=_F64)), {},
                label + (f" ({note})" if note else ""))


def worked_example():
    """The lectures' worked example: one 5x5 image, one 2x2 filter, FC 4 -> 2 -> 2. Returns (params, x, y)."""
    x = _a([[0, 0, 1, 0, 0],
            [0, 1, 1, 1, 0],
            [1, 1, 0, 1, 1],
            [0, 1, 1, 1, 0],
            [0, 0, 1, 0, 0]]).reshape(1, 1, 5, 5)
    params = {"W_conv": _a([[1, -1], [-1, 1]]).reshape(1, 1, 2, 2), "b_conv": _a([0.5]),
              "W1": _a([[1, -1, 0.5, 0], [0, 1, -1, 0.5]]), "b1": _a([0, -0.5]),
              "W2": _a([[1, -2], [-1, 1]]), "b2": _a([0.5, 0])}
    y = _a([[1, 0]])
    return params, x, y


def _net_arrays(rng, C, D, k, H, W, H1, K, scale=0.7):
    Hp, Wp = (H - k + 1) // 2, (W - k + 1) // 2
    return {"W_conv": _rand(rng, (D, C, k, k), scale=scale), "b_conv": _rand(rng, D, scale=0.3),
            "W1": _rand(rng, (H1, D * Hp * Wp), scale=scale), "b1": _rand(rng, H1, scale=0.3),
            "W2": _rand(rng, (K, H1), scale=scale), "b2": _rand(rng, K, scale=0.3)}


def _one_hot(rng, N, K):
    y = np.zeros((N, K))
    y[np.arange(N), rng.integers(0, K, N)] = 1
    return y


def _visible_network():
    params, x, y = worked_example()
    rng = np.random.default_rng(404)
    out = [_net_case(params, x, y, "the lectures' worked example")]
    specs = [(2, 1, 2, 6, 6, 3, 3, 2, "a batch of 2, two filters: the gradients add up both images"),
             (2, 2, 2, 7, 7, 3, 4, 3, "a 5x5 conv output: pooling drops its last row and column"),
             (3, 3, 3, 8, 8, 3, 5, 4, "3 images with 3 channels, 3 filters")]
    for N, C, D, H, W, k, H1, K, note in specs:
        x = np.round(rng.random((N, C, H, W)), 1)
        out.append(_net_case(_net_arrays(rng, C, D, k, H, W, H1, K), x, _one_hot(rng, N, K), note))
    return out


def _hidden_network(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    specs = [(1, 1, 1, 6, 6, 3, 2, 2), (r(2, 4), 1, 2, r(6, 9), r(6, 9), 3, 3, 3),
             (r(2, 4), 2, r(2, 4), r(6, 9), r(6, 9), 2, r(2, 6), 2), (4, r(1, 3), 2, 7, 8, 3, 4, r(2, 5)),
             (r(1, 4), 3, 1, r(5, 8), r(5, 8), 2, 3, 3), (2, 1, 3, r(8, 11), r(8, 11), r(3, 5), 5, 4)]
    out = []
    for i, (N, C, D, H, W, k, H1, K) in enumerate(specs):
        x = rng.random((N, C, H, W))
        y = _one_hot(rng, N, K) if i % 2 == 0 else rng.random((N, K))
        out.append(_net_case(_net_arrays(rng, C, D, k, H, W, H1, K), x, y, prefix="random "))
    return out


def _network_variants(case):
    """[(code, text, (J, grads))] of the typical mistakes, for this case."""
    params, x, y = case.args
    N = x.shape[0]
    deriv = "sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z))"
    summed = ("J adds up the losses of the batch, and every image used the same weights, so the gradient is the "
              "sum over the images (and, for the convolution, over every position)")
    specs = [
        ("missing_sigmoid_derivative", f"the output layer's delta misses the sigmoid's derivative: "
                                       f"delta2 = (h - y) * {deriv} of z2", dict(no_derivative=("out",))),
        ("missing_sigmoid_derivative", f"the hidden layer's delta misses the sigmoid's derivative: "
                                       f"delta1 = (delta2 @ W2) * {deriv} of z1", dict(no_derivative=("hidden",))),
        ("missing_sigmoid_derivative", f"the convolution layer's delta misses the sigmoid's derivative: the gradient "
                                       f"spread back by the pooling is multiplied by {deriv} of z_conv",
         dict(no_derivative=("conv",))),
        ("missing_sigmoid_derivative", "no delta has the sigmoid's derivative: each sigmoid multiplies the gradient "
                                       f"that passes back through it by {deriv}",
         dict(no_derivative=("out", "hidden", "conv"))),
        ("derivative_of_z", "the sigmoid's derivative was computed as z * (1 - z) from the pre-activation z; it is "
                            "a * (1 - a) with a = sigmoid(z), the layer's output", dict(derivative_of_z=True)),
        ("avg_not_divided", "the average pooling's gradient was not divided: each of the 4 pixels of a 2x2 window "
                            "gets delta / 4", dict(pool_divide=False)),
        ("not_summed_batch", f"the convolution's gradients hold only the last image's share; {summed}",
         dict(conv_dw="last_item")),
        ("not_summed_positions", f"the convolution's gradients hold only the last position's share; {summed}",
         dict(conv_dw="last_position")),
        ("conv_weight_flipped", "dW_conv is rotated by 180°: it is the cross-correlation of x with delta_conv, "
                                "like the forward pass, with no flip", dict(conv_dw="flipped")),
        ("weight_transposed", "dW_conv has its first two axes swapped; it has the shape of W_conv, (D, C, k, k)",
         dict(conv_dw="transposed")),
        ("loss_factor", "J or its gradient misses the factor 1/2: J = 0.5 * sum((h - y)**2), so dJ/dh = h - y",
         dict(loss_factor=1.0)),
        ("flatten_order", "the pooled maps were flattened channels last; flatten (N, D, Hp, Wp) with "
                          "p.reshape(N, -1) (and undo it the same way in the backward pass)",
         dict(flatten="channels_last")),
        ("max_pooling", "this network uses max pooling; the lectures' network uses 2x2 average pooling",
         dict(pool="max")),
    ]
    if N > 1:
        specs.append(("not_summed_batch", f"J and the gradients are means over the batch; J = 0.5 * sum((h - y)**2) "
                                          f"is a sum, and so are its gradients: {summed}", dict(batch_mean=True)))
    out = []
    for code, text, kw in specs:
        try:
            out.append((code, text, network(params, x, y, **kw)))
        except Exception:  # a mistake the reference cannot form here is skipped
            continue
    return out


def _per_item_loss(params, x, y):
    """0.5 * sum((h - y)**2) of each image on its own: what a loss that was not summed over the batch gives."""
    return np.array([network(params, x[n:n + 1], y[n:n + 1])[0] for n in range(x.shape[0])])


def _judge_network(case, output, inputs_after=None):
    params, x, y = case.args
    J_ref, G_ref = network(params, x, y)
    modified = _modified_inputs(case, inputs_after)
    head = heading(case)
    keys = ", ".join(f"'{k}'" for k in KEYS)
    kind = type(output)
    if kind is dict:
        return _fail(head, case, None, None, "[not_a_pair] the output must be the pair (J, grads), e.g. "
                                             "`return J, grads`; got only a dict", "not_a_pair", modified)
    if (kind is not tuple and kind is not list) or len(output) != 2:
        what = _type_name(output) if kind not in (tuple, list) else f"{kind.__name__} of length {len(output)}"
        return _fail(head, case, None, None, f"[not_a_pair] the output must be the pair (J, grads): the loss and a "
                                             f"dict of gradients; got a {what}", "not_a_pair", modified)
    J_out, grads = output
    if type(grads) is not dict:
        return _fail(head, case, None, None, f"[not_a_dict] grads (the second element of the pair) must be a dict "
                                             f"with the keys of params ({keys}); got a {_type_name(grads)}",
                     "not_a_dict", modified)
    missing = [k for k in KEYS if k not in grads]
    if missing:
        return _fail(head, case, None, None, f"[not_a_dict] grads has no {', '.join(repr(k) for k in missing)}: it "
                                             f"holds one gradient for each key of params ({keys})", "not_a_dict",
                     modified)
    dtype = np.dtype(_F64)
    wrong = []     # (name, sentence, raw) of every part that is wrong, J first, then backward order
    j_raw, problem = _as_plain(J_out)
    if problem is None and j_raw.size == 1:
        j_raw = j_raw.reshape(())
    per_item = [Mistake("not_summed_batch", "J is one loss per image; J is their sum, one number: "
                                            "J = 0.5 * sum((h - y)**2) over every image and output",
                        value=_per_item_loss(params, x, y))] if x.shape[0] > 1 else []
    j_bad = _compare(case, "J", J_ref, j_raw if problem is None else J_out, per_item, dtype)
    if j_bad is not None:
        wrong.append(("J", j_bad[0], j_bad[2]))
        if j_bad[1] is not None and j_bad[1].code == "not_summed_batch":
            return _verdict(case, j_bad[0], j_bad[1], np.asarray(J_ref), j_bad[2], modified, "expected J")
    for k in BACKWARD_ORDER:
        bad = _compare(case, f"grads['{k}']", G_ref[k], grads[k], [], dtype)
        if bad is not None:
            wrong.append((k, bad[0], bad[2]))
    if not wrong:
        if modified:
            return _fail(head, case, None, None, "[input_modified] the output is right, but " + modified,
                         "input_modified", None)
        return Verdict(True, "", None)

    def same(name, raw, value):
        return raw is not None and np.shape(value) == raw.shape and _close(_to_float(raw), np.asarray(value), dtype)

    variants = _network_variants(case)
    mistake = None
    for code, text, (Jv, Gv) in variants:   # one mistake that explains every wrong part
        if all(same(n, raw, Jv if n == "J" else Gv[n]) for n, _, raw in wrong):
            mistake = Mistake(code, text)
            break
    if mistake is None:
        n0, _, raw0 = wrong[0]
        for code, text, (Jv, Gv) in variants:
            if same(n0, raw0, Jv if n0 == "J" else Gv[n0]):
                mistake = Mistake(code, text)
                break
        if mistake is None and n0 in ("W1", "W2") and same(n0, raw0, G_ref[n0].T):
            mistake = Mistake("weight_transposed", f"d{n0} is transposed: a weight's gradient has the weight's shape "
                                                   f"{G_ref[n0].shape} (out, in): d{n0} = delta^T @ (the layer's input)")
    name, sentence, raw = wrong[0]
    what = sentence
    others = [n for n, _, _ in wrong[1:]]
    if others:
        what += "; also wrong: " + ", ".join("J" if n == "J" else f"grads['{n}']" for n in others)
        if name != "J":
            what += (" (a wrong delta in one layer makes the gradients of every layer below it wrong too: start "
                     "with the layer nearest the output)")
    if mistake is not None:
        what += f"\n  likely mistake [{mistake.code}]: {mistake.text}"
    ref = J_ref if name == "J" else G_ref[name]
    label = "expected J" if name == "J" else f"expected grads['{name}']"
    return _fail(head, case, ref, raw, what, mistake.code if mistake else None, modified, ref_label=label)


# ----------------------------------------------------------------------------- numerical_gradient: functions

def _ng_case(f, x, eps=None, what="", prefix=""):
    kwargs = {} if eps is None else {"eps": eps}
    label = f"{prefix}f(x) = {what}, x of shape {x.shape}, " + (f"eps={eps:g}" if eps is not None else
                                                               "eps omitted (default 1e-6)")
    return Case("numerical_gradient", (f, x), kwargs, label)


def _visible_numerical():
    c = _ng_case
    A = _a([[2, 1, 0], [1, 3, -1], [0, -1, 1]])
    X = _a([[1, 0, 2], [0, 1, -1], [1, 1, 1], [2, -1, 0]])
    rng = np.random.default_rng(4)
    return [c(sum_of_squares, _a([1, -2, 3]), None, "sum(x**2), whose gradient is 2x"),
            c(sum_of_cubes, _a([[1, 2], [-1, 0.5]]), 0.1, "sum(x**3): central differences give 3x**2 + eps**2"),
            c(Quadratic(A, _a([1, 0, -1])), _a([1, 0, -1]), 0.01,
              "1/2 x^T A x + b^T x with A = [[2, 1, 0], [1, 3, -1], [0, -1, 1]], b = [1, 0, -1]: gradient A x + b"),
            c(SigmoidNeuron(X, _a([1, 0, 1, 0])), _a([0.5, -0.5, 0.25]), None,
              "the squared error of one sigmoid neuron, 1/2 sum((sigmoid(X w) - t)**2), as a function of w"),
            c(log_sum_exp, np.round(rng.standard_normal((2, 2, 2)), 2), 1e-3, "log(sum(exp(x))), x of three axes")]


def _hidden_numerical(rng):
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
        out.append(_ng_case(f, x, eps, what, prefix="random "))
    return out


def _differences(f, x, eps, kind):
    """The gradient as a mistaken numerical_gradient computes it; x itself is never changed."""
    x = np.array(x, dtype=_F64)
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


def _numerical_reference(f, x, eps=1e-6):
    return R.numerical_gradient(f, np.array(x, dtype=_F64), eps)


def _numerical_mistakes(case, ref):
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


def _judge_numerical(case, output, inputs_after=None):
    modified = _modified_inputs(case, inputs_after)
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


# ----------------------------------------------------------------------------- registration

_REFERENCES = {"linear_backward": R.linear_backward, "conv2d_backward": R.conv2d_backward}

register(Graded("sigmoid", ASSIGNMENT, _visible_sigmoid, _hidden_sigmoid, R.sigmoid, _sigmoid_mistakes,
                argnames=("z",), judge=_judge_sigmoid))
register(Graded("sigmoid_backward", ASSIGNMENT, _visible_sigmoid_backward, _hidden_sigmoid_backward,
                R.sigmoid_backward, _sb_mistakes, argnames=("dout", "z")))
register(Graded("linear_backward", ASSIGNMENT, _visible_linear, _hidden_linear, R.linear_backward,
                lambda case, ref: [], argnames=("dout", "x", "w"),
                judge=_judge_parts(("dx", "dw", "db"), _linear_mistakes)))
register(Graded("avg_pool2d_backward", ASSIGNMENT, lambda: _visible_pool("avg_pool2d_backward"),
                lambda rng: _hidden_pool("avg_pool2d_backward", rng), R.avg_pool2d_backward, _avg_back_mistakes,
                argnames=("dout", "x", "kernel_size", "stride")))
register(Graded("max_pool2d_backward", ASSIGNMENT, lambda: _visible_pool("max_pool2d_backward"),
                lambda rng: _hidden_pool("max_pool2d_backward", rng), R.max_pool2d_backward, _max_back_mistakes,
                argnames=("dout", "x", "kernel_size", "stride")))
register(Graded("conv2d_backward", ASSIGNMENT, _visible_conv, _hidden_conv, R.conv2d_backward,
                lambda case, ref: [], argnames=("dout", "x", "w"),
                judge=_judge_parts(("dx", "dw", "db"), _conv_mistakes)))
register(Graded("sigmoid_cnn_gradients", ASSIGNMENT, _visible_network, _hidden_network, _network_reference,
                lambda case, ref: [], argnames=("params", "x", "y"), judge=_judge_network))
register(Graded("numerical_gradient", ASSIGNMENT, _visible_numerical, _hidden_numerical, _numerical_reference,
                _numerical_mistakes, argnames=("f", "x", "eps"), judge=_judge_numerical))
