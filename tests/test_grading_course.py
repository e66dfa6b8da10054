"""Every assignment through the grading pipeline: the instructor's solutions get full marks, code
written differently from them gets full marks too, the blank release gets zero without a fault, and a
typical mistake loses that function's points, with the mistake named in the feedback.

Submissions are the released notebook with cells filled in (`autograde.examples.fill`), graded by the
code the TA's command runs, with each assignment's own limits. Assignment 01 has its own, fuller file
(test_grading.py); this one makes sure no assignment is left out.
"""


import pytest

from autograde import build, examples, grader
from conftest import REPO

ASSIGNMENTS = [a for a in build.assignments() if not a.startswith("01-")]

# a correct version written differently from the solution, per assignment: {grade_id: source}
DIFFERENT = {
    "02": {
        "pad2d": '''
def pad2d(x, padding):
    x = np.asarray(x)
    if isinstance(padding, (int, np.integer)):
        padding = (padding,) * 4
    elif len(padding) == 2:
        padding = (padding[1], padding[1], padding[0], padding[0])
    left, right, top, bottom = padding
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths, mode="constant")
''',
        "conv_output_size": '''
import math

def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    if isinstance(size, tuple):
        pair = lambda v: v if isinstance(v, tuple) else (v, v)
        k, s, p, d = pair(kernel_size), pair(stride), pair(padding), pair(dilation)
        return tuple(conv_output_size(size[i], k[i], s[i], p[i], d[i]) for i in range(2))
    if padding == "same":
        return size
    if padding == "valid":
        padding = 0
    return math.floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1
''',
        "conv2d": '''
def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    x, w = np.asarray(x, dtype=np.result_type(x, w, 1.0)), np.asarray(w)
    N, C, H, W = x.shape
    D, _, kh, kw = w.shape
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    dh, dw = (dilation, dilation) if np.isscalar(dilation) else dilation
    if padding == "valid":
        padding = 0
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    elif np.isscalar(padding):
        pads = ((padding, padding), (padding, padding))
    elif len(padding) == 2:
        pads = ((padding[0], padding[0]), (padding[1], padding[1]))
    else:
        pads = ((padding[2], padding[3]), (padding[0], padding[1]))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    Ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, D, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        y += np.asarray(b, dtype=y.dtype).reshape(1, -1, 1, 1)
    return y
''',
    },
    "03": {
        "max_pool2d": '''
def max_pool2d(x, kernel_size, stride=None):
    return max_pool2d_with_indices(x, kernel_size, stride)[0]
''',
        "max_pool2d_with_indices": '''
def max_pool2d_with_indices(x, kernel_size, stride=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    if stride is None:
        stride = (kh, kw)
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    y = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    idx = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best = None
                    for a in range(kh):
                        for b in range(kw):
                            r, q = i * sh + a, j * sw + b
                            if best is None or x[n, c, r, q] > best:
                                best, where = x[n, c, r, q], r * W + q
                    y[n, c, i, j], idx[n, c, i, j] = best, where
    return y, idx
''',
        "avg_pool2d": '''
def avg_pool2d(x, kernel_size, stride=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    Ho, Wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    total = np.zeros(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            total += x[:, :, a:a + sh * (Ho - 1) + 1:sh, b:b + sw * (Wo - 1) + 1:sw]
    return total / (kh * kw)
''',
        "global_avg_pool2d": '''
def global_avg_pool2d(x):
    return x.sum(axis=3).sum(axis=2) / (x.shape[2] * x.shape[3])
''',
        "stochastic_pool2d": '''
def stochastic_pool2d(x, kernel_size, stride=None, training=True, rng=None):
    if rng is None or isinstance(rng, int):
        rng = np.random.default_rng(rng)
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    y = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    a = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw].flatten().astype(float)
                    s = a.sum()
                    if s <= 0:
                        continue
                    if training:
                        cum = np.cumsum(a / s)
                        y[n, c, i, j] = a[min(np.searchsorted(cum, rng.random(), side="right"), a.size - 1)]
                    else:
                        y[n, c, i, j] = np.sum(a * a) / s
    return y
''',
    },
    "04": {
        "sigmoid": """
def sigmoid(z):
    return 0.5 * (1 + np.tanh(np.asarray(z) / 2))
""",
        "sigmoid_backward": """
def sigmoid_backward(dout, z):
    s = 0.5 * (1 + np.tanh(np.asarray(z) / 2))
    return np.multiply(dout, s - s * s)
""",
        "linear_backward": """
def linear_backward(dout, x, w):
    return np.einsum("no,oi->ni", dout, w), np.einsum("no,ni->oi", dout, x), np.einsum("no->o", dout)
""",
        "avg_pool2d_backward": """
def avg_pool2d_backward(dout, x, kernel_size, stride=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    Ho, Wo = dout.shape[2:]
    dx = np.zeros_like(x)
    for a in range(kh):
        for b in range(kw):
            dx[:, :, a:a + sh * (Ho - 1) + 1:sh, b:b + sw * (Wo - 1) + 1:sw] += dout / (kh * kw)
    return dx
""",
        "max_pool2d_backward": """
def max_pool2d_backward(dout, x, kernel_size, stride=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    r, q = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, c, i * sh + r, j * sw + q] += dout[n, c, i, j]
    return dx
""",
        "conv2d_backward": """
def conv2d_backward(dout, x, w, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    N, D, Ho, Wo = dout.shape
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            dw += np.tensordot(dout[:, :, i, j], patch, axes=([0], [0]))
            dxp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    return dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]], dw, dout.sum(axis=(0, 2, 3))
""",
        "sigmoid_cnn_gradients": """
def sigmoid_cnn_gradients(params, x, y):
    Wc, bc, W1, b1, W2, b2 = (params[k] for k in ("W_conv", "b_conv", "W1", "b1", "W2", "b2"))
    N, C, H, W = x.shape
    D, _, k, _ = Wc.shape
    Ho, Wo = H - k + 1, W - k + 1
    z = np.zeros((N, D, Ho, Wo)) + bc[:, None, None]
    for i in range(Ho):
        for j in range(Wo):
            z[:, :, i, j] += np.einsum("nchw,dchw->nd", x[:, :, i:i + k, j:j + k], Wc)
    a = sigmoid(z)
    Hp, Wp = Ho // 2, Wo // 2
    pooled = a[:, :, :2 * Hp, :2 * Wp].reshape(N, D, Hp, 2, Wp, 2).mean(axis=(3, 5))
    f = pooled.reshape(N, -1)
    a1 = sigmoid(f @ W1.T + b1)
    h = sigmoid(a1 @ W2.T + b2)
    J = 0.5 * np.sum((h - y) ** 2)
    d2 = (h - y) * h * (1 - h)
    d1 = (d2 @ W2) * a1 * (1 - a1)
    dpool = (d1 @ W1).reshape(N, D, Hp, Wp)
    da = np.zeros_like(a)
    da[:, :, :2 * Hp, :2 * Wp] = np.repeat(np.repeat(dpool, 2, axis=2), 2, axis=3) / 4
    dz = da * a * (1 - a)
    dWc = np.zeros_like(Wc)
    for i in range(Ho):
        for j in range(Wo):
            dWc += np.einsum("nd,nchw->dchw", dz[:, :, i, j], x[:, :, i:i + k, j:j + k])
    return J, {"W_conv": dWc, "b_conv": dz.sum(axis=(0, 2, 3)), "W1": d1.T @ f, "b1": d1.sum(0),
               "W2": d2.T @ a1, "b2": d2.sum(0)}
""",
        "numerical_gradient": """
def numerical_gradient(f, x, eps=1e-6):
    g = np.empty(x.size)
    for i in range(x.size):
        up, down = x.astype(float), x.astype(float)
        up.flat[i] += eps
        down.flat[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g.reshape(x.shape)
""",
    },
    "05": {
        "toeplitz_1d": """
def toeplitz_1d(k, n):
    k = np.asarray(k)
    dtype = np.result_type(k, 1.0)
    return sum(k[j] * np.eye(n - len(k) + 1, n, j, dtype=dtype) for j in range(len(k)))
""",
        "toeplitz_matrix": """
def toeplitz_matrix(w, input_shape):
    C, H, W = input_shape
    D, _, kh, kw = w.shape
    Ho, Wo = H - kh + 1, W - kw + 1
    T = np.zeros((D * Ho * Wo, C * H * W), dtype=np.result_type(w, 1.0))
    for d in range(D):
        for i in range(Ho):
            for j in range(Wo):
                row = (d * Ho + i) * Wo + j
                for c in range(C):
                    for a in range(kh):
                        for b in range(kw):
                            T[row, (c * H + i + a) * W + j + b] = w[d, c, a, b]
    return T
""",
        "im2col": """
def im2col(x, kernel_size, stride=1, padding=0):
    k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    s = (stride, stride) if isinstance(stride, int) else tuple(stride)
    p = (padding, padding) if isinstance(padding, int) else tuple(padding)
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    Ho, Wo = (H + 2 * p[0] - k[0]) // s[0] + 1, (W + 2 * p[1] - k[1]) // s[1] + 1
    out = np.zeros((N, C * k[0] * k[1], Ho * Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i * Wo + j] = xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]].reshape(N, -1)
    return out
""",
        "conv2d_gemm": """
def conv2d_gemm(x, w, b=None, stride=1, padding=0):
    s = (stride, stride) if isinstance(stride, int) else tuple(stride)
    p = (padding, padding) if isinstance(padding, int) else tuple(padding)
    D, C, kh, kw = w.shape
    N, _, H, W = x.shape
    Ho, Wo = (H + 2 * p[0] - kh) // s[0] + 1, (W + 2 * p[1] - kw) // s[1] + 1
    y = np.einsum("dk,nkl->ndl", w.reshape(D, -1), im2col(x, (kh, kw), s, p))
    if b is not None:
        y = y + b.reshape(1, D, 1)
    return y.reshape(N, D, Ho, Wo)
""",
    },
    "06": {
        "LeNet5": """
class LeNet5(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.c3 = torch.nn.Conv2d(6, 16, 5)
        self.c5 = torch.nn.Conv2d(16, 120, 5)
        self.f6 = torch.nn.Linear(120, 84)
        self.out = torch.nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.c3(x)), 2)
        x = torch.relu(self.c5(x)).reshape(x.shape[0], -1)
        return self.out(torch.relu(self.f6(x)))
""",
        "CifarNet": """
class CifarNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
            torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
            torch.nn.Linear(84, 10))

    def forward(self, x):
        return self.net(x)
""",
        "MLP": """
class MLP(torch.nn.Module):
    def __init__(self, in_features, hidden, classes):
        super().__init__()
        self.hidden = torch.nn.Linear(in_features, hidden)
        self.output = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(torch.flatten(x, start_dim=1))))
""",
        "train_one_epoch": """
def train_one_epoch(model, loader, optimizer, device):
    model.train()
    losses, sizes = [], []
    for batch in loader:
        images, labels = (t.to(device) for t in batch)
        for p in model.parameters():
            p.grad = None
        loss = torch.nn.CrossEntropyLoss()(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        sizes.append(labels.shape[0])
    return sum(l * n for l, n in zip(losses, sizes)) / sum(sizes)
""",
        "evaluate": """
@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    hits = total = 0
    for images, labels in loader:
        predicted = model(images.to(device)).max(dim=1).indices
        hits += int((predicted == labels.to(device)).sum())
        total += labels.numel()
    return hits / total
""",
    },
}

