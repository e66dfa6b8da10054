"""cnnkit.reference activations, losses, linear layer, normalisation and gradient checking,
against torch.nn.functional (forward) and autograd (backward)."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st

from cnnkit import reference as R

DTYPES = st.sampled_from([np.float32, np.float64])
SEEDS = st.integers(0, 2 ** 32 - 1)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def leaf(a):
    """A float64 torch leaf holding a (the oracle always computes in float64)."""
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def grads(y_t, dout, *leaves):
    """Autograd gradients of sum(y_t * dout) w.r.t. the leaves."""
    return [g.numpy() for g in torch.autograd.grad(y_t, leaves, torch.tensor(dout, dtype=torch.float64))]


@st.composite
def arrays(draw, min_dims=1, max_dims=4, scale=st.sampled_from([1.0, 5.0, 50.0])):
    rng = np.random.default_rng(draw(SEEDS))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=max_dims)))
    return (draw(scale) * rng.standard_normal(shape)).astype(draw(DTYPES)), rng


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------

ACTIVATIONS = [
    (R.sigmoid, R.sigmoid_backward, torch.sigmoid),
    (R.tanh, R.tanh_backward, torch.tanh),
    (R.relu, R.relu_backward, torch.relu),
]


@pytest.mark.parametrize("forward, backward, oracle", ACTIVATIONS, ids=["sigmoid", "tanh", "relu"])
@given(case=arrays())
def test_activation_forward_and_backward_match_torch(forward, backward, oracle, case):
    x, rng = case
    t = leaf(x)
    y_t = oracle(t)
    y = forward(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    np.testing.assert_allclose(y, y_t.detach().numpy(), **tol(x.dtype))
    dout = rng.standard_normal(x.shape).astype(x.dtype)
    (dx_t,) = grads(y_t, dout, t)
    dx = backward(dout, x)
    assert dx.dtype == x.dtype
    np.testing.assert_allclose(dx, dx_t, **tol(x.dtype))


def test_relu_gradient_at_zero_is_zero_as_in_torch():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(R.relu_backward(np.ones(3), x), [0, 0, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4, -np.inf, np.inf], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = R.sigmoid(x)
        d = R.sigmoid_backward(np.ones_like(x), x)
        s = R.softmax(np.array([1e4, 0.0, -1e4], dtype=dtype))
    expected = torch.sigmoid(torch.tensor(x.astype(np.float64))).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=0)
    assert np.all(np.isfinite(d)) and np.all(d >= 0)
    np.testing.assert_allclose(s, [1, 0, 0])


@given(case=arrays(), axis_pick=st.integers(0, 7))
def test_softmax_forward_and_backward_match_torch(case, axis_pick):
    x, rng = case
    axis = axis_pick % x.ndim - (x.ndim if axis_pick % 2 else 0)     # positive and negative axes
    t = leaf(x)
    y_t = torch.softmax(t, dim=axis)
    y = R.softmax(x, axis=axis)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, y_t.detach().numpy(), **tol(x.dtype))
    np.testing.assert_allclose(y.sum(axis=axis), 1, rtol=1e-5)
    dout = rng.standard_normal(x.shape).astype(x.dtype)
    (dx_t,) = grads(y_t, dout, t)
    np.testing.assert_allclose(R.softmax_backward(dout, x, axis), dx_t, **tol(x.dtype))


def test_softmax_default_axis_is_the_last():
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(R.softmax(x), torch.softmax(torch.tensor(x), -1).numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------

@given(case=arrays(scale=st.just(1.0)))
def test_squared_error_matches_torch(case):
    h, rng = case
    y = rng.standard_normal(h.shape).astype(h.dtype)
    t = leaf(h)
    j_t = 0.5 * F.mse_loss(t, torch.tensor(y, dtype=torch.float64), reduction="sum")
    j = R.squared_error(h, y)
    assert np.asarray(j).dtype == h.dtype and np.ndim(j) == 0
    np.testing.assert_allclose(j, j_t.item(), **tol(h.dtype))
    (dh_t,) = torch.autograd.grad(j_t, t)
    dh = R.squared_error_backward(h, y)
    assert dh.dtype == h.dtype
    np.testing.assert_allclose(dh, dh_t.numpy(), **tol(h.dtype))


@given(seed=SEEDS, n=st.integers(1, 6), k=st.integers(1, 6), dtype=DTYPES,
       scale=st.sampled_from([1.0, 30.0, 1000.0]))
def test_cross_entropy_forward_and_backward_match_torch(seed, n, k, dtype, scale):
    rng = np.random.default_rng(seed)
    z = (scale * rng.standard_normal((n, k))).astype(dtype)
    labels = rng.integers(0, k, n)
    t = leaf(z)
    j_t = F.cross_entropy(t, torch.tensor(labels))
    j = R.cross_entropy(z, labels)
    assert np.asarray(j).dtype == dtype and np.isfinite(j)
    np.testing.assert_allclose(j, j_t.item(), rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
    (dz_t,) = torch.autograd.grad(j_t, t)
    dz = R.cross_entropy_backward(z, labels)
    assert dz.dtype == dtype
    np.testing.assert_allclose(dz, dz_t.numpy(), **tol(dtype))


def test_cross_entropy_of_uniform_logits_is_log_k():
    np.testing.assert_allclose(R.cross_entropy(np.zeros((3, 10)), [0, 5, 9]), np.log(10))


# ---------------------------------------------------------------------------------------------
# Linear layer
# ---------------------------------------------------------------------------------------------

@given(seed=SEEDS, lead=st.lists(st.integers(1, 3), min_size=0, max_size=3),
       n_in=st.integers(1, 5), n_out=st.integers(1, 5), dtype=DTYPES, bias=st.booleans())
def test_linear_forward_and_backward_match_torch(seed, lead, n_in, n_out, dtype, bias):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, n_in)).astype(dtype)
    w = rng.standard_normal((n_out, n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype) if bias else None
    xt, wt = leaf(x), leaf(w)
    bt = leaf(b) if bias else None
    y_t = F.linear(xt, wt, bt)
    y = R.linear(x, w, b)
    assert y.dtype == dtype and y.shape == (*lead, n_out)
    np.testing.assert_allclose(y, y_t.detach().numpy(), **tol(dtype))
    dout = rng.standard_normal(y.shape).astype(dtype)
    dx_t, dw_t = grads(y_t, dout, xt, wt)
    db_t = dout.astype(np.float64).reshape(-1, n_out).sum(axis=0)
    dx, dw, db = R.linear_backward(dout, x, w)
    for ours, ref in [(dx, dx_t), (dw, dw_t), (db, db_t)]:
        assert ours.dtype == dtype and ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, **tol(dtype))
    if bias:
        (db_t,) = grads(F.linear(xt, wt, bt), dout, bt)
        np.testing.assert_allclose(db, db_t, **tol(dtype))


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------

@given(seed=SEEDS, shape=st.sampled_from([(2, 3), (5, 1), (2, 3, 4), (3, 2, 3, 2), (1, 2, 2, 2)]),
       dtype=DTYPES, affine=st.booleans(), training=st.booleans(), momentum=st.sampled_from([0.1, 0.5]))
def test_batch_norm_matches_torch_including_running_statistics(seed, shape, dtype, affine, training,
                                                               momentum):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (3 * rng.standard_normal(shape) + 1).astype(dtype)
    gamma = rng.standard_normal(c).astype(dtype) if affine else None
    beta = rng.standard_normal(c).astype(dtype) if affine else None
    rm = rng.standard_normal(c).astype(dtype)
    rv = rng.uniform(0.5, 2.0, c).astype(dtype)
    rm_t, rv_t = torch.tensor(rm, dtype=torch.float64), torch.tensor(rv, dtype=torch.float64)
    y_t = F.batch_norm(torch.tensor(x, dtype=torch.float64), rm_t, rv_t,
                       None if gamma is None else torch.tensor(gamma, dtype=torch.float64),
                       None if beta is None else torch.tensor(beta, dtype=torch.float64),
                       training, momentum, 1e-5)
    y = R.batch_norm(x, gamma, beta, rm, rv, training, momentum=momentum, eps=1e-5)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, y_t.numpy(), **tol(dtype))
    np.testing.assert_allclose(rm, rm_t.numpy(), **tol(dtype))      # updated in place (or not)
    np.testing.assert_allclose(rv, rv_t.numpy(), **tol(dtype))
    assert rm.dtype == dtype and rv.dtype == dtype


def test_batch_norm_training_without_running_statistics_or_affine():
    x = np.random.default_rng(1).standard_normal((4, 3, 2, 2))
    y = R.batch_norm(x, None, None, None, None, True)
    y_t = F.batch_norm(torch.tensor(x), None, None, training=True)
    np.testing.assert_allclose(y, y_t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_batch_norm_running_var_uses_the_unbiased_variance():
    x = np.array([[1.0], [3.0]])                         # mean 2, biased var 1, unbiased var 2
    rm, rv = np.zeros(1), np.ones(1)
    R.batch_norm(x, None, None, rm, rv, True, momentum=1.0)
    np.testing.assert_array_equal(rm, [2.0])
    np.testing.assert_array_equal(rv, [2.0])


@given(seed=SEEDS, shape=st.sampled_from([(3, 2), (2, 3, 4), (2, 2, 3, 3), (1, 3, 2, 2)]),
       dtype=DTYPES, affine=st.booleans())
def test_batch_norm_backward_matches_autograd(seed, shape, dtype, affine):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (2 * rng.standard_normal(shape) - 1).astype(dtype)
    gamma = rng.standard_normal(c).astype(dtype) if affine else None
    xt = leaf(x)
    gt = leaf(gamma if affine else np.ones(c))
    bt = leaf(np.zeros(c))
    y_t = F.batch_norm(xt, None, None, gt, bt, True, 0.1, 1e-5)
    dout = rng.standard_normal(shape).astype(dtype)
    dx_t, dg_t, db_t = grads(y_t, dout, xt, gt, bt)
    dx, dg, db = R.batch_norm_backward(dout, x, gamma, eps=1e-5)
    for ours, ref in [(dx, dx_t), (dg, dg_t), (db, db_t)]:
        assert ours.dtype == dtype and ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=1e-3 if dtype == np.float32 else 1e-9,
                                   atol=1e-4 if dtype == np.float32 else 1e-11)


# ---------------------------------------------------------------------------------------------
# Local response normalisation
# ---------------------------------------------------------------------------------------------

@given(seed=SEEDS, shape=st.sampled_from([(2, 5, 3), (1, 7, 2, 3), (2, 3, 2, 2), (1, 1, 4), (2, 4, 2, 1, 2)]),
       size=st.integers(1, 6), dtype=DTYPES, alpha=st.sampled_from([1e-4, 0.5, 2.0]),
       beta=st.sampled_from([0.75, 0.5, 1.3]), k=st.sampled_from([1.0, 2.0]))
def test_local_response_norm_forward_and_backward_match_torch(seed, shape, size, dtype, alpha, beta, k):
    rng = np.random.default_rng(seed)
    x = (2 * rng.standard_normal(shape)).astype(dtype)
    t = leaf(x)
    y_t = F.local_response_norm(t, size, alpha, beta, k)
    y = R.local_response_norm(x, size, alpha, beta, k)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, y_t.detach().numpy(), **tol(dtype))
    dout = rng.standard_normal(shape).astype(dtype)
    (dx_t,) = grads(y_t, dout, t)
    dx = R.local_response_norm_backward(dout, x, size, alpha, beta, k)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, dx_t, **tol(dtype))


def test_local_response_norm_window_is_asymmetric_for_even_sizes():
    # size 2: the window of channel c is {c - 1, c}; channel 0 sees only itself.
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    y = R.local_response_norm(x, 2, alpha=2.0, beta=1.0, k=0.0)
    np.testing.assert_allclose(y.ravel(), [1 / 1, 2 / (1 + 4), 3 / (4 + 9)])


# ---------------------------------------------------------------------------------------------
# Numerical gradients
# ---------------------------------------------------------------------------------------------

def test_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    g = R.numerical_gradient(lambda z: np.sum(z ** 3) + z[0, 1] * z[1, 0], x)
    expected = 3 * before ** 2 + np.array([[0, 0.5], [-2.0, 0]])
    np.testing.assert_allclose(g, expected, rtol=1e-8)
    np.testing.assert_array_equal(x, before)                # every entry put back
    assert g.shape == x.shape and g.dtype == np.float64


def test_numerical_gradient_restores_x_when_f_raises_and_supports_closures():
    x = np.arange(4.0)
    calls = []

    def bad(z):
        calls.append(z.copy())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        R.numerical_gradient(bad, x)
    np.testing.assert_array_equal(x, np.arange(4.0))
    assert calls[0][0] == 1e-6
    # f may ignore its argument and read x through a closure, the usual idiom for parameters.
    params = {"w": np.array([1.0, 2.0])}
    g = R.numerical_gradient(lambda _: np.sum(params["w"] ** 2), params["w"])
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-8)
    np.testing.assert_array_equal(params["w"], [1.0, 2.0])


def test_numerical_gradient_keeps_dtype_and_handles_non_float_input():
    g = R.numerical_gradient(lambda z: float(np.sum(z * z)), np.array([1.0, 2.0], np.float32), eps=1e-2)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-3)
    ints = np.array([1, 2])
    g = R.numerical_gradient(lambda z: np.sum(z * z), ints)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-8)
    np.testing.assert_array_equal(ints, [1, 2])


def test_backward_passes_agree_with_numerical_gradients():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3, 2, 2))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(x.shape)

    def bn(z):
        return np.sum(R.batch_norm(z, gamma, beta, None, None, True) * dout)

    dx, dgamma, _ = R.batch_norm_backward(dout, x, gamma)
    np.testing.assert_allclose(dx, R.numerical_gradient(bn, x), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(
        dgamma, R.numerical_gradient(lambda g: np.sum(R.batch_norm(x, g, beta, None, None, True) * dout),
                                     gamma), rtol=1e-6, atol=1e-8)
    z = rng.standard_normal((3, 5))
    labels = np.array([0, 4, 2])
    np.testing.assert_allclose(R.cross_entropy_backward(z, labels),
                               R.numerical_gradient(lambda v: R.cross_entropy(v, labels), z),
                               rtol=1e-6, atol=1e-9)
    d = rng.standard_normal((3, 5))
    np.testing.assert_allclose(R.sigmoid_backward(d, z),
                               R.numerical_gradient(lambda v: np.sum(R.sigmoid(v) * d), z),
                               rtol=1e-6, atol=1e-9)
    w = rng.standard_normal((2, 5))
    dl = rng.standard_normal((3, 2))
    _, dw, _ = R.linear_backward(dl, z, w)
    np.testing.assert_allclose(dw, R.numerical_gradient(lambda v: np.sum(R.linear(z, v) * dl), w),
                               rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# Dtypes, inputs left alone, bad input
# ---------------------------------------------------------------------------------------------

def _calls(x):
    """(name, call) for every function on an (N, C, H, W)-shaped x of any dtype."""
    d = np.ones(x.shape, x.dtype)
    labels = np.array([0, 1])
    z = x.reshape(2, -1)
    w = np.ones((3, z.shape[1]), x.dtype)
    return {
        "sigmoid": lambda: R.sigmoid(x), "tanh": lambda: R.tanh(x), "relu": lambda: R.relu(x),
        "softmax": lambda: R.softmax(x, 1),
        "sigmoid_backward": lambda: R.sigmoid_backward(d, x),
        "tanh_backward": lambda: R.tanh_backward(d, x),
        "relu_backward": lambda: R.relu_backward(d, x),
        "softmax_backward": lambda: R.softmax_backward(d, x),
        "squared_error_backward": lambda: R.squared_error_backward(x, d),
        "cross_entropy_backward": lambda: R.cross_entropy_backward(z, labels),
        "linear": lambda: R.linear(z, w, np.ones(3, x.dtype)),
        "linear_backward": lambda: R.linear_backward(np.ones((2, 3), x.dtype), z, w)[1],
        "batch_norm": lambda: R.batch_norm(x, None, None, None, None, True),
        "batch_norm_backward": lambda: R.batch_norm_backward(d, x, np.ones(3, x.dtype))[0],
        "local_response_norm": lambda: R.local_response_norm(x, 3),
        "local_response_norm_backward": lambda: R.local_response_norm_backward(d, x, 3),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_is_kept_and_inputs_are_not_modified(dtype):
    x = np.random.default_rng(6).integers(-3, 4, (2, 3, 2, 2)).astype(dtype)
    before = x.copy()
    for name, call in _calls(x).items():
        y = call()
        np.testing.assert_array_equal(x, before, err_msg=name)
        assert y.dtype == (np.float64 if dtype == np.int64 else dtype), name
        assert not np.shares_memory(y, x), name
    for j in (R.squared_error(x, x + 1), R.cross_entropy(x.reshape(2, -1), [0, 1])):
        assert np.asarray(j).dtype == (np.float64 if dtype == np.int64 else dtype)


def test_batch_norm_leaves_running_statistics_alone_in_evaluation():
    rm, rv = np.array([0.5, -1.0]), np.array([2.0, 0.5])
    R.batch_norm(np.ones((3, 2)), None, None, rm, rv, False)
    np.testing.assert_array_equal(rm, [0.5, -1.0])
    np.testing.assert_array_equal(rv, [2.0, 0.5])


BAD = [
    (lambda: R.sigmoid_backward(np.ones(3), np.ones(4)), r"sigmoid_backward: dout and x must have the same shape.*\(3,\).*\(4,\)"),
    (lambda: R.relu_backward(np.ones((2, 2)), np.ones(4)), r"relu_backward: dout and x.*\(2, 2\).*\(4,\)"),
    (lambda: R.softmax(np.ones((2, 3)), axis=2), r"softmax: axis.*\(2, 3\)"),
    (lambda: R.softmax(np.float64(1.0)), r"softmax: x must have at least one dimension"),
    (lambda: R.squared_error(np.ones(3), np.ones((3, 1))), r"squared_error: h and y must have the same shape.*\(3,\).*\(3, 1\)"),
    (lambda: R.cross_entropy(np.ones((2, 3)), [0, 3]), r"cross_entropy: labels must lie in \[0, K\) = \[0, 3\).*\(2, 3\)"),
    (lambda: R.cross_entropy(np.ones((2, 3)), [-1, 0]), r"cross_entropy: labels must lie in"),
    (lambda: R.cross_entropy(np.ones((2, 3)), [0.0, 1.0]), r"cross_entropy: labels must be integer"),
    (lambda: R.cross_entropy(np.ones((2, 3)), [0, 1, 2]), r"cross_entropy: labels must have shape \(N,\) = \(2,\).*\(3,\)"),
    (lambda: R.cross_entropy(np.ones(3), [0]), r"cross_entropy: logits must have 2 dimensions.*\(3,\)"),
    (lambda: R.cross_entropy_backward(np.ones((2, 3)), [5, 0]), r"cross_entropy_backward: labels must lie in"),
    (lambda: R.linear(np.ones((2, 3)), np.ones((4, 5))), r"linear: x must have shape \(\.\.\., in\) with in = 5.*\(4, 5\).*\(2, 3\)"),
    (lambda: R.linear(np.ones((2, 3)), np.ones(3)), r"linear: w must have 2 dimensions.*\(3,\)"),
    (lambda: R.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(3)), r"linear: b must have shape \(out,\) = \(4,\).*\(3,\)"),
    (lambda: R.linear_backward(np.ones((2, 5)), np.ones((2, 3)), np.ones((4, 3))),
     r"linear_backward: dout must have the shape of the forward output \(2, 4\).*\(2, 5\)"),
    (lambda: R.batch_norm(np.ones(3), None, None, None, None, True), r"batch_norm: x must have at least 2 dimensions.*\(3,\)"),
    (lambda: R.batch_norm(np.ones((2, 3)), np.ones(2), None, None, None, True), r"batch_norm: gamma must have shape \(C,\) = \(3,\).*\(2,\)"),
    (lambda: R.batch_norm(np.ones((1, 3)), None, None, None, None, True), r"batch_norm: expected more than 1 value per channel.*\(1, 3\)"),
    (lambda: R.batch_norm(np.ones((2, 3)), None, None, None, None, False), r"batch_norm: running_mean and running_var are required"),
    (lambda: R.batch_norm(np.ones((2, 3)), None, None, [0.0, 0.0, 0.0], np.ones(3), True), r"batch_norm: running_mean must be a writable"),
    (lambda: R.batch_norm(np.ones((2, 3)), None, None, np.zeros(3), np.ones(4), True), r"batch_norm: running_var must have shape \(C,\) = \(3,\).*\(4,\)"),
    (lambda: R.batch_norm_backward(np.ones((2, 4)), np.ones((2, 3)), None), r"batch_norm_backward: dout must have the shape of x \(2, 3\).*\(2, 4\)"),
    (lambda: R.local_response_norm(np.ones((2, 3)), 2), r"local_response_norm: x must have at least 3 dimensions.*\(2, 3\)"),
    (lambda: R.local_response_norm(np.ones((2, 3, 4)), 0), r"local_response_norm: size must be a positive int"),
    (lambda: R.local_response_norm_backward(np.ones((2, 3, 3)), np.ones((2, 3, 4)), 2), r"local_response_norm_backward: dout.*\(2, 3, 4\).*\(2, 3, 3\)"),
    (lambda: R.numerical_gradient(lambda z: z, np.ones(2)), r"numerical_gradient: f must return a scalar.*\(2,\)"),
    (lambda: R.numerical_gradient(np.sum, np.ones(2), eps=0), r"numerical_gradient: eps must be positive"),
    (lambda: R.numerical_gradient(np.sum, np.ones(2, np.float32), eps=1e-12), r"numerical_gradient: eps=1e-12 is below the resolution of float32"),
]


@pytest.mark.parametrize("call, match", BAD)
def test_bad_input_raises_value_error_naming_function_and_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
