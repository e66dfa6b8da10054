"""Tests of the checks of assignment 04 (backpropagation): correct implementations pass, typical mistakes are
named, hostile output fails cleanly, and the reference answers agree with PyTorch's autograd."""

import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st

from cnnkit import checks
from cnnkit import reference as R
from cnnkit.checks import a04
from judging import HOSTILE, Liar, LyingArray, diagnosed, object_array, verdicts

A04 = checks.for_assignment("04")
NAMES = checks.GRADED["04"]
SEEDS = (0, 1, 7)


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def _t(a, grad=False):
    t = torch.from_numpy(np.ascontiguousarray(a)).clone()
    return t.requires_grad_(grad) if grad else t


def _pool_geometry(x, kernel_size, stride):
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    H, W = x.shape[2:]
    return kh, kw, sh, sw, (H - kh) // sh + 1, (W - kw) // sw + 1


# ----------------------------------------------------------------------------- correct, written with loops

def sigmoid_loops(z):
    out = np.empty_like(z)
    for i in np.ndindex(z.shape):
        v = float(z[i])
        out[i] = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    return out


def sigmoid_backward_loops(dout, z):
    dz = np.empty_like(z)
    for i in np.ndindex(z.shape):
        s = 1 / (1 + math.exp(-float(z[i]))) if z[i] >= 0 else math.exp(float(z[i])) / (1 + math.exp(float(z[i])))
        dz[i] = dout[i] * s * (1 - s)
    return dz


def linear_backward_loops(dout, x, w):
    N, n_in = x.shape
    n_out = w.shape[0]
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros(n_out, dtype=x.dtype)
    for n in range(N):
        for o in range(n_out):
            db[o] += dout[n, o]
            for i in range(n_in):
                dw[o, i] += dout[n, o] * x[n, i]
                dx[n, i] += dout[n, o] * w[o, i]
    return dx, dw, db


def avg_pool_backward_loops(dout, x, kernel_size, stride=None):
    kh, kw, sh, sw, Ho, Wo = _pool_geometry(x, kernel_size, stride)
    dx = np.zeros_like(x)
    N, C = x.shape[:2]
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    for a in range(kh):
                        for b in range(kw):
                            dx[n, c, i * sh + a, j * sw + b] += dout[n, c, i, j] / (kh * kw)
    return dx


def max_pool_backward_loops(dout, x, kernel_size, stride=None):
    kh, kw, sh, sw, Ho, Wo = _pool_geometry(x, kernel_size, stride)
    dx = np.zeros_like(x)
    N, C = x.shape[:2]
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, at = -np.inf, None
                    for a in range(kh):
                        for b in range(kw):
                            if x[n, c, i * sh + a, j * sw + b] > best:   # strictly: the first maximum wins
                                best, at = x[n, c, i * sh + a, j * sw + b], (i * sh + a, j * sw + b)
                    dx[n, c, at[0], at[1]] += dout[n, c, i, j]
    return dx


def conv2d_backward_loops(dout, x, w, stride=1, padding=0):
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = np.zeros(w.shape[0], dtype=x.dtype)
    N, Co, Ho, Wo = dout.shape
    kh, kw = w.shape[2:]
    for n in range(N):
        for o in range(Co):
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, o, i, j]
                    block = xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    dw[o] += g * block
                    dxp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += g * w[o]
                    db[o] += g
    return dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]], dw, db


def _conv_forward_loops(x, w, b):
    N, C, H, W = x.shape
    D, _, k, _ = w.shape
    y = np.zeros((N, D, H - k + 1, W - k + 1))
    for n in range(N):
        for d in range(D):
            for i in range(H - k + 1):
                for j in range(W - k + 1):
                    y[n, d, i, j] = np.sum(x[n, :, i:i + k, j:j + k] * w[d]) + b[d]
    return y


