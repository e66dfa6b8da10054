"""stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None): one value drawn from each window.

In training mode value a_i of a window is drawn with probability p_i = a_i / sum_j a_j (a window of
zeros gives 0), from `rng`; in evaluation mode the output is the expectation sum_i p_i a_i = sum a^2 / sum a.

A draw is random, so training mode has a judge of its own that checks what every correct sampler does:
each output is a value of its own window with a non-zero probability, and over thousands of windows the
values are drawn as often as their probabilities say (a z-test at 6 standard deviations). Evaluation
mode is compared with the reference like any array. Cases that pass a generator as `rng` make the
expected output reproducible: the reference draws from a copy of it, so asking for the answer never
advances the case's generator.
"""

import copy

import numpy as np

from ... import reference as R
from ..common import EXAMPLE, F32, F64, SMALL, draw, dtype_name, image
from ..core import (Graded, Mistake, Verdict, as_plain, case_dtype, expected, fail, fmt, heading, modified_inputs,
                    register, to_float, tolerances, with_diagnosis)
from . import ASSIGNMENT
from .pooling import ARGS, geometry, geometry_mistakes, pool_case, windows

# windows needed before the sampling frequencies are tested, and how many standard deviations from the
# expected mean count as wrong (a false alarm about once in 10^9 runs)
_MIN_WINDOWS, _Z_LIMIT = 400, 6.0


def reference(x, kernel_size, stride=None, training=True, rng=None):
    """cnnkit.reference.stochastic_pool2d on a copy of the case's generator: asking for the answer must not
    advance it."""
    return R.stochastic_pool2d(x, kernel_size, stride, training=training, rng=copy.deepcopy(rng))


reference.__wrapped__ = R.stochastic_pool2d   # the answer is the reference's


def _training(case):
    return bool(case.kwargs.get("training", True))


def _special_windows(dtype=F64):
    """A (1, 1, 2, 10) image whose 2x2 windows are: constant, one positive, all zero, mixed, ties."""
    a = np.array([[2, 2, 0, 0, 0, 0, 1, 0, 3, 3],
                  [2, 2, 0, 5, 0, 0, 2, 4, 0, 1]], dtype=dtype)
    return a.reshape(1, 1, 2, 10)


def _frequency_image(rng, shape=(2, 3, 40, 40), values=(0, 1, 2, 5), dtype=F64):
    """An image whose 2x2 windows all hold `values`, in a random order each."""
    N, C, H, W = shape
    n = N * C * (H // 2) * (W // 2)
    win = rng.permuted(np.tile(np.array(values, dtype=dtype), (n, 1)), axis=1)
    return win.reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape).copy()


def visible():
    g = np.random.default_rng
    c = lambda *a, **kw: pool_case("stochastic_pool2d", *a, **kw)
    ex = image(EXAMPLE)
    zero = ex.copy()
    zero[0, 0, :2, :2] = 0
    return [
        c(ex, 2, training=False, note="the 4x4 example, evaluation: sum(a^2) / sum(a) in each window"),
        c(zero, 2, training=False, note="a window of zeros, evaluation: it gives 0"),
        c(image(SMALL), 3, 1, training=False, note="the 5x5 image of small integers, overlapping 3x3 windows, "
                                                   "evaluation"),
        c(image(SMALL), 2, training=False, note="the 5x5 image of small integers, 2x2 windows, evaluation: a row "
                                                "and a column left over"),
        c(ex, 2, rng=g(0), note="the 4x4 example, training (the default): one value of each window"),
        c(_special_windows(), 2, training=True, rng=g(1),
          note="windows that are constant, have one positive value, are all zero, are mixed, hold ties"),
        c(image(SMALL), 3, 2, training=True, rng=g(2), note="the 5x5 image of small integers, 3x3 windows "
                                                            "overlapping by one, training"),
        c(_frequency_image(g(3)), 2, training=True, rng=g(4),
          note="2400 windows each holding 0, 1, 2 and 5: they must be drawn 0, 1/8, 2/8 and 5/8 of the time"),
    ]


# ----------------------------------------------------------------------------- mistakes

