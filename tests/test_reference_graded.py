"""The references of graded functions that have no torch.nn.functional twin of the same name:
sigmoid_cnn_gradients (04), toeplitz_1d (05), max_pool2d_with_indices (03), against PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from cnnkit import reference as R


def _autograd_network(params, x, y):
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    x, y = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    a = F.avg_pool2d(torch.sigmoid(F.conv2d(x, t["W_conv"], t["b_conv"])), 2).flatten(1)
    h = torch.sigmoid(F.linear(torch.sigmoid(F.linear(a, t["W1"], t["b1"])), t["W2"], t["b2"]))
    J = 0.5 * ((h - y) ** 2).sum()
    J.backward()
    return J.item(), {k: v.grad.numpy() for k, v in t.items()}


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(4, 9),
       st.integers(4, 9), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2 ** 32 - 1))
def test_sigmoid_cnn_gradients_is_autograd(N, C, D, k, H, W, H1, K, seed):
    rng = np.random.default_rng(seed)
    Hp, Wp = (H - k + 1) // 2, (W - k + 1) // 2
    if Hp < 1 or Wp < 1:
        return
    params = {"W_conv": rng.standard_normal((D, C, k, k)), "b_conv": rng.standard_normal(D),
              "W1": rng.standard_normal((H1, D * Hp * Wp)), "b1": rng.standard_normal(H1),
              "W2": rng.standard_normal((K, H1)), "b2": rng.standard_normal(K)}
    x, y = rng.standard_normal((N, C, H, W)), rng.random((N, K))
    before = {k: v.copy() for k, v in params.items()}
    J, grads = R.sigmoid_cnn_gradients(params, x, y)
    J_ref, g_ref = _autograd_network(params, x, y)
    assert np.isclose(J, J_ref, rtol=1e-12)
    assert set(grads) == set(params)
    for key in params:
        assert grads[key].shape == params[key].shape
        np.testing.assert_allclose(grads[key], g_ref[key], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(params[key], before[key])


def test_sigmoid_cnn_gradients_names_what_is_missing():
    with pytest.raises(ValueError, match="W2"):
        R.sigmoid_cnn_gradients({"W_conv": np.ones((1, 1, 2, 2))}, np.ones((1, 1, 5, 5)), np.ones((1, 2)))


@given(st.integers(1, 6), st.integers(0, 6), st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 32 - 1))
def test_toeplitz_1d_times_x_is_pytorchs_valid_cross_correlation(m, extra, dtype, seed):
    rng = np.random.default_rng(seed)
    k, x = rng.standard_normal(m).astype(dtype), rng.standard_normal(m + extra).astype(dtype)
    T = R.toeplitz_1d(k, m + extra)
    assert T.shape == (extra + 1, m + extra) and T.dtype == dtype
    want = F.conv1d(torch.tensor(x, dtype=torch.float64)[None, None], torch.tensor(k, dtype=torch.float64)[None, None])
    np.testing.assert_allclose(T @ x, want.numpy().ravel(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n", [2, 2.0, "3", None])
def test_toeplitz_1d_rejects_a_signal_shorter_than_the_kernel_or_not_a_length(n):
    with pytest.raises(ValueError, match="toeplitz_1d"):
        R.toeplitz_1d(np.ones(3), n)


@given(st.integers(1, 3), st.integers(1, 3), st.sampled_from([None, 1, 2, 3]), st.integers(0, 2 ** 32 - 1),
       st.booleans())
def test_max_pool2d_with_indices_is_pytorchs(kh, kw, stride, seed, ties):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (2, 2, 7, 6)).astype(np.float64) if ties else rng.standard_normal((2, 2, 7, 6))
    y, idx = R.max_pool2d_with_indices(x, (kh, kw), stride)
    ty, tidx = F.max_pool2d(torch.tensor(x), (kh, kw), stride, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    assert idx.dtype == np.int64
    # PyTorch does not promise which of tied maxima it reports; the value there is what must agree
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 2, -1), idx.reshape(2, 2, -1), 2),
                                  np.take_along_axis(x.reshape(2, 2, -1), tidx.numpy().reshape(2, 2, -1), 2))
    if not ties:
        np.testing.assert_array_equal(idx, tidx.numpy())