# one typical mistake per assignment: (grade_id, source, the diagnosis the feedback must name)
MISTAKE = {
    # conv2d, the function the others do not call: a mistake in pad2d would cost conv2d points too
    "02": ("conv2d", DIFFERENT["02"]["conv2d"].replace(
        "    if b is not None:\n        y += np.asarray(b, dtype=y.dtype).reshape(1, -1, 1, 1)\n", ""), "bias_missing"),
    "03": ("avg_pool2d", '''
def avg_pool2d(x, kernel_size, stride=None):
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    s = k if stride is None else (stride if isinstance(stride, int) else stride[0])
    Ho, Wo = (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1
    y = np.zeros(x.shape[:2] + (Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            y[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].sum(axis=(2, 3))   # the sum, not the mean
    return y
''', "avg_sum"),
    # functions that no other graded function calls, so the mistake costs only their own points
    "04": ("max_pool2d_backward", DIFFERENT["04"]["max_pool2d_backward"].replace(
        "                    r, q = np.unravel_index(np.argmax(win), win.shape)\n"
        "                    dx[n, c, i * sh + r, j * sw + q] += dout[n, c, i, j]\n",
        "                    dx[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw] += (win == win.max()) * dout[n, c, i, j]\n"),
        "max_ties_all"),
    "05": ("conv2d_gemm", DIFFERENT["05"]["conv2d_gemm"].replace("y = y + b.reshape(1, D, 1)", "pass"), "bias_missing"),
    "06": ("evaluate", DIFFERENT["06"]["evaluate"].replace("return hits / total", "return 100 * hits / total"),
           "percent"),
}