def network_numpy(params, x, y, bug=None):
    """The lectures' network written image by image; `bug` makes one of the typical mistakes on purpose."""
    W_conv, b_conv, W1, b1, W2, b2 = (params[k] for k in ("W_conv", "b_conv", "W1", "b1", "W2", "b2"))
    N = x.shape[0]
    sig = lambda z: 1 / (1 + np.exp(-z))
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    J = 0.0
    for n in range(N):
        z_c = _conv_forward_loops(x[n:n + 1], W_conv, b_conv)[0]          # (D, Hc, Wc)
        a_c = sig(z_c)
        D, Hc, Wc = a_c.shape
        Hp, Wp = Hc // 2, Wc // 2
        p = a_c[:, :2 * Hp, :2 * Wp].reshape(D, Hp, 2, Wp, 2).mean(axis=(2, 4))
        f = p.ravel()
        a1 = sig(W1 @ f + b1)
        h = sig(W2 @ a1 + b2)
        J += 0.5 * np.sum((h - y[n]) ** 2)
        d2 = (h - y[n]) * (1 if bug == "no_output_derivative" else h * (1 - h))
        d1 = (W2.T @ d2) * (1 if bug == "no_hidden_derivative" else a1 * (1 - a1))
        dp = (W1.T @ d1).reshape(D, Hp, Wp)
        da = np.zeros_like(a_c)
        share = 1.0 if bug == "pool_not_divided" else 0.25
        da[:, :2 * Hp, :2 * Wp] = np.repeat(np.repeat(dp, 2, axis=1), 2, axis=2) * share
        dz = da * (1 if bug == "no_conv_derivative" else a_c * (1 - a_c))
        grads["W2"] += np.outer(d2, a1)
        grads["b2"] += d2
        grads["W1"] += np.outer(d1, f)
        grads["b1"] += d1
        k = W_conv.shape[2]
        dWc = np.zeros_like(W_conv)
        for i in range(Hc):
            for j in range(Wc):
                if bug == "conv_dw_overwritten":     # = instead of +=: the last position only
                    dWc = np.einsum("d,cab->dcab", dz[:, i, j], x[n, :, i:i + k, j:j + k])
                else:
                    dWc += np.einsum("d,cab->dcab", dz[:, i, j], x[n, :, i:i + k, j:j + k])
        if bug == "conv_dw_last_image":
            grads["W_conv"] = dWc
            grads["b_conv"] = dz.sum(axis=(1, 2))
        else:
            grads["W_conv"] += dWc
            grads["b_conv"] += dz[:, -1, -1] if bug == "conv_dw_overwritten" else dz.sum(axis=(1, 2))
    if bug == "W1_transposed":
        grads["W1"] = grads["W1"].T.copy()
    if bug == "W_conv_transposed":
        grads["W_conv"] = grads["W_conv"].transpose(1, 0, 2, 3).copy()
    if bug == "batch_mean":
        J, grads = J / N, {k: v / N for k, v in grads.items()}
    return J, grads


def network_loops(params, x, y):
    return network_numpy(params, x, y)


