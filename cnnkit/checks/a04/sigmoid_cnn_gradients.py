"""sigmoid_cnn_gradients(params, x, y) -> (J, grads): the loss and every gradient of the lectures' network.

conv -> sigmoid -> 2x2 average pooling -> flatten -> FC 1 -> sigmoid -> FC 2 -> sigmoid = h, with
J = 0.5 * sum((h - y)**2). The answer is `cnnkit.reference.sigmoid_cnn_gradients`; `network` here is
the same network with knobs that make the typical mistakes, the model the judge recognises them by.

A wrong delta in one layer spoils every layer below it, so the judge compares J and every gradient,
in the order backpropagation computes them (W2, b2, W1, b1, W_conv, b_conv), and looks for one mistake
(a missing sigmoid derivative, an average not divided, a gradient not summed over positions or the
batch, a transposed weight gradient, ...) that explains every wrong part at once.
"""

import numpy as np

from ... import reference as R
from ..common import F64, arr, rand, type_name
from ..core import (Case, Finding, Graded, Mistake, Verdict, as_plain, close, compare, fail, heading,
                    inputs_changed, modified_inputs, register, to_float)
from ..inputs import Params
from . import ASSIGNMENT


KEYS = R.SIGMOID_CNN_KEYS
# the gradients in the order backpropagation computes them: a wrong one spoils every one after it
BACKWARD_ORDER = ("W2", "b2", "W1", "b1", "W_conv", "b_conv")


def _params(arrays):
    """The parameters of a case: float64 arrays that cannot be written, in a dict that cannot be changed."""
    out = {}
    for k in KEYS:
        a = np.array(arrays[k], dtype=F64)
        a.setflags(write=False)
        out[k] = a
    return Params(out)


def network(params, x, y, *, no_derivative=(), derivative_of_z=False, pool_divide=True, pool="avg",
            flatten="channels_first", batch_mean=False, loss_factor=0.5, conv_dw=None):
    """The lectures' network and its gradients, (J, grads); the keywords make the typical mistakes.

    conv -> sigmoid -> 2x2 average pooling -> flatten -> FC 1 -> sigmoid -> FC 2 -> sigmoid = h,
    J = 0.5 * sum((h - y)**2). `no_derivative`: layers ("out", "hidden", "conv") whose delta misses the
    sigmoid's derivative; `conv_dw`: "last_item", "last_position", "flipped", "transposed".
    """
    Wc, bc, W1, b1, W2, b2 = (np.asarray(params[k], dtype=F64) for k in KEYS)
    x = np.asarray(x, dtype=F64)
    y = np.asarray(y, dtype=F64)
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


def _case(arrays, x, y, note="", prefix=""):
    params = _params(arrays)
    D, C, k, _ = params["W_conv"].shape
    label = (f"{prefix}x {x.shape}, {D} conv filter{'s' if D > 1 else ''} {k}x{k}, FC {params['W1'].shape[1]} -> "
             f"{params['W1'].shape[0]} -> {params['W2'].shape[0]}")
    return Case("sigmoid_cnn_gradients", (params, np.asarray(x, dtype=F64), np.asarray(y, dtype=F64)), {},
                label + (f" ({note})" if note else ""))


def worked_example():
    """The lectures' worked example: one 5x5 image, one 2x2 filter, FC 4 -> 2 -> 2. Returns (params, x, y)."""
    x = arr([[0, 0, 1, 0, 0],
             [0, 1, 1, 1, 0],
             [1, 1, 0, 1, 1],
             [0, 1, 1, 1, 0],
             [0, 0, 1, 0, 0]]).reshape(1, 1, 5, 5)
    params = {"W_conv": arr([[1, -1], [-1, 1]]).reshape(1, 1, 2, 2), "b_conv": arr([0.5]),
              "W1": arr([[1, -1, 0.5, 0], [0, 1, -1, 0.5]]), "b1": arr([0, -0.5]),
              "W2": arr([[1, -2], [-1, 1]]), "b2": arr([0.5, 0])}
    y = arr([[1, 0]])
    return params, x, y


def _net_arrays(rng, C, D, k, H, W, H1, K, scale=0.7):
    Hp, Wp = (H - k + 1) // 2, (W - k + 1) // 2
    return {"W_conv": rand(rng, (D, C, k, k), scale=scale), "b_conv": rand(rng, D, scale=0.3),
            "W1": rand(rng, (H1, D * Hp * Wp), scale=scale), "b1": rand(rng, H1, scale=0.3),
            "W2": rand(rng, (K, H1), scale=scale), "b2": rand(rng, K, scale=0.3)}


def _one_hot(rng, N, K):
    y = np.zeros((N, K))
    y[np.arange(N), rng.integers(0, K, N)] = 1
    return y


def visible():
    params, x, y = worked_example()
    rng = np.random.default_rng(404)
    out = [_case(params, x, y, "the lectures' worked example")]
    specs = [(2, 1, 2, 6, 6, 3, 3, 2, "a batch of 2, two filters: the gradients add up both images"),
             (2, 2, 2, 7, 7, 3, 4, 3, "a 5x5 conv output: pooling drops its last row and column"),
             (3, 3, 3, 8, 8, 3, 5, 4, "3 images with 3 channels, 3 filters")]
    for N, C, D, H, W, k, H1, K, note in specs:
        x = np.round(rng.random((N, C, H, W)), 1)
        out.append(_case(_net_arrays(rng, C, D, k, H, W, H1, K), x, _one_hot(rng, N, K), note))
    return out


# ----------------------------------------------------------------------------- mistakes and judge

def network_variants(case):
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