def stochastic_mistakes(case, ref):
    """Evaluation mode: the mistakes, by value and shape; training mode: the shapes of the geometry mistakes."""
    x = case.args[0]
    k, s, _ = geometry(case)
    if _training(case):
        # any pooling with the wrong geometry has the shape of the mistake; only the shapes are used
        return [m for m in geometry_mistakes(case, ref, R.max_pool2d, None) if m.shape is not None]
    found = [Mistake("wrong_reduction", "this is the plain average of each window; in evaluation stochastic pooling "
                                        "weights each value by its probability: sum_i p_i a_i = sum a^2 / sum a",
                     value=R.avg_pool2d(x, k, s)),
             Mistake("wrong_reduction", "this is the largest value of each window (max pooling); in evaluation "
                                        "stochastic pooling gives sum_i p_i a_i = sum a^2 / sum a",
                     value=R.max_pool2d(x, k, s))]

    def weighted(x, kernel_size, stride=None, **kw):
        return R.stochastic_pool2d(x, kernel_size, stride, training=False, **kw)   # no ceil_mode: raises

    return found + geometry_mistakes(case, ref, weighted, None)


# ----------------------------------------------------------------------------- judging a random sample

def _fail_sample(head, case, example, raw, what, code, modified):
    """A failing verdict for a random output: one correct output stands where the expected one would."""
    return fail(head, case, example, raw, what, code, modified, ref_label="one correct output (outputs are random)")


def _probabilities(win):
    """p_i = a_i / sum_j a_j per window (0 for a window of zeros), and the window totals."""
    total = win.sum(axis=-1)
    return win / np.where(total > 0, total, 1)[..., None], total


def _frequency_z(win, y, atol):
    """The z-score of the summed probability of the drawn values, over windows that have a choice.

    For one window, the value v is drawn with probability P(v) (the sum of p_i over its elements equal
    to v); the mean of P(drawn) is sum_v P(v)^2 and its variance sum_v P(v)^3 - (sum_v P(v)^2)^2. A
    sampler that prefers large values scores above the mean, one that draws uniformly below it.
    Returns (z, windows used, share of windows whose largest value was drawn, the share expected);
    z is None when too few windows have a choice.
    """
    p, total = _probabilities(win)
    same = np.abs(win[..., :, None] - win[..., None, :]) <= atol     # (..., kk, kk)
    P = (same * p[..., None, :]).sum(axis=-1)                         # P(value of element i)
    mean = (p * P).sum(axis=-1)
    var = (p * P ** 2).sum(axis=-1) - mean ** 2
    drawn = ((np.abs(win - y[..., None]) <= atol) * p).sum(axis=-1)   # P(the value drawn)
    use = (total > 0) & (var > 1e-12)
    if use.sum() < _MIN_WINDOWS:
        return None, int(use.sum()), None, None
    top = np.abs(win - win.max(axis=-1, keepdims=True)) <= atol
    got_top = np.abs(y - win.max(axis=-1)) <= atol
    p_top = (top * p).sum(axis=-1)
    z = float((drawn[use] - mean[use]).sum() / np.sqrt(var[use].sum()))
    return z, int(use.sum()), float(got_top[use].mean()), float(p_top[use].mean())