def numerical_gradient_copy(f, x, eps=1e-6):
    """Central differences on a flat copy: x itself is never touched."""
    flat = x.astype(np.float64).ravel()
    grad = np.empty_like(flat)
    for i in range(flat.size):
        step = np.zeros_like(flat)
        step[i] = eps
        grad[i] = (f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / (2 * eps)
    return grad.reshape(x.shape)


def numerical_gradient_in_place(f, x, eps=1e-6):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad


LOOPS = {
    "sigmoid": sigmoid_loops,
    "sigmoid_backward": sigmoid_backward_loops,
    "linear_backward": linear_backward_loops,
    "avg_pool2d_backward": avg_pool_backward_loops,
    "max_pool2d_backward": max_pool_backward_loops,
    "conv2d_backward": conv2d_backward_loops,
    "sigmoid_cnn_gradients": network_loops,
    "numerical_gradient": numerical_gradient_in_place,
}


# ----------------------------------------------------------------------------- correct, by PyTorch's autograd

def torch_sigmoid(z):
    return torch.sigmoid(_t(z)).numpy()


def torch_sigmoid_backward(dout, z):
    zt = _t(z, grad=True)
    torch.sigmoid(zt).backward(_t(dout))
    return zt.grad.numpy()


def torch_linear_backward(dout, x, w):
    xt, wt = _t(x, True), _t(w, True)
    bt = torch.zeros(w.shape[0], dtype=wt.dtype, requires_grad=True)
    F.linear(xt, wt, bt).backward(_t(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def torch_pool_backward(pool):
    def fn(dout, x, kernel_size, stride=None):
        xt = _t(x, True)
        pool(xt, kernel_size, stride).backward(_t(dout))
        return xt.grad.numpy()
    return fn


def torch_conv2d_backward(dout, x, w, stride=1, padding=0):
    xt, wt = _t(x, True), _t(w, True)
    bt = torch.zeros(w.shape[0], dtype=wt.dtype, requires_grad=True)
    F.conv2d(xt, wt, bt, stride=stride, padding=padding).backward(_t(dout))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def torch_network(params, x, y):
    t = {k: _t(np.asarray(v), True) for k, v in params.items()}
    h = torch.sigmoid(F.linear(torch.sigmoid(F.linear(
        F.avg_pool2d(torch.sigmoid(F.conv2d(_t(x), t["W_conv"], t["b_conv"])), 2).flatten(1), t["W1"], t["b1"])),
        t["W2"], t["b2"]))
    J = 0.5 * ((h - _t(y)) ** 2).sum()
    J.backward()
    return J.item(), {k: v.grad.numpy() for k, v in t.items()}


TORCH = {
    "sigmoid": torch_sigmoid,
    "sigmoid_backward": torch_sigmoid_backward,
    "linear_backward": torch_linear_backward,
    "avg_pool2d_backward": torch_pool_backward(F.avg_pool2d),
    "max_pool2d_backward": torch_pool_backward(F.max_pool2d),
    "conv2d_backward": torch_conv2d_backward,
    "sigmoid_cnn_gradients": torch_network,
    "numerical_gradient": numerical_gradient_copy,
}


def test_assignment_04_grades_the_functions_of_the_course():
    assert NAMES == ("sigmoid", "sigmoid_backward", "linear_backward", "avg_pool2d_backward", "max_pool2d_backward",
                     "conv2d_backward", "sigmoid_cnn_gradients", "numerical_gradient")
    assert all(c.assignment == "04" for c in A04.cases("sigmoid"))


@pytest.mark.parametrize("impl", [LOOPS, TORCH], ids=["loops", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_correct_implementations_pass_every_case(name, impl, capsys):
    A04.check(name, impl[name])
    assert f"checks passed for {name}" in capsys.readouterr().out
    for seed in SEEDS:
        A04.check(name, impl[name], seed=seed, hidden=True)


# ----------------------------------------------------------------------------- the reference against PyTorch

def _all_cases(name):
    return A04.cases(name) + [c for s in SEEDS for c in A04.cases(name, seed=s, hidden=True)]


@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_backward", "linear_backward", "avg_pool2d_backward",
                                  "max_pool2d_backward", "conv2d_backward"])
def test_reference_answers_agree_with_pytorch(name):
    for case in _all_cases(name):
        want, got = TORCH[name](*case.args, **case.kwargs), checks.expected(case)
        for w_, g_ in zip(want if isinstance(want, tuple) else (want,), got if isinstance(got, tuple) else (got,)):
            tol = 1e-4 if g_.dtype == np.float32 else 1e-10
            np.testing.assert_allclose(g_, w_, rtol=tol, atol=tol, err_msg=case.label)
            assert g_.dtype == case.args[-1 if name == "sigmoid" else 1].dtype or name == "sigmoid_backward"


def test_network_reference_agrees_with_autograd_and_the_worked_example():
    for case in _all_cases("sigmoid_cnn_gradients"):
        J, grads = a04.network(*case.args)
        Jt, gt = torch_network(*case.args)
        assert J == pytest.approx(Jt, rel=1e-12)
        for k in a04.KEYS:
            np.testing.assert_allclose(grads[k], gt[k], rtol=1e-9, atol=1e-12, err_msg=f"{case.label}: {k}")
            assert grads[k].shape == case.args[0][k].shape
    first = A04.cases("sigmoid_cnn_gradients")[0]
    assert "worked example" in first.label
    J, grads = a04.network(*first.args)
    assert J == pytest.approx(0.218913, abs=1e-6)          # the number printed in the notebook's section 1
    np.testing.assert_allclose(grads["b2"], [-0.1142, 0.1187], atol=1e-4)


def _torch_twin(f):
    """f of the numerical_gradient cases, in PyTorch."""
    if f is a04.sum_of_squares:
        return lambda x: (x ** 2).sum()
    if f is a04.sum_of_cubes:
        return lambda x: (x ** 3).sum()
    if f is a04.log_sum_exp:
        return lambda x: torch.logsumexp(x.flatten(), 0)
    if f is a04.sine_product:
        return lambda x: torch.prod(torch.sin(x))
    if isinstance(f, a04.Quadratic):
        A, b = _t(f.A), _t(f.b)
        return lambda x: 0.5 * x.flatten() @ A @ x.flatten() + b @ x.flatten()
    if isinstance(f, a04.SigmoidNeuron):
        X, t = _t(f.X), _t(f.t)
        return lambda w: 0.5 * ((torch.sigmoid(X @ w.flatten()) - t) ** 2).sum()
    if isinstance(f, a04.SigmoidLayer):
        a, y = _t(f.a), _t(f.y)
        return lambda W: 0.5 * ((torch.sigmoid(a @ W.T) - y) ** 2).sum()
    raise AssertionError(f"no twin for {f}")


def test_numerical_gradients_agree_with_autograd():
    for case in _all_cases("numerical_gradient"):
        f, x = case.args
        xt = _t(x, True)
        _torch_twin(f)(xt).backward()
        eps = case.kwargs.get("eps", 1e-6)
        # the case's own step gives the reference answer; at eps = 1e-6 it is the derivative itself
        np.testing.assert_allclose(R.numerical_gradient(f, x.copy(), 1e-6), xt.grad.numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=case.label)
        np.testing.assert_allclose(checks.expected(case), xt.grad.numpy(), rtol=10 * eps ** 2 + 1e-6,
                                   atol=10 * eps ** 2 + 1e-7, err_msg=case.label)
    cubes = next(c for c in A04.cases("numerical_gradient") if c.args[0] is a04.sum_of_cubes)
    np.testing.assert_allclose(checks.expected(cubes), 3 * cubes.args[1] ** 2 + cubes.kwargs["eps"] ** 2)


# ----------------------------------------------------------------------------- random shapes (hypothesis)

@st.composite
def conv_geometry(draw):
    N, Ci, Co = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1)))
    H, W = draw(st.integers(kh, 8)), draw(st.integers(kw, 8))
    seed = draw(st.integers(0, 2 ** 16))
    return N, Ci, Co, H, W, kh, kw, s, p, seed