def judge(case, output, inputs_after=None):
    """(J, grads) against the reference: the first wrong part (J, then grads in backward order) with every
    other wrong part listed, and the one mistake of the network that explains them."""
    params, x, y = case.args
    J_ref, G_ref = R.sigmoid_cnn_gradients(params, x, y)
    modified = modified_inputs(case, inputs_after)
    not_pair = _not_a_pair(case, output, modified)
    if not_pair is not None:
        return not_pair
    J_out, grads = output
    dtype = np.dtype(F64)
    wrong = []     # (name, Finding) of every part that is wrong, J first, then backward order
    j_raw, problem = as_plain(J_out)
    if problem is None and j_raw.size == 1:
        j_raw = j_raw.reshape(())
    per_item = [Mistake("not_summed_batch", "J is one loss per image; J is their sum, one number: "
                                            "J = 0.5 * sum((h - y)**2) over every image and output",
                        value=_per_item_loss(params, x, y))] if x.shape[0] > 1 else []
    j_bad = compare(j_raw if problem is None else J_out, J_ref, dtype, per_item, part="J", every=True)
    if j_bad is not None:
        wrong.append(("J", j_bad))
        if j_bad.code == "not_summed_batch":
            return j_bad.verdict(case, np.asarray(J_ref), modified, "expected J")
    for k in BACKWARD_ORDER:
        bad = compare(grads[k], G_ref[k], dtype, part=f"grads['{k}']", every=True)
        if bad is not None:
            wrong.append((k, bad))
    if not wrong:
        return inputs_changed(case, modified) if modified else Verdict(True, "", None)

    code, text = _explain(case, wrong, G_ref, dtype)
    name, first = wrong[0]
    what = first.what
    others = [n for n, _ in wrong[1:]]
    if others:
        what += "; also wrong: " + ", ".join("J" if n == "J" else f"grads['{n}']" for n in others)
        if name != "J":
            what += (" (a wrong delta in one layer makes the gradients of every layer below it wrong too: start "
                     "with the layer nearest the output)")
    found = Finding(what, code, text or "", first.raw)
    ref = J_ref if name == "J" else G_ref[name]
    return found.verdict(case, ref, modified, "expected J" if name == "J" else f"expected grads['{name}']")


def _not_a_pair(case, output, modified):
    """The failing verdict of an output that is not the pair (J, grads) with a gradient for every key, or None."""
    head = heading(case)
    keys = ", ".join(f"'{k}'" for k in KEYS)
    kind = type(output)
    if kind is dict:
        return fail(head, case, None, None, "[not_a_pair] the output must be the pair (J, grads), e.g. "
                                            "`return J, grads`; got only a dict", "not_a_pair", modified)
    if (kind is not tuple and kind is not list) or len(output) != 2:
        what = type_name(output) if kind not in (tuple, list) else f"{kind.__name__} of length {len(output)}"
        return fail(head, case, None, None, f"[not_a_pair] the output must be the pair (J, grads): the loss and a "
                                            f"dict of gradients; got a {what}", "not_a_pair", modified)
    grads = output[1]
    if type(grads) is not dict:
        return fail(head, case, None, None, f"[not_a_dict] grads (the second element of the pair) must be a dict "
                                            f"with the keys of params ({keys}); got a {type_name(grads)}",
                    "not_a_dict", modified)
    missing = [k for k in KEYS if k not in grads]
    if missing:
        return fail(head, case, None, None, f"[not_a_dict] grads has no {', '.join(repr(k) for k in missing)}: it "
                                            f"holds one gradient for each key of params ({keys})", "not_a_dict",
                    modified)
    return None


def _explain(case, wrong, G_ref, dtype):
    """(code, text) of the network's mistake that gives every wrong part at once, else one that gives the
    first wrong part, else (None, None)."""
    def same(name, raw, value):
        return raw is not None and np.shape(value) == raw.shape and close(to_float(raw), np.asarray(value), dtype)

    variants = network_variants(case)
    for code, text, (Jv, Gv) in variants:
        if all(same(n, f.raw, Jv if n == "J" else Gv[n]) for n, f in wrong):
            return code, text
    n0, raw0 = wrong[0][0], wrong[0][1].raw
    for code, text, (Jv, Gv) in variants:
        if same(n0, raw0, Jv if n0 == "J" else Gv[n0]):
            return code, text
    if n0 in ("W1", "W2") and same(n0, raw0, G_ref[n0].T):
        return "weight_transposed", (f"d{n0} is transposed: a weight's gradient has the weight's shape "
                                     f"{G_ref[n0].shape} (out, in): d{n0} = delta^T @ (the layer's input)")
    return None, None


# ----------------------------------------------------------------------------- hidden cases, for the grader

def hidden(rng):
    r = lambda lo, hi: int(rng.integers(lo, hi))
    specs = [(1, 1, 1, 6, 6, 3, 2, 2), (r(2, 4), 1, 2, r(6, 9), r(6, 9), 3, 3, 3),
             (r(2, 4), 2, r(2, 4), r(6, 9), r(6, 9), 2, r(2, 6), 2), (4, r(1, 3), 2, 7, 8, 3, 4, r(2, 5)),
             (r(1, 4), 3, 1, r(5, 8), r(5, 8), 2, 3, 3), (2, 1, 3, r(8, 11), r(8, 11), r(3, 5), 5, 4)]
    out = []
    for i, (N, C, D, H, W, k, H1, K) in enumerate(specs):
        x = rng.random((N, C, H, W))
        y = _one_hot(rng, N, K) if i % 2 == 0 else rng.random((N, K))
        out.append(_case(_net_arrays(rng, C, D, k, H, W, H1, K), x, y, prefix="random "))
    return out


register(Graded("sigmoid_cnn_gradients", ASSIGNMENT, visible, hidden, R.sigmoid_cnn_gradients, lambda case, ref: [],
                argnames=("params", "x", "y"), judge=judge))