def judge(case, output, inputs_after=None):
    if not _training(case):
        return _judge_evaluation(case, output, inputs_after)
    head = heading(case)
    x = case.args[0]
    k, s, out = geometry(case)
    dtype = case_dtype(case)
    modified = modified_inputs(case, inputs_after)
    example = expected(case)
    win = windows(x.astype(F64), k, s)
    shape = win.shape[:4]

    raw, problem = as_plain(output)
    if problem is not None:
        return _fail_sample(head, case, example, None, f"the output {problem}", None, modified)
    if raw.shape != shape:
        what = f"expected an output of shape {shape}, got shape {raw.shape}"
        m = next((m for m in stochastic_mistakes(case, example)
                  if m.shape is not None and tuple(m.shape) == raw.shape), None)
        if m is not None:
            what += f"\n  likely mistake [{m.code}]: {m.text}"
        return _fail_sample(head, case, example, raw, what, m.code if m else "wrong_shape", modified)
    y = to_float(raw)
    total = win.sum(axis=-1)
    zero = total == 0
    rtol, atol = tolerances(dtype, win)
    tol = atol + rtol * np.abs(win)
    match = np.abs(win - y[..., None]) <= tol
    positive = win > 0
    ok = np.where(zero, np.abs(y) <= atol, (match & positive).any(axis=-1))
    if not ok.all():
        bad = np.argwhere(~ok)
        i = tuple(int(t) for t in bad[0])
        w = win[i]
        what = (f"{len(bad)} of {ok.size} outputs are not a possible draw; first at index {i}: got {y[i]:.6g} "
                f"from the window {fmt(w.reshape(k))}".replace("\n", " "))
        code, text = None, None
        if np.isnan(y[zero]).any() and np.isfinite(y[~zero]).all():
            code, text = "zero_window", ("a window of zeros gave NaN: its probabilities 0/0 are undefined; such a "
                                         "window gives 0 (handle it before dividing by the sum)")
        elif (match & ~positive).any(axis=-1)[i] and not (match & positive).any(axis=-1)[i]:
            code, text = "zero_probability", ("a value of 0 was drawn from a window with positive values: its "
                                              "probability a_i / sum_j a_j is 0; draw each value with probability "
                                              "p_i = a_i / sum_j a_j (not uniformly)")
        elif np.allclose(y, R.stochastic_pool2d(x, k, s, training=False), rtol=rtol, atol=atol):
            code, text = "training_ignored", ("this is the evaluation-mode weighted average; with training=True "
                                              "(the default) each output is one value of its window, drawn at random")
        elif np.allclose(y, R.avg_pool2d(x, k, s), rtol=rtol, atol=atol):
            code, text = "wrong_reduction", ("this is the plain average of each window; in training stochastic "
                                             "pooling draws one value of each window")
        elif np.allclose(w, w[0]) and w[0] > 0:
            code, text = "not_in_window", (f"every value of this window is {w[0]:g}, so the only possible draw is "
                                           f"{w[0]:g}; each output is one value of its own window (window (i, j) "
                                           f"starts at (i*sH, j*sW))")
        else:
            code, text = "not_in_window", ("each output is one value of its own window (window (i, j) starts at "
                                           "(i*sH, j*sW)), drawn with probability a_i / sum_j a_j")
        return _fail_sample(head, case, example, raw, what + f"\n  likely mistake [{code}]: {text}", code, modified)

    z, used, top, p_top = _frequency_z(win, y, float(np.max(tol)) if tol.size else atol)
    if z is not None and abs(z) > _Z_LIMIT:
        maxed = np.allclose(y, win.max(axis=-1), rtol=rtol, atol=atol)
        what = (f"every output is a value of its window, but over {used} windows the values were not drawn "
                f"with probabilities a_i / sum_j a_j: the largest value of a window was drawn in {top:.1%} of "
                f"them, where about {p_top:.1%} was expected (z = {z:+.1f}; a correct sampler stays within "
                f"±{_Z_LIMIT:g})")
        if maxed:
            code, text = "always_max", ("every output is its window's maximum: that is max pooling; stochastic "
                                        "pooling draws each value at random with probability a_i / sum_j a_j")
        elif z < 0:
            code, text = "wrong_probabilities", ("large values were drawn too rarely, as if every value (or every "
                                                 "positive value) were equally likely; draw value i with "
                                                 "probability p_i = a_i / sum_j a_j (e.g. rng.choice(n, p=p))")
        else:
            code, text = "wrong_probabilities", ("large values were drawn too often (probabilities that grow faster "
                                                 "than a_i, e.g. a_i^2); draw value i with probability "
                                                 "p_i = a_i / sum_j a_j")
        return _fail_sample(head, case, None, None, what + f"\n  likely mistake [{code}]: {text}", code, modified)
    if dtype == np.float32 and raw.dtype != np.float32:
        return _fail_sample(head, case, example, raw,
                            f"[wrong_dtype] the values are possible draws, but the output's dtype is {raw.dtype} for "
                            f"float32 inputs; functions keep the floating dtype they are given", "wrong_dtype",
                            modified)
    if modified:
        return _fail_sample(head, case, example, None, "[input_modified] the output is right, but " + modified,
                            "input_modified", None)
    return Verdict(True, "", None)