@given(conv_geometry(), st.sampled_from([np.float32, np.float64]))
def test_conv2d_backward_judge_on_random_geometry(geo, dtype):
    N, Ci, Co, H, W, kh, kw, s, p, seed = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, Ci, H, W)).astype(dtype)
    w = rng.standard_normal((Co, Ci, kh, kw)).astype(dtype)
    Ho, Wo = (H + 2 * p[0] - kh) // s[0] + 1, (W + 2 * p[1] - kw) // s[1] + 1
    dout = rng.standard_normal((N, Co, Ho, Wo)).astype(dtype)
    case = checks.Case("conv2d_backward", (dout, x, w), {"stride": s, "padding": p}, "random", assignment="04")
    ref = checks.expected(case)
    for got, want in zip(ref, torch_conv2d_backward(dout, x, w, s, p)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert checks.judge(case, conv2d_backward_loops(dout, x, w, s, p)).passed
    dx, dw, db = ref
    if Ci != Co or not np.allclose(dw, dw.transpose(1, 0, 2, 3)):
        v = checks.judge(case, (dx, dw.transpose(1, 0, 2, 3), db))
        assert not v.passed and v.diagnosis == "weight_transposed", v.message
    if N > 1 and N != Ho * Wo and not np.allclose(dw, dw / N):    # (N = Ho * Wo: the mean over positions too)
        v = checks.judge(case, (dx, dw / N, db))
        assert not v.passed and v.diagnosis == "not_summed_batch", v.message


@given(st.integers(1, 2), st.integers(1, 3), st.integers(2, 9), st.integers(2, 9), st.integers(1, 3),
       st.integers(1, 3), st.one_of(st.none(), st.integers(1, 3)), st.booleans(), st.integers(0, 2 ** 16))
def test_pooling_backward_on_random_geometry(N, C, H, W, kh, kw, stride, ties, seed):
    if kh > H or kw > W:
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (N, C, H, W)).astype(float) if ties else rng.standard_normal((N, C, H, W))
    _, _, sh, sw, Ho, Wo = _pool_geometry(x, (kh, kw), stride)
    dout = rng.standard_normal((N, C, Ho, Wo))
    args = (dout, x, (kh, kw)) if stride is None else (dout, x, (kh, kw), stride)
    for name, loops, pool in (("avg_pool2d_backward", avg_pool_backward_loops, F.avg_pool2d),
                              ("max_pool2d_backward", max_pool_backward_loops, F.max_pool2d)):
        case = checks.Case(name, args, {}, "random", assignment="04")
        np.testing.assert_allclose(checks.expected(case), torch_pool_backward(pool)(*args), atol=1e-12)
        assert checks.judge(case, loops(*args)).passed
    if kh * kw > 1:
        case = checks.Case("avg_pool2d_backward", args, {}, "random", assignment="04")
        v = checks.judge(case, checks.expected(case) * kh * kw)
        assert not v.passed and v.diagnosis == "avg_not_divided", v.message