def release_path(assignment):
    return next((REPO / "course" / assignment).glob("*.ipynb"))


def grade(assignment, sources=None, blank=False):
    """The result of grading the release of `assignment` filled with the solutions and `sources`."""
    job = examples.solved_job(assignment, release_path(assignment).stem, sources, blank=blank, seed=5)
    return grader.grade_submission(job)


def number(assignment):
    return assignment.split("-")[0]


def clean(result):
    """What a grade must never show for honest code: a fault, an error in a cell, a flag for review."""
    assert result.status == "graded", result.reason
    assert not result.cell_errors, result.cell_errors
    assert not result.review, result.review


def test_every_assignment_has_a_different_correct_version_and_a_mistake():
    assert sorted(DIFFERENT) == sorted(MISTAKE) == sorted(number(a) for a in ASSIGNMENTS)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_get_full_marks(assignment):
    result = grade(assignment)
    clean(result)
    assert result.score == result.max_score > 0, [f.messages for f in result.functions]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_code_written_differently_gets_full_marks(assignment):
    different = DIFFERENT[number(assignment)]
    result = grade(assignment, different)
    clean(result)
    graded = {f.name for f in result.functions}
    assert set(different) & graded, "the different version must replace graded functions"
    assert result.score == result.max_score, [f.messages for f in result.functions]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_blank_release_scores_zero_without_a_fault(assignment):
    result = grade(assignment, blank=True)
    assert result.status == "graded", result.reason
    assert result.score == 0
    for f in result.functions:
        assert f.messages and "NotImplementedError" in f.messages[0], f


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_typical_mistake_loses_its_points_and_is_named(assignment):
    name, source, diagnosis = MISTAKE[number(assignment)]
    assert source != DIFFERENT[number(assignment)].get(name), "the mistake must change the code"
    result = grade(assignment, {name: source})
    clean(result)
    for f in result.functions:
        if f.name == name:
            assert f.score < f.points and diagnosis in f.diagnoses, f
            assert any(diagnosis in m for m in f.messages), f.messages
        else:
            assert f.score == f.points, f