def _diagnose_evaluation(case, y, ref):
    """Evaluation mode's mistakes that only the windows show: NaN for a window of zeros, a random draw."""
    k, s, _ = geometry(case)
    win = windows(case.args[0].astype(F64), k, s)
    zero = win.sum(axis=-1) == 0
    rtol, atol = tolerances(case_dtype(case), ref)
    if zero.any() and np.isnan(y[zero]).all() and np.allclose(y[~zero], ref[~zero], rtol=rtol, atol=atol):
        return "zero_window", ("a window of zeros gave NaN (0/0); such a window gives 0: handle it before dividing "
                               "by the sum")
    if (np.abs(win - y[..., None]) <= atol + rtol * np.abs(win)).any(axis=-1).all():
        return "training_ignored", ("every output is one value of its window, a random draw; with training=False "
                                    "the output is the weighted average sum a^2 / sum a")
    return None


_judge_evaluation = with_diagnosis(_diagnose_evaluation)


# ----------------------------------------------------------------------------- hidden cases, for the grader

def _relu_image(rng, shape, dt):
    """Non-negative values, about half of them zero, with a constant and a one-hot 2x2 block and a zero block."""
    x = np.maximum(rng.standard_normal(shape), 0)
    H, W = shape[2:]
    if H >= 4 and W >= 4:
        x[:, :, :2, :2] = 1.5
        x[:, :, 2:4, :2] = 0
        x[:, :, 2, 1] = 0.75
        x[:, :, :2, 2:4] = 0
    return x.astype(dt)


def hidden(rng):
    # training cases are large enough (hundreds of windows with a choice) for the frequency test;
    # evaluation cases are small, so a failure message can print them
    specs = [((2, 3, (22, 30), (22, 30)), 2, None, True), ((2, 1, (5, 9), (5, 9)), 2, 2, False),
             ((2, 3, (20, 26), (20, 26)), 3, 1, True), ((2, 2, (6, 9), (6, 9)), 3, 2, False),
             ((1, 3, (22, 28), (24, 30)), (2, 3), (2, 1), True), ((1, 1, (5, 8), (5, 8)), 3, None, False),
             ((1, 2, (4, 8), (4, 8)), 2, None, True), ((2, 2, (4, 8), (4, 8)), 2, None, False),
             ((2, 3, (34, 40), (34, 40)), 2, 3, True)]
    out = []
    for dt in (F64, F32):
        for shape, k, s, training in specs:
            shape = tuple(draw(rng, v) for v in shape)
            x = _relu_image(rng, shape, dt)
            kw = {"training": training}
            if training:
                kw["rng"] = np.random.default_rng(int(rng.integers(2 ** 32)))
            out.append(pool_case("stochastic_pool2d", x, k, s, "training" if training else "evaluation",
                                 prefix=f"random non-negative {dtype_name(dt)} ", **kw))
    out.append(pool_case("stochastic_pool2d", _relu_image(rng, (2, 3, 24, 24), F64), 2, None,
                         "training, rng=None: fresh randomness", prefix="random non-negative float64 ", rng=None))
    values = tuple(sorted(int(v) for v in rng.choice(np.arange(1, 9), 3, replace=False))) + (0,)
    for dt in (F64, F32):
        x = _frequency_image(rng, (2, 3, 40, 40), values, dt)
        out.append(pool_case("stochastic_pool2d", x, 2, None,
                             f"2400 windows each holding {', '.join(map(str, values))}, training: each value must "
                             f"be drawn in proportion to its size", prefix=f"{dtype_name(dt)} ",
                             training=True, rng=np.random.default_rng(int(rng.integers(2 ** 32)))))
    return out


register(Graded("stochastic_pool2d", ASSIGNMENT, visible, hidden, reference, stochastic_mistakes, argnames=ARGS,
                judge=judge))