@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 16))
def test_linear_backward_on_random_shapes(N, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    dout, x, w = rng.standard_normal((N, n_out)), rng.standard_normal((N, n_in)), rng.standard_normal((n_out, n_in))
    case = checks.Case("linear_backward", (dout, x, w), {}, "random", assignment="04")
    for got, want in zip(checks.expected(case), torch_linear_backward(dout, x, w)):
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert checks.judge(case, linear_backward_loops(dout, x, w)).passed
    dx, dw, db = checks.expected(case)
    if dw.shape != dw.T.shape or not np.allclose(dw, dw.T):
        v = checks.judge(case, (dx, x.T @ dout, db))
        assert not v.passed and v.diagnosis == "weight_transposed", v.message


# ----------------------------------------------------------------------------- cases

@pytest.mark.parametrize("name", NAMES)
def test_cases_deterministic_per_seed_and_picklable(name):
    a, b, c = (A04.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    assert [u.label for u in a] == [v.label for v in b]
    for u, v in zip(a, b):
        for p, q in zip(u.args, v.args):
            assert type(p) is type(q)
            if isinstance(p, np.ndarray):
                assert p.dtype == q.dtype and np.array_equal(p, q)
    data = lambda case: case.args[min(1, len(case.args) - 1)]      # x (z for the sigmoid)
    assert any(not np.array_equal(data(u), data(v)) for u, v in zip(a, c))
    for case in A04.cases(name) + a:
        back = pickle.loads(pickle.dumps(case))
        assert checks.judge(back, checks.expected(case) if name not in ("sigmoid_cnn_gradients",) else
                            a04.network(*case.args)).passed


def test_hidden_cases_cover_both_dtypes_ties_overlaps_strides_and_padding():
    for name in ("sigmoid", "sigmoid_backward", "linear_backward", "avg_pool2d_backward", "conv2d_backward"):
        dtypes = {c.args[-1 if name == "sigmoid" else 1].dtype for c in A04.cases(name, hidden=True)}
        assert dtypes == {np.dtype(np.float32), np.dtype(np.float64)}, name
    pools = A04.cases("max_pool2d_backward", hidden=True)
    assert any("ties" in c.label for c in pools)
    assert any(len(c.args) > 3 and _pair(c.args[3])[0] < _pair(c.args[2])[0] for c in pools)   # overlapping
    convs = A04.cases("conv2d_backward", hidden=True)
    assert any("stride" in c.kwargs for c in convs) and any(c.kwargs.get("padding") for c in convs)
    assert any(c.args[1].shape[0] > 1 for c in convs)
    sig = A04.cases("sigmoid", hidden=True)
    assert any(np.abs(c.args[0]).max() > 700 for c in sig)
    nets = A04.cases("sigmoid_cnn_gradients", hidden=True)
    assert any(c.args[1].shape[0] > 1 for c in nets) and any(c.args[1].shape[1] > 1 for c in nets)
    assert any((c.args[1].shape[2] - c.args[0]["W_conv"].shape[2] + 1) % 2 for c in nets)   # a ragged pooling
    assert {type(c.args[0]) for c in A04.cases("numerical_gradient", hidden=True)} >= {a04.Quadratic,
                                                                                       a04.SigmoidLayer}


def test_params_cannot_be_changed_and_survive_pickling():
    case = A04.cases("sigmoid_cnn_gradients")[0]
    params = case.args[0]
    assert isinstance(params, dict)
    with pytest.raises(TypeError, match="grads = "):
        params["W1"] = np.zeros(1)
    with pytest.raises(ValueError):
        params["W1"][0, 0] = 5.0
    back = pickle.loads(pickle.dumps(params))
    assert type(back) is a04.Params and back.keys() == params.keys()
    assert all(np.array_equal(back[k], params[k]) for k in params)
    assert dict(params) == dict(params) and isinstance({**params}, dict)


# ----------------------------------------------------------------------------- diagnoses

def _hits(name, fn, code, hidden=False):
    return diagnosed(A04, name, fn, code, hidden, skip_raising=True)


def _named(name, fn, code, text):
    hits = _hits(name, fn, code)
    found = [v for v in hits if text in v.message]
    assert found, f"{name}: no [{code}] message says {text!r}:\n{hits[0].message}"
    return found[0]


def _naive_sigmoid(z):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(z) / (1 + np.exp(z))


def _sig(z):
    return R.sigmoid(z)


def _lin(transform):
    def fn(dout, x, w):
        return transform(dout, x, w, *R.linear_backward(dout, x, w))
    return fn


def _pool_windows(mode, accumulate=True):
    """A max / average pooling backward pass, window by window, with one deliberate mistake."""
    def fn(dout, x, kernel_size, stride=None):
        kh, kw, sh, sw, Ho, Wo = _pool_geometry(x, kernel_size, stride)
        dx = np.zeros_like(x)
        for i in range(Ho):
            for j in range(Wo):
                win = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                g = dout[:, :, i, j][:, :, None, None]
                if mode == "ties_all":
                    part = (win == win.max(axis=(2, 3), keepdims=True)) * g
                elif mode == "ties_split":
                    m = win == win.max(axis=(2, 3), keepdims=True)
                    part = m * g / m.sum(axis=(2, 3), keepdims=True)
                elif mode == "ties_last":
                    flat = win.reshape(win.shape[:2] + (-1,))
                    a = flat.shape[-1] - 1 - np.argmax(flat[..., ::-1], axis=-1)
                    part = (np.eye(kh * kw)[a] * g[..., 0]).reshape(win.shape)
                elif mode == "spread":
                    part = np.ones_like(win) * g
                elif mode == "first":
                    flat = win.reshape(win.shape[:2] + (-1,))
                    part = (np.eye(kh * kw)[np.argmax(flat, axis=-1)] * g[..., 0]).reshape(win.shape)
                else:   # "mean"
                    part = np.ones_like(win) * g / (kh * kw)
                if accumulate:
                    dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += part
                else:
                    dx[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] = part
        return dx
    return fn


def _avg_by_repeat(dout, x, kernel_size, stride=None):
    kh, kw = _pair(kernel_size)
    return np.repeat(np.repeat(dout, kh, axis=2), kw, axis=3) / (kh * kw)


def _conv(transform):
    def fn(dout, x, w, stride=1, padding=0):
        return transform(dout, x, w, stride, padding, *R.conv2d_backward(dout, x, w, stride, padding))
    return fn


def _conv_dw_overwritten(dout, x, w, stride=1, padding=0):
    """Loops over positions that assign dw instead of adding to it: only the last position is left."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx, _, db = R.conv2d_backward(dout, x, w, stride, padding)
    kh, kw = w.shape[2:]
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dw = np.einsum("no,ncab->ocab", dout[:, :, i, j], xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw])
    return dx, dw.astype(x.dtype), db


def _conv_last_image(dout, x, w, stride=1, padding=0):
    dx, _, _ = R.conv2d_backward(dout, x, w, stride, padding)
    for n in range(x.shape[0]):
        _, dw, db = R.conv2d_backward(dout[n:n + 1], x[n:n + 1], w, stride, padding)
    return dx, dw, db


def _conv_unflipped(dout, x, w, stride=1, padding=0):
    dx, dw, db = R.conv2d_backward(dout, x, w[:, :, ::-1, ::-1], stride, padding)
    return dx, R.conv2d_backward(dout, x, w, stride, padding)[1], db


def _conv_padded_dx(dout, x, w, stride=1, padding=0):
    ph, pw = _pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return (R.conv2d_backward(dout, xp, w, stride)[0],) + R.conv2d_backward(dout, x, w, stride, padding)[1:]


def _net(bug):
    return lambda params, x, y: network_numpy(params, x, y, bug=bug)


def _writes_into_params(params, x, y):
    J, grads = network_numpy(params, x, y)
    out = params
    for k, v in grads.items():
        out[k] = v        # grads = params; grads[k] = ...: refused
    return J, out


def _one_sided(f, x, eps=1e-6):
    x = x.copy()
    g = np.zeros(x.shape)
    base = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        g[i] = (f(x) - base) / eps
        x[i] = old
    return g


def _not_restored(f, x, eps=1e-6):
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        g[i] = (fp - f(x)) / (2 * eps)       # and x[i] is never put back
    return g


def _not_restored_copy(f, x, eps=1e-6):
    x = x.astype(float)        # the caller's x is safe, but the copy drifts
    return _not_restored(f, x, eps)


def _over_eps(f, x, eps=1e-6):
    return 2 * numerical_gradient_copy(f, x, eps)


WRONG = [
    ("sigmoid", lambda z: 1 / (1 + np.exp(z)), "sigmoid_sign", "flipped"),
    ("sigmoid", np.tanh, "wrong_function", "tanh"),
    ("sigmoid", lambda z: np.exp(z), "wrong_function", "without the 1 / (1 + ...)"),
    ("sigmoid", _naive_sigmoid, "sigmoid_overflow", "NaN"),
    ("sigmoid", lambda z: _sig(z).astype(np.float64), "wrong_dtype", "dtype"),
    ("sigmoid_backward", lambda dout, z: dout, "missing_sigmoid_derivative", "derivative is missing"),
    ("sigmoid_backward", lambda dout, z: dout * z * (1 - z), "derivative_of_z", "sigmoid's OUTPUT"),
    ("sigmoid_backward", lambda dout, z: _sig(z) * (1 - _sig(z)), "dout_missing", "chain rule"),
    ("sigmoid_backward", lambda dout, z: dout * _sig(z), "derivative_incomplete", "(1 - sigmoid(z))"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, x.T @ dout, db)), "weight_transposed",
     "dw is transposed"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw / len(x), db)), "not_summed_batch", "mean"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, np.outer(dout[-1], x[-1]), db)), "not_summed_batch",
     "last item"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw, dout)), "not_summed_batch", "db is dout"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw, dout.sum(axis=1))), "wrong_axis", "axis=0"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx.T, dw, db)), "dx_transposed", "shape of x"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dout @ w.T if w.shape[0] == w.shape[1] else dx * 2, dw,
                                                             db)), "weight_transposed", "used w.T"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dw, dx, db)), "wrong_order", "order of the inputs"),
    ("linear_backward", _lin(lambda dout, x, w, dx, dw, db: (dx, dw)), "not_a_tuple", "length 2"),
    ("avg_pool2d_backward", lambda *a: R.avg_pool2d_backward(*a) * np.prod(_pair(a[2])), "avg_not_divided",
     "pool area"),
    ("avg_pool2d_backward", _pool_windows("mean", accumulate=False), "overlap_not_summed", "+="),
    ("avg_pool2d_backward", _avg_by_repeat, "wrong_size", "no window reaches"),
    ("avg_pool2d_backward", lambda *a: R.max_pool2d_backward(*a), "wrong_pool", "max pooling's gradient"),
    ("avg_pool2d_backward", lambda *a: R.avg_pool2d_backward(*a).astype(np.float64), "wrong_dtype", "dtype"),
    ("max_pool2d_backward", _pool_windows("ties_all"), "max_ties_all", "every element equal"),
    ("max_pool2d_backward", _pool_windows("ties_split"), "max_ties_split", "split"),
    ("max_pool2d_backward", _pool_windows("ties_last"), "max_ties_last", "last one"),
    ("max_pool2d_backward", _pool_windows("spread"), "max_not_routed", "every pixel of the window"),
    ("max_pool2d_backward", _pool_windows("mean"), "max_not_routed", "average pooling's gradient"),
    ("max_pool2d_backward", _pool_windows("first", accumulate=False), "overlap_not_summed", "overwrote"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw.transpose(1, 0, 2, 3), db)),
     "weight_transposed", "first two axes swapped"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw[:, :, ::-1, ::-1].copy(), db)),
     "conv_weight_flipped", "rotated by 180"),
    ("conv2d_backward", _conv_dw_overwritten, "not_summed_positions", "last output position"),
    ("conv2d_backward", _conv_last_image, "not_summed_batch", "last image"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw / len(x), db)), "not_summed_batch",
     "mean over the batch"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw, dout.sum(axis=0))),
     "not_summed_positions", "summed over the batch only"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw, dout.sum(axis=(2, 3)))),
     "not_summed_batch", "positions only"),
    ("conv2d_backward", _conv_unflipped, "dx_kernel_not_flipped", "rotated by 180"),
    ("conv2d_backward", _conv_padded_dx, "padding_not_removed", "crop"),
    ("conv2d_backward", _conv(lambda dout, x, w, s, p, dx, dw, db: (dx, dw, db)[::-1]), "wrong_order",
     "order of the inputs"),
    ("sigmoid_cnn_gradients", _net("no_output_derivative"), "missing_sigmoid_derivative", "output layer"),
    ("sigmoid_cnn_gradients", _net("no_hidden_derivative"), "missing_sigmoid_derivative", "hidden layer"),
    ("sigmoid_cnn_gradients", _net("no_conv_derivative"), "missing_sigmoid_derivative", "convolution layer"),
    ("sigmoid_cnn_gradients", _net("pool_not_divided"), "avg_not_divided", "delta / 4"),
    ("sigmoid_cnn_gradients", _net("W1_transposed"), "weight_transposed", "dW1 is transposed"),
    ("sigmoid_cnn_gradients", _net("W_conv_transposed"), "weight_transposed", "dW_conv has its first two axes"),
    ("sigmoid_cnn_gradients", _net("conv_dw_overwritten"), "not_summed_positions", "last position"),
    ("sigmoid_cnn_gradients", _net("conv_dw_last_image"), "not_summed_batch", "last image"),
    ("sigmoid_cnn_gradients", _net("batch_mean"), "not_summed_batch", "means over the batch"),
    ("sigmoid_cnn_gradients", lambda p, x, y: network_numpy(p, x, y)[1], "not_a_pair", "got only a dict"),
    ("sigmoid_cnn_gradients", lambda p, x, y: (network_numpy(p, x, y)[0], list(network_numpy(p, x, y)[1].values())),
     "not_a_dict", "must be a dict"),
    ("sigmoid_cnn_gradients", lambda p, x, y: (network_numpy(p, x, y)[0],
                                               {k: v for k, v in network_numpy(p, x, y)[1].items() if k != "b1"}),
     "not_a_dict", "no 'b1'"),
    ("numerical_gradient", _one_sided, "one_sided", "one-sided"),
    ("numerical_gradient", _not_restored, "x_not_restored", "put every entry back"),
    ("numerical_gradient", _not_restored_copy, "x_not_restored", "left at x_i - eps"),
    ("numerical_gradient", _over_eps, "divided_by_eps", "2 eps apart"),
]


@pytest.mark.parametrize("name,fn,code,text", WRONG, ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_each_mistake_is_named(name, fn, code, text):
    hidden = code == "wrong_dtype"     # float32 cases are hidden ones
    if hidden:
        v = _hits(name, fn, code, hidden=True)[0]
        assert text in v.message
        return
    _named(name, fn, code, text)
    with pytest.raises(AssertionError) as e:
        A04.check(name, fn)
    assert f"[{code}]" in str(e.value)


def test_the_issue_mistakes_are_all_named():
    """Every mistake the course promises to recognise has a deliberately wrong implementation above."""
    codes = {(name, code) for name, _, code, _ in WRONG}
    for pair in [("sigmoid_backward", "missing_sigmoid_derivative"),
                 ("sigmoid_cnn_gradients", "missing_sigmoid_derivative"),
                 ("conv2d_backward", "not_summed_positions"), ("conv2d_backward", "not_summed_batch"),
                 ("linear_backward", "not_summed_batch"), ("sigmoid_cnn_gradients", "not_summed_batch"),
                 ("avg_pool2d_backward", "avg_not_divided"), ("sigmoid_cnn_gradients", "avg_not_divided"),
                 ("max_pool2d_backward", "max_ties_all"),
                 ("linear_backward", "weight_transposed"), ("conv2d_backward", "weight_transposed"),
                 ("sigmoid_cnn_gradients", "weight_transposed"),
                 ("numerical_gradient", "one_sided"), ("numerical_gradient", "x_not_restored"),
                 ("numerical_gradient", "divided_by_eps")]:
        assert pair in codes, pair


@pytest.mark.parametrize("name", ["linear_backward", "conv2d_backward", "avg_pool2d_backward", "max_pool2d_backward",
                                  "sigmoid_backward"])
def test_float64_for_float32_is_named_on_hidden_cases(name):
    def upcast(*args, **kwargs):
        out = R.__dict__[name](*(a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in args), **kwargs)
        return out
    A04.check(name, upcast)       # the visible cases are float64
    _hits(name, upcast, "wrong_dtype", hidden=True)


def test_the_network_judge_names_the_wrong_gradient():
    case = A04.cases("sigmoid_cnn_gradients")[1]
    J, grads = a04.network(*case.args)
    bad = dict(grads, W1=grads["W1"] + 0.01)
    v = checks.judge(case, (J, bad))
    assert not v.passed and "grads['W1'] is wrong" in v.message and "also wrong" not in v.message
    assert "expected grads['W1']" in v.message
    v = checks.judge(case, (J + 1, grads))
    assert not v.passed and v.message.splitlines()[0].endswith(f"expected {J:.6g}, got {J + 1:.6g}")
    # a wrong delta spoils every layer below it: named once, the layer nearest the output first
    _, wrong = network_numpy(*case.args, bug="no_hidden_derivative")
    v = checks.judge(case, (J, wrong))
    assert v.message.splitlines()[0].startswith(f"{case.name} on {case.label}: grads['W1'] is wrong")
    assert "also wrong: grads['b1'], grads['W_conv'], grads['b_conv']" in v.message
    # J may be any number type; a list of gradients in a dict of lists passes too
    assert checks.judge(case, [np.array([J]), {k: v.tolist() for k, v in grads.items()}]).passed
    assert checks.judge(case, (float(J), dict(grads, extra=np.zeros(3)))).passed


def test_writing_into_params_fails_with_a_clear_message():
    with pytest.raises(AssertionError) as e:
        A04.check("sigmoid_cnn_gradients", _writes_into_params)
    assert "params may not be changed" in str(e.value)


def test_numerical_gradient_that_changes_x_fails_even_when_its_values_are_right():
    def shifts_x(f, x, eps=1e-6):
        g = numerical_gradient_copy(f, x, eps)
        x += 1e-3
        return g
    hits = _hits("numerical_gradient", shifts_x, "x_not_restored")
    assert "the gradient is right, but [x_not_restored]" in hits[0].message
    for case in A04.cases("numerical_gradient"):    # a correct in-place implementation leaves x exactly as it was
        x = case.args[1].copy()
        numerical_gradient_in_place(case.args[0], x, **case.kwargs)
        assert np.array_equal(x, case.args[1])


def test_numerical_gradient_cases_stay_plain_numpy():
    """f runs inside the student's function when graded, where cnnkit's implementations are forbidden."""
    import inspect

    for obj in (a04.sum_of_squares, a04.sum_of_cubes, a04.log_sum_exp, a04.sine_product, a04.Quadratic,
                a04.SigmoidNeuron, a04.SigmoidLayer, a04._sig):
        assert "R." not in inspect.getsource(obj) and "reference" not in inspect.getsource(obj)


# ----------------------------------------------------------------------------- hostile output

HOSTILE_TUPLE = {
    "liar": lambda r: Liar(),
    "none": lambda r: None,
    "liars": lambda r: (Liar(), Liar(), Liar()),
    "none_parts": lambda r: (r[0], None, r[2]),
    "string_part": lambda r: (r[0], "dw", r[2]),
    "complex_part": lambda r: (r[0], r[1].astype(complex), r[2]),
    "lying_part": lambda r: (r[0], np.zeros(r[1].shape).view(LyingArray), r[2]),
    "object_part": lambda r: (r[0], object_array(r[1].shape, Liar), r[2]),
    "huge_part": lambda r: (np.broadcast_to(np.float64(1), (10 ** 6, 10 ** 6)), r[1], r[2]),
    "nan_part": lambda r: (r[0], np.full(r[1].shape, np.nan), r[2]),
    "dict": lambda r: {"dx": r[0], "dw": r[1], "db": r[2]},
    "generator": lambda r: (v for v in r),
    "stacked": lambda r: np.concatenate([a.ravel() for a in r]),
}


@pytest.mark.parametrize("kind", HOSTILE_TUPLE)
@pytest.mark.parametrize("name", ["linear_backward", "conv2d_backward"])
def test_tuple_judges_fail_cleanly_on_hostile_output(name, kind):
    case = A04.cases(name)[1]
    v = checks.judge(case, HOSTILE_TUPLE[kind](checks.expected(case)))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert name in v.message


HOSTILE_NET = {
    "liar": lambda J, g: Liar(),
    "none": lambda J, g: None,
    "pair_of_liars": lambda J, g: (Liar(), Liar()),
    "liar_J": lambda J, g: (Liar(), g),
    "none_J": lambda J, g: (None, g),
    "string_J": lambda J, g: ("0.2", g),
    "complex_J": lambda J, g: (complex(J), g),
    "array_J": lambda J, g: (np.full(3, J), g),
    "nan_J": lambda J, g: (np.nan, g),
    "liar_grad": lambda J, g: (J, dict(g, W1=Liar())),
    "lying_grad": lambda J, g: (J, dict(g, W1=np.zeros(g["W1"].shape).view(LyingArray))),
    "object_grad": lambda J, g: (J, dict(g, W2=object_array(g["W2"].shape, Liar))),
    "huge_grad": lambda J, g: (J, dict(g, b1=np.broadcast_to(np.float64(1), (10 ** 6, 10 ** 6)))),
    "string_grad": lambda J, g: (J, dict(g, b2="0 0")),
    "three": lambda J, g: (J, g, g),
    "dict_subclass": lambda J, g: (J, type("D", (dict,), {})(g)),
}


@pytest.mark.parametrize("kind", HOSTILE_NET)
def test_network_judge_fails_cleanly_on_hostile_output(kind):
    case = A04.cases("sigmoid_cnn_gradients")[0]
    v = checks.judge(case, HOSTILE_NET[kind](*a04.network(*case.args)))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert "sigmoid_cnn_gradients" in v.message



@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_backward", "avg_pool2d_backward", "max_pool2d_backward",
                                  "numerical_gradient"])
def test_array_judges_fail_cleanly_on_hostile_output(name, kind):
    case = A04.cases(name)[1]
    v = checks.judge(case, HOSTILE[kind](checks.expected(case)), inputs_after=case.args)
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert name in v.message


def test_messages_show_small_inputs_and_the_expected_part():
    case = A04.cases("linear_backward")[0]
    dx, dw, db = checks.expected(case)
    msg = checks.judge(case, (dx, dw.T, db)).message
    assert "dout = " in msg and "w = " in msg and "expected dw" in msg and "got:" in msg
    assert "dw (element 1 of the tuple (dx, dw, db))" in msg
    v = verdicts(A04, "sigmoid", lambda z: z)
    assert all(not x.passed for x in v) and "z = " in v[0].message
