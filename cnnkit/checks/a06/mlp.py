"""MLP(in_features, hidden, classes): flatten, one hidden layer of `hidden` units with ReLU, then the
output layer; x (N, ...) with in_features values per example -> logits (N, classes).

The model probe builds it under a fixed seed and runs it on a seeded batch (networks.py); the judge
recomputes the output exactly, relu(x W1^T + b1) W2^T + b2, with the network's own weights, and
names the mistake when a known wrong network gives what it returned. The reference is
cnnkit.torch.MLP(in_features, hidden, classes, backend="torch").
"""

import numpy as np

from ..core import Case, Graded, as_plain, register
from ..probes06 import _probe_model
from . import ASSIGNMENT
from .judging import CourseReference, Unreadable, close, field, guarded, no_mistakes
from .networks import RELU_OUT, SOFTMAX, model_judge, output_problems


# ----------------------------------------------------------------------------- cases

def mlp_case(in_features, hidden, classes, input_shape, batch, seed):
    label = (f"a batch of {batch} inputs of shape {tuple(input_shape)} and its first input alone "
             f"(MLP({in_features}, {hidden}, {classes}) built with torch.manual_seed({seed}))")
    return Case("MLP", ("MLP", seed, batch, (in_features, hidden, classes), tuple(input_shape)), {}, label,
                probe=_probe_model)


def visible():
    return [mlp_case(12, 7, 3, (3, 2, 2), 4, 0), mlp_case(20, 9, 4, (20,), 3, 1)]


def hidden(rng):
    out = []
    for shape in ((int(rng.integers(2, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 5))),
                  (int(rng.integers(10, 30)),), (1, int(rng.integers(3, 6)), int(rng.integers(3, 6)))):
        d = int(np.prod(shape))
        sizes = [s for s in range(3, 40) if s != d]
        units = int(rng.choice(sizes))
        classes = int(rng.choice([s for s in range(2, 9) if s not in (d, units)]))
        out.append(mlp_case(d, units, classes, shape, int(rng.integers(2, 7)), int(rng.integers(10 ** 6))))
    return out


# ----------------------------------------------------------------------------- judging

def problems(case, out, count, shapes, output, one, batch):
    """(code, sentence) for the parameter count, the output's shape and its values."""
    in_features, hidden, classes = (int(v) for v in case.args[3])
    expected = in_features * hidden + hidden + hidden * classes + classes
    found = []
    if count == 0:
        found.append(("unregistered", f"MLP({in_features}, {hidden}, {classes}) has no trainable parameters: "
                                      f"layers must be attributes of the module (self.hidden = nn.Linear(...)) "
                                      f"or inside nn.Sequential; layers kept in a plain list, or made inside "
                                      f"forward, are not registered (and never trained)"))
    elif count != expected:
        text = (f"MLP({in_features}, {hidden}, {classes}) has {count:,} trainable parameters; one hidden layer "
                f"has in_features*hidden + hidden + hidden*classes + classes = {expected:,}")
        code = "wrong_params"
        if count == in_features * hidden + hidden * classes:
            code, text = "no_bias", text + " (both layers have a bias)"
        elif count == in_features * classes + classes:
            code, text = "no_hidden", text + " (there is no hidden layer: in_features -> hidden -> classes)"
        found.append((code, text))
    shape_problems = output_problems(output, one, batch, classes)
    if shape_problems and shape_problems[0][0] in ("wrong_output_shape", "not_finite"):
        return found + shape_problems
    if not found:
        found += value_problems(case, out, output)
    known = {c for c, _ in found}
    return found + [p for p in shape_problems if p[0] not in known and
                    not (p[0] in ("softmax_output", "relu_output") and known & {"softmax_output", "relu_output"})]


def layers_of(weights, d, h, c):
    """(W1 (h, d), b1, W2 (c, h), b2) found among the tensors by shape; None if they are not there."""
    def take(shapes):
        for i, w in enumerate(weights):
            for s, transpose in shapes:
                if w.shape == s and i not in used:
                    used.add(i)
                    return w.T if transpose else w
        return None
    used = set()
    w1 = take([((h, d), False), ((d, h), True)])
    w2 = take([((c, h), False), ((h, c), True)])
    b1 = take([((h,), False)])
    b2 = take([((c,), False)])
    return None if any(v is None for v in (w1, b1, w2, b2)) else (w1, b1, w2, b2)


def value_problems(case, out, output):
    """The output (N, classes) recomputed with the network's own weights, and the known wrong networks."""
    in_features, hidden, classes = (int(v) for v in case.args[3])
    x = field(out, "x").reshape(len(output), -1)
    weights = out.get("weights") if isinstance(out, dict) else None
    if not isinstance(weights, (list, tuple)):
        raise Unreadable("its weights are missing")
    arrays = []
    for w in weights[:8]:
        raw, problem = as_plain(w)
        if problem is not None:
            raise Unreadable(f"a weight {problem}")
        arrays.append(np.array(raw, dtype=np.float64))
    layers = layers_of(arrays, in_features, hidden, classes)
    if layers is None:
        return [("wrong_params", f"the tensors of MLP({in_features}, {hidden}, {classes}) are not two linear layers "
                                 f"of shapes ({hidden}, {in_features}) and ({classes}, {hidden}) with biases")]
    w1, b1, w2, b2 = layers
    z = x @ w1.T + b1
    ref = np.maximum(z, 0) @ w2.T + b2
    if close(output, ref):
        return []
    soft = np.exp(ref - ref.max(axis=1, keepdims=True))
    variants = [
        ("no_activation", z @ w2.T + b2, "the hidden layer has no activation: the two linear layers collapse into "
                                          "one; apply ReLU to the hidden layer"),
        ("wrong_activation", np.tanh(z) @ w2.T + b2, "the hidden layer uses tanh; the MLP uses ReLU"),
        ("wrong_activation", 1 / (1 + np.exp(-z)) @ w2.T + b2, "the hidden layer uses the sigmoid; the MLP uses ReLU"),
        ("softmax_output", soft / soft.sum(axis=1, keepdims=True), SOFTMAX),
        ("relu_output", np.maximum(ref, 0), RELU_OUT),
    ]
    for code, value, text in variants:
        if close(output, value):
            return [(code, text)]
    return [("wrong_values", "the output is not relu(x W1^T + b1) W2^T + b2 computed with the network's own "
                             "weights (x flattened to (N, in_features)): one hidden layer with ReLU, then the "
                             "output layer")]


register(Graded("MLP", ASSIGNMENT, visible, hidden, CourseReference("MLP", backend="torch"), no_mistakes,
                argnames=(), judge=guarded(model_judge(problems))))
