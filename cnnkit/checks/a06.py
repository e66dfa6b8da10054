"""Assignment 06: training CNNs with PyTorch — the models, the training loop, evaluation, and the
accuracy a trained LeNet-5 and CifarNet reach on the real test sets.

Graded: MLP(in_features, hidden, classes), train_one_epoch(model, loader, optimizer, device),
evaluate(model, loader, device) -> accuracy, LeNet5(), CifarNet().

None of these is a function of arrays, so every case is a *probe* (`Case.probe`): a function of
`cnnkit.checks.probes06` that the grader runs in the student's process, which uses the student's object
its own way and returns plain numbers and arrays; the judges here compare those with what the
reference gives, in a process that never ran student code. The probes live in a module of their own,
which holds no answer, because it is the one module of the checks (with `inputs`) that the grading
sandbox leaves importable: the reference networks, the reference training loop and evaluation, the
judges and the mistakes they recognise are here only, out of the student's reach.

- The model classes are built under a fixed seed and run on a seeded batch: the probe reports the
  number of trainable parameters and their shapes, the output (and the output for a batch of one).
  LeNet5 and CifarNet are judged by properties, since the activations and pooling are the student's
  choice: 61,706 / 62,006 parameters, logits of shape (N, 10), finite, not probabilities. The MLP is
  judged exactly: its output must be relu(x W1^T + b1) W2^T + b2 computed with its own weights.
- train_one_epoch trains a small network with batch norm and dropout (handed over in evaluation
  mode) for one epoch on a seeded synthetic data set, through a DataLoader without shuffling, with
  SGD; the judge compares the loss it returns, the parameters and the batch-norm statistics afterwards
  with the reference run the same way, and names the mistake when a known wrong version gives them.
  Some cases end with a short last batch: the loss returned is the mean over the epoch's examples.
- evaluate measures a small network with dropout (handed over in training mode) on a loader whose
  last batch is smaller; a hook on the model sees whether it ran in evaluation mode without gradients.
- The batches both loaders hand out are a tensor subclass that stays marked until `.to(device)`, and
  the model's output is marked as being on the device until `.cpu()` brings it back: images that reach
  the model unmoved, and labels that meet the model's output on the device unmoved (in the loss, or
  compared with the predictions), are noticed even on a machine without a GPU; labels compared on the
  CPU with predictions brought back there are fine.
- The hidden cases of LeNet5 and CifarNet include training: the student's class, trained with the
  student's train_one_epoch under the grader's recipe (`RECIPES`, which the case carries) on the
  real training split, must
  reach `THRESHOLDS` on the real test split. The grader measures that, not the student's process: the
  case carries the test images (`TestImages`: the real test split's uint8 images, permuted by the
  case's seed, sent as a plain array), the probe returns the class the trained network predicts for
  each (never the student's evaluate), and the judge compares them with the labels, which it reads
  itself and which never reach the sandbox (whose data root holds only the training files).

torch is imported only when a probe or judge runs, so the other assignments' checks never pay for it.
"""

import math
from collections import Counter

import numpy as np

from .core import Case, Graded, Verdict, _as_plain, heading, register
# what the grading sandbox runs: the probes and what they need (no answer among them)
from .probes06 import (CLASSES, ForwardError, _MODEL_INPUT, _describe, _eval_data, _eval_model,  # noqa: F401
                       _probe_evaluate, _probe_model, _probe_train, _probe_trained, _torch)

ASSIGNMENT = "06"
FUNCTIONS = ("MLP", "train_one_epoch", "evaluate", "LeNet5", "CifarNet")

LENET5_PARAMETERS = 61_706
CIFARNET_PARAMETERS = 62_006

# what the trained networks must reach on the real test sets (10,000 images each)
THRESHOLDS = {"mnist": 0.985, "cifar10": 0.60}
# the grader's training recipe: SGD with Nesterov momentum 0.9 and a one-cycle learning rate (up to
# `lr` after a quarter of the steps, then down to almost 0), stepped with each optimizer step; the
# images normalised with the data set's mean and standard deviation (cnnkit.data.NORMALIZATION);
# CIFAR-10 images flipped left-right at random. On one CPU thread each takes about a minute when
# graded; the classic LeNet-5 (tanh, average pooling) and a ReLU/max-pooling one reach 98.9-99.2%
# on the test set over seeds, CifarNet 65-67%. A training case carries its recipe (a copy of the
# entry, made with the case), and the probe trains by it.
RECIPES = {
    "mnist": {"epochs": 5, "batch_size": 128, "lr": 0.15, "momentum": 0.9, "pct_start": 0.25, "flip": False},
    "cifar10": {"epochs": 6, "batch_size": 128, "lr": 0.05, "momentum": 0.9, "pct_start": 0.25, "flip": True},
}
TRAINING_SECONDS = 300.0       # the time limit of one training case when grading

_DATASET = {"LeNet5": "mnist", "CifarNet": "cifar10"}
_DATASET_NAME = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
_EXPECTED = {"LeNet5": LENET5_PARAMETERS, "CifarNet": CIFARNET_PARAMETERS}
# the trainable tensors of each network, (weight, bias) per layer; a 5x5 convolution over 5x5 maps
# (LeNet-5's C5) is the same layer as a fully connected one over the 400 flattened values
_LAYERS = {
    "LeNet5": [("the first convolution", (6, 1, 5, 5)), ("the second convolution", (16, 6, 5, 5)),
               ("the third convolution (C5)", (120, 16, 5, 5)), ("the fully connected layer 120 -> 84", (84, 120)),
               ("the output layer 84 -> 10", (10, 84))],
    "CifarNet": [("the first convolution", (6, 3, 5, 5)), ("the second convolution", (16, 6, 5, 5)),
                 ("the fully connected layer 400 -> 120", (120, 400)),
                 ("the fully connected layer 120 -> 84", (84, 120)), ("the output layer 84 -> 10", (10, 84))],
}

_SOFTMAX = ("the outputs are probabilities (each row is non-negative and sums to 1): forward must return the "
            "raw scores (logits) of the last linear layer, without softmax; F.cross_entropy applies "
            "log-softmax itself, so a softmax in forward squashes the gradients and training stalls")
_RELU_OUT = ("the outputs are never negative: there is an activation after the last linear layer; the "
             "logits come straight out of the last linear layer, with no ReLU after it")


# ----------------------------------------------------------------------------- the reference

def reference_train_one_epoch(model, loader, optimizer, device):
    """One epoch of training; the mean cross-entropy over the epoch's examples."""
    import torch.nn.functional as F
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count


def reference_evaluate(model, loader, device):
    """The fraction of examples whose largest logit is the label's."""
    torch = _torch()
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += (model(x).argmax(dim=1) == y).sum().item()
            count += len(y)
    return correct / count


def reference_lenet5():
    """LeNet-5 for 28x28 digits (padding 2 in the first convolution), tanh and average pooling."""
    from torch import nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),
                         nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def reference_cifarnet():
    from torch import nn
    return nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def reference_mlp(in_features, hidden, classes):
    from torch import nn
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, classes))


REFERENCE = {"LeNet5": reference_lenet5, "CifarNet": reference_cifarnet, "MLP": reference_mlp,
             "train_one_epoch": reference_train_one_epoch, "evaluate": reference_evaluate}


# ----------------------------------------------------------------------------- the test split, in the grader

def _test_split(dataset):
    """(images, labels) of the real test split, read in the grader's process (and in a notebook that
    runs the checks itself), never in the grading sandbox, whose data root has no test files."""
    from .. import data
    return data.load(dataset, "test")


def _test_order(n, seed):
    """The order in which a training case of `seed` sends the n test images."""
    return np.random.default_rng([int(seed), 6]).permutation(n)


def _test_labels(dataset, seed):
    """The labels of a training case's test images, in the order it sent them: only the judge sees them."""
    images, labels = _test_split(dataset)
    return labels[_test_order(len(labels), seed)]


class TestImages:
    """The argument of a training case: the real test split's images (uint8, in the publisher's layout),
    in the order the case's seed permutes them, without their labels.

    Made with the cases in the grader, it reads the images only when they are needed: pickled (as the
    grader sends a case to the student's process) it becomes that plain uint8 array, so the sandbox,
    whose data root holds the training files only, gets the images and never the labels; `np.asarray`
    gives the same array where the checks run in the notebook's own process."""

    __test__ = False      # not a pytest test class, whatever its name

    def __init__(self, dataset, seed):
        self.dataset, self.seed = str(dataset), int(seed)

    def array(self):
        images, _ = _test_split(self.dataset)
        return images[_test_order(len(images), self.seed)]

    def __array__(self, dtype=None, copy=None):
        a = self.array()
        return a if dtype is None else a.astype(dtype)

    def __reduce__(self):
        try:
            a = self.array()
        except Exception as e:   # not an OSError: the grader must not take it for a closed pipe
            raise RuntimeError(f"the grader could not read the {_DATASET_NAME[self.dataset]} test split to send "
                               f"with a training case: {_describe(e)}") from e
        return a.__reduce__()      # pickled exactly as the plain array is

    def __eq__(self, other):
        return isinstance(other, TestImages) and (self.dataset, self.seed) == (other.dataset, other.seed)

    def __hash__(self):
        return hash((TestImages, self.dataset, self.seed))

    def __repr__(self):
        return f"TestImages({self.dataset!r}, seed={self.seed})"


# ----------------------------------------------------------------------------- cases

def _model_case(name, seed, batch, note=""):
    c, h, w = _MODEL_INPUT[name]
    label = (f"a batch of {batch} random {c}x{h}x{w} images and its first image alone ({name}() built with "
             f"torch.manual_seed({seed}){', ' + note if note else ''})")
    return Case(name, (name, seed, batch), {}, label, probe=_probe_model)


def _trained_case(name, seed):
    """Training on the real data: args (dataset, seed, TestImages(dataset, seed), the recipe); the probe
    returns the predicted classes of those images, which the judge compares with the labels it reads
    itself."""
    dataset = _DATASET[name]
    r = dict(RECIPES[dataset])
    label = (f"{_DATASET_NAME[dataset]}, trained with your train_one_epoch for {r['epochs']} epochs (the grader's "
             f"recipe, seed {seed}), then measured on the 10,000 test images")
    return Case(name, (dataset, seed, TestImages(dataset, seed), r), {}, label, probe=_probe_trained,
                uses=("train_one_epoch",), seconds=TRAINING_SECONDS)


def _mlp_case(in_features, hidden, classes, input_shape, batch, seed):
    label = (f"a batch of {batch} inputs of shape {tuple(input_shape)} and its first input alone "
             f"(MLP({in_features}, {hidden}, {classes}) built with torch.manual_seed({seed}))")
    return Case("MLP", ("MLP", seed, batch, (in_features, hidden, classes), tuple(input_shape)), {}, label,
                probe=_probe_model)


def _train_case(kind, seed, n, batch_size, lr, momentum=0.0, weight_decay=0.0):
    what = "a small CNN" if kind == "conv" else "a small fully connected network"
    opt = f"SGD(lr={lr:g}" + (f", momentum={momentum:g}" if momentum else "") + \
          (f", weight_decay={weight_decay:g}" if weight_decay else "") + ")"
    last = f" (the last holds {n % batch_size})" if n % batch_size else ""
    label = (f"{what} with batch norm and dropout (handed over in evaluation mode), {n} examples in batches of "
             f"{batch_size}{last} without shuffling, {opt}, seed {seed}")
    return Case("train_one_epoch", (kind, seed, n, batch_size, lr, momentum, weight_decay), {}, label,
                probe=_probe_train)


def _evaluate_case(seed, n, batch_size, shape, classes):
    last = n % batch_size or batch_size
    label = (f"a small network with dropout (handed over in training mode), {n} examples of shape {tuple(shape)} "
             f"and {classes} classes in batches of {batch_size} (the last holds {last}), seed {seed}")
    return Case("evaluate", (seed, n, batch_size, tuple(shape), classes), {}, label, probe=_probe_evaluate)


def _visible_model(name):
    return lambda: [_model_case(name, 0, 4)]


def _hidden_model(name):
    def make(rng):
        return [_model_case(name, int(rng.integers(1, 10 ** 6)), int(rng.integers(2, 9))),
                _trained_case(name, int(rng.integers(1, 10 ** 6)))]
    return make


def _visible_mlp():
    return [_mlp_case(12, 7, 3, (3, 2, 2), 4, 0), _mlp_case(20, 9, 4, (20,), 3, 1)]


def _hidden_mlp(rng):
    out = []
    for shape in ((int(rng.integers(2, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 5))),
                  (int(rng.integers(10, 30)),), (1, int(rng.integers(3, 6)), int(rng.integers(3, 6)))):
        d = int(np.prod(shape))
        sizes = [s for s in range(3, 40) if s != d]
        hidden = int(rng.choice(sizes))
        classes = int(rng.choice([s for s in range(2, 9) if s not in (d, hidden)]))
        out.append(_mlp_case(d, hidden, classes, shape, int(rng.integers(2, 7)), int(rng.integers(10 ** 6))))
    return out


def _visible_train():
    return [_train_case("conv", 0, 32, 8, 0.1, momentum=0.9), _train_case("mlp", 1, 24, 6, 0.05, weight_decay=1e-3),
            _train_case("mlp", 2, 27, 8, 0.05, momentum=0.9)]       # a short last batch of 3


def _hidden_train(rng):
    out = []
    for kind, momentum in (("conv", 0.9), ("mlp", 0.0), ("conv", 0.5)):
        bs = int(rng.integers(4, 9))
        out.append(_train_case(kind, int(rng.integers(10 ** 6)), bs * int(rng.integers(3, 6)), bs,
                               float(rng.choice([0.02, 0.05, 0.1])), momentum))
    # a short last batch (of 2 or more: batch norm needs two examples in training mode)
    bs = int(rng.integers(6, 11))
    n = bs * int(rng.integers(3, 5)) + int(rng.integers(2, bs // 2 + 1))
    out.append(_train_case("mlp", int(rng.integers(10 ** 6)), n, bs, float(rng.choice([0.02, 0.05])), 0.9))
    return out


def _visible_evaluate():
    return [_evaluate_case(0, 50, 16, (12,), 3), _evaluate_case(1, 37, 10, (1, 5, 5), 4)]


def _hidden_evaluate(rng):
    out = []
    for shape in ((int(rng.integers(6, 20)),), (1, 4, 4), (2, 3, 3)):
        bs = int(rng.integers(6, 16))
        n = bs * int(rng.integers(2, 5)) + int(rng.integers(1, bs // 2 + 1))    # a short last batch
        out.append(_evaluate_case(int(rng.integers(10 ** 6)), n, bs, shape, int(rng.integers(3, 7))))
    return out


# ----------------------------------------------------------------------------- reading a probe's result

class _Unreadable(Exception):
    pass


def _field(out, key):
    if not isinstance(out, dict):
        raise _Unreadable(f"a {type(out).__name__}, not the probe's record")
    v = dict.get(out, key)
    raw, problem = _as_plain(v)
    if problem is not None:
        raise _Unreadable(f"its {key!r} {problem}")
    return np.array(raw, dtype=np.float64, copy=True)


def _scalar(out, key):
    a = _field(out, key)
    if a.size != 1:
        raise _Unreadable(f"its {key!r} is not one number")
    return float(a.reshape(()))


def _verdict(case, problems):
    """A Verdict from [(code, sentence)]: passed when empty; else the first code, every sentence."""
    if not problems:
        return Verdict(True, "", None)
    lines = [f"{heading(case)}: [{problems[0][0]}] {problems[0][1]}"]
    lines += [f"  also [{code}]: {text}" for code, text in problems[1:]]
    return Verdict(False, "\n".join(lines), problems[0][0])


def _judge_guard(judge):
    def guarded(case, output, inputs_after=None):
        try:
            return judge(case, output)
        except _Unreadable as e:
            return Verdict(False, f"{heading(case)}: the result could not be read ({e})", "unreadable")
    guarded.__name__ = judge.__name__
    return guarded


def _close(a, b, rtol=1e-4, atol=1e-5):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(np.max(np.abs(b)))
                                                                                   if b.size else 1.0)))


def _pct(v):
    return f"{100 * v:.2f}%"


# ----------------------------------------------------------------------------- judging the models

def _shapes_of(table):
    out = []
    for row in np.asarray(table, dtype=np.int64).reshape(-1, 5):
        nd = int(row[0])
        out.append(tuple(int(d) for d in row[1:1 + min(nd, 4)]))
    return out


def _canonical(shape):
    """A 5x5 convolution over 16 maps of 5x5 is the fully connected layer 400 -> out."""
    if len(shape) == 4 and shape[1:] == (16, 5, 5):
        return (shape[0], 400)
    return shape


def _parameter_problem(name, count, shapes):
    """(code, sentence) for a wrong number of parameters, from the shapes of the tensors."""
    expected = _EXPECTED[name]
    head = f"{name} has {count:,} trainable parameters; the network described has {expected:,}"
    if count == 0:
        return "unregistered", (head + ": no parameters at all. Layers must be attributes of the module (self.conv1 = "
                                "nn.Conv2d(...)) or inside nn.Sequential / nn.ModuleList; layers kept in a plain "
                                "Python list or dict, or made inside forward, are not registered (and never trained)")
    want = Counter()
    names = {}
    for layer, w in _LAYERS[name]:
        want[_canonical(w)] += 1
        want[(w[0],)] += 1
        names[_canonical(w)] = layer
    got = Counter(_canonical(s) for s in shapes)
    missing, extra = want - got, got - want
    if missing and not extra and all(len(s) == 1 for s in missing):
        layers = [names[w] for w in names if (w[0],) in missing]
        return "no_bias", (head + f": biases of shape {', '.join(str(s) for s in sorted(missing))} are missing. "
                           f"Every layer has a bias (bias=True is PyTorch's default); check "
                           f"{', '.join(layers) if layers else 'the layers'}")
    for w in extra:
        if len(w) == 4:
            same = [m for m in missing if len(m) == 4 and m[:2] == w[:2]]
            if same and w[2:] != same[0][2:]:
                return "kernel_size", (head + f": a convolution {w[1]} -> {w[0]} has {w[2]}x{w[3]} kernels, "
                                       f"where the network has {same[0][2]}x{same[0][3]} (kernel_size=5)")
    yours = [_canonical(s) for s in shapes if len(s) > 1]
    convs = [s for s in yours if len(s) == 4]
    fcs = [s for s in yours if len(s) == 2]
    want = [_canonical(w) for _, w in _LAYERS[name]]
    want_convs, want_fcs = [s for s in want if len(s) == 4], [s for s in want if len(s) == 2]
    if convs == want_convs and fcs != want_fcs and fcs:
        which = "layers from C5 to the output" if name == "LeNet5" else "fully connected layers"
        order = f"{name}'s {which}, in the order __init__ makes them, are {_chain(fcs)}"
        if len(fcs) == len(want_fcs) and fcs[1:] == want_fcs[1:] and fcs[0][0] == want_fcs[0][0]:
            after = ("the maps are 16 x 5 x 5 = 400 values per image after the second pooling"
                     + (" (with padding=2 in the first convolution; without it they are 16 x 4 x 4 = 256)"
                        if name == "LeNet5" else " (32 -> 28 -> 14 -> 10 -> 5)"))
            return "flatten_size", (head + f": {order}: the first takes {fcs[0][1]} inputs; {after}")
        text = f"{order}; the network described has {_chain(want_fcs)}"
        if len(fcs) == len(want_fcs) and fcs[0][1] == want_fcs[0][1] and fcs[-1][0] == want_fcs[-1][0] and \
                sorted(o for o, _ in fcs) == sorted(o for o, _ in want_fcs):
            hidden = " and then ".join(str(o) for o, _ in want_fcs[:-1])
            text += f" (the same sizes in another order: the hidden layers have {hidden} units)"
        elif len(fcs) != len(want_fcs):
            text += f" ({len(want_fcs)} fully connected layers, not {len(fcs)})"
        return "fc_sizes", head + ": " + text
    parts = []
    if missing:
        parts.append("missing tensors of shape " + ", ".join(str(s) for s in sorted(missing.elements())))
    if extra:
        parts.append("tensors not in the network: " + ", ".join(str(s) for s in sorted(extra.elements())))
    if yours:
        parts.append(f"{name}'s layers, in the order __init__ makes them: {_describe_layers(shapes)}")
    layers = "; ".join(f"{layer} {w} + bias ({w[0]},)" for layer, w in _LAYERS[name])
    return "wrong_params", (head + (": " + "; ".join(parts) if parts else "") + f". The layers: {layers}")


def _chain(fcs):
    """Fully connected layers [(out, in), ...] as "400 -> 120 -> 84 -> 10" (or "a -> b, c -> d" when one
    does not take the previous one's outputs)."""
    if all(fcs[i][1] == fcs[i - 1][0] for i in range(1, len(fcs))):
        return " -> ".join([str(fcs[0][1])] + [str(o) for o, _ in fcs])
    return ", ".join(f"{i} -> {o}" for o, i in fcs)


def _describe_layers(shapes):
    """The weight tensors as layers: "convolution 3 -> 6 (5x5), ..., fully connected 400 -> 120, ..."."""
    out = []
    for s in shapes:
        if len(s) == 4:
            out.append(f"convolution {s[1]} -> {s[0]} ({s[2]}x{s[3]})")
        elif len(s) == 2:
            out.append(f"fully connected {s[1]} -> {s[0]}")
        elif len(s) != 1:
            out.append(f"a tensor of shape {s}")
    return ", ".join(out[:12]) + (", ..." if len(out) > 12 else "")


def _output_problems(name, out, one, batch, classes=CLASSES):
    """(code, sentence) for the logits of a batch and of its first image alone."""
    problems = []
    want = (batch, classes)
    if out.shape != want:
        text = f"the output has shape {out.shape}; logits of shape {want} (one row per image) are expected"
        if out.shape == (batch, classes, 1, 1) or (out.ndim > 2 and out.shape[:2] == want):
            text += " — flatten the maps before the fully connected layers (x.flatten(1))"
        elif out.size == batch * classes:
            text += " — the right number of values, but reshaped: keep the batch axis first"
        return [("wrong_output_shape", text)]
    if one.shape != (1, classes):
        code = "squeezed" if one.shape == (classes,) else "batch_size"
        text = (f"for a batch of one image the output has shape {one.shape}, not (1, {classes})"
                + (": squeeze() removed the batch axis too; flatten with x.flatten(1) or x.view(len(x), -1)"
                   if code == "squeezed" else ": the network must work for any batch size (no batch size written "
                                              "into forward, e.g. view(64, -1))"))
        problems.append((code, text))
    if not np.all(np.isfinite(out)):
        return problems + [("not_finite", "the output contains NaN or infinity")]
    if np.all(out >= -1e-7) and np.allclose(out.sum(axis=1), 1.0, atol=1e-4):
        problems.append(("softmax_output", _SOFTMAX))
    elif np.all(out >= 0) and np.mean(out == 0) > 0.1:
        problems.append(("relu_output", _RELU_OUT))
    elif one.shape == (1, classes) and np.all(np.isfinite(one)) and not _close(one, out[:1], 1e-3, 1e-4):
        problems.append(("batch_dependent", "the output for the first image alone differs from its row in the "
                                            "batch output: in evaluation mode each image's logits must depend on "
                                            "that image only"))
    return problems


def _judge_model(case, out):
    name = case.name
    if _scalar(out, "module") != 1:
        return _verdict(case, [("not_module", f"{name}() did not build a torch.nn.Module: write "
                                              f"`class {name}(nn.Module):` with __init__ calling super().__init__() "
                                              f"and a forward method")])
    count = int(_scalar(out, "params"))
    shapes = _shapes_of(_field(out, "shapes"))
    output, one = _field(out, "output"), _field(out, "output_one")
    batch = int(case.args[2])
    problems = []
    if name == "MLP":
        problems += _mlp_problems(case, out, count, output, one, batch)
    else:
        if count != _EXPECTED[name]:
            problems.append(_parameter_problem(name, count, shapes))
        problems += _output_problems(name, output, one, batch)
    unused = int(_scalar(out, "no_gradient"))
    if unused:
        problems.append(("no_gradient", f"{unused} of the {len(shapes)} trainable tensors get no gradient from the "
                                        f"loss: a layer made in __init__ is never used in forward, or the "
                                        f"computation is cut off (.detach(), .numpy(), torch.no_grad() inside "
                                        f"forward); such parameters never learn"))
    return _verdict(case, problems)


def _mlp_problems(case, out, count, output, one, batch):
    in_features, hidden, classes = (int(v) for v in case.args[3])
    expected = in_features * hidden + hidden + hidden * classes + classes
    problems = []
    if count == 0:
        problems.append(("unregistered", f"MLP({in_features}, {hidden}, {classes}) has no trainable parameters: "
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
        problems.append((code, text))
    shape_problems = _output_problems("MLP", output, one, batch, classes)
    if shape_problems and shape_problems[0][0] in ("wrong_output_shape", "not_finite"):
        return problems + shape_problems
    if not problems:
        problems += _mlp_values(case, out, output)
    known = {c for c, _ in problems}
    return problems + [p for p in shape_problems if p[0] not in known and
                       not (p[0] in ("softmax_output", "relu_output") and known & {"softmax_output", "relu_output"})]


def _mlp_layers(weights, d, h, c):
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


def _mlp_values(case, out, output):
    in_features, hidden, classes = (int(v) for v in case.args[3])
    x = _field(out, "x").reshape(len(output), -1)
    weights = out.get("weights") if isinstance(out, dict) else None
    if not isinstance(weights, (list, tuple)):
        raise _Unreadable("its weights are missing")
    arrays = []
    for w in weights[:8]:
        raw, problem = _as_plain(w)
        if problem is not None:
            raise _Unreadable(f"a weight {problem}")
        arrays.append(np.array(raw, dtype=np.float64))
    layers = _mlp_layers(arrays, in_features, hidden, classes)
    if layers is None:
        return [("wrong_params", f"the tensors of MLP({in_features}, {hidden}, {classes}) are not two linear layers "
                                 f"of shapes ({hidden}, {in_features}) and ({classes}, {hidden}) with biases")]
    w1, b1, w2, b2 = layers
    z = x @ w1.T + b1
    ref = np.maximum(z, 0) @ w2.T + b2
    if _close(output, ref):
        return []
    soft = np.exp(ref - ref.max(axis=1, keepdims=True))
    variants = [
        ("no_activation", z @ w2.T + b2, "the hidden layer has no activation: the two linear layers collapse into "
                                          "one; apply ReLU to the hidden layer"),
        ("wrong_activation", np.tanh(z) @ w2.T + b2, "the hidden layer uses tanh; the MLP uses ReLU"),
        ("wrong_activation", 1 / (1 + np.exp(-z)) @ w2.T + b2, "the hidden layer uses the sigmoid; the MLP uses ReLU"),
        ("softmax_output", soft / soft.sum(axis=1, keepdims=True), _SOFTMAX),
        ("relu_output", np.maximum(ref, 0), _RELU_OUT),
    ]
    for code, value, text in variants:
        if _close(output, value):
            return [(code, text)]
    return [("wrong_values", "the output is not relu(x W1^T + b1) W2^T + b2 computed with the network's own "
                             "weights (x flattened to (N, in_features)): one hidden layer with ReLU, then the "
                             "output layer")]


def _judge_trained(case, out):
    dataset, seed = case.args[0], case.args[1]
    need = THRESHOLDS[dataset]
    predicted = _field(out, "predicted")
    losses = _field(out, "losses").reshape(-1)
    params = _scalar(out, "params")
    labels = _test_labels(dataset, seed)
    if predicted.shape != labels.shape:
        return Verdict(False, f"{heading(case)}: [wrong_predictions] the trained network's predictions have shape "
                              f"{predicted.shape} for {len(labels):,} test images: the logits must have shape "
                              f"(N, {CLASSES}) (see the other checks)", "wrong_predictions")
    accuracy = float(np.mean(predicted == labels)) if labels.size else 0.0
    if accuracy >= need:
        return Verdict(True, "", None)
    r = case.args[3]         # the recipe the case was trained by
    recipe = (f"{r['epochs']} epochs, batches of {r['batch_size']}, SGD with Nesterov momentum {r['momentum']:g} "
              f"and a one-cycle learning rate up to {r['lr']:g}" + (", random flips" if r["flip"] else ""))
    text = (f"trained with your train_one_epoch ({recipe}), {case.name} reached {_pct(accuracy)} on the "
            f"{_DATASET_NAME[dataset]} test set; at least {_pct(need)} is needed")
    shown = ", ".join("nan" if not np.isfinite(v) else f"{v:.3f}" for v in losses)
    text += f". The losses your train_one_epoch returned, epoch by epoch: {shown}"
    if params != _EXPECTED[case.name]:
        text += f". The network has {params:,.0f} parameters, not {_EXPECTED[case.name]:,} (see the other checks)"
    if losses.size and not np.all(np.isfinite(losses)):
        code = "loss_nan"
        text += ("\n  likely mistake: the loss is not a finite number: train_one_epoch must return the mean loss as a "
                 "float, and the network's outputs must be finite")
    elif accuracy < 0.2:
        code = "not_learning"
        text += ("\n  likely mistake: the network did not learn at all; make sure train_one_epoch passes its own "
                 "checks (zero_grad, backward, step on every batch) and that forward returns logits")
    else:
        code = "low_accuracy"
        text += ("\n  what to check: the network learns, but not well enough: check that forward returns logits "
                 "(no softmax), that train_one_epoch passes its checks, and the layers against the description")
    return Verdict(False, f"{heading(case)}: [{code}] {text}", code)


def _judge_network(case, out):
    if case.probe is _probe_trained:
        return _judge_trained(case, out)
    return _judge_model(case, out)


# ----------------------------------------------------------------------------- judging train_one_epoch

def _variant_train(record=None, zero_grad=True, train_mode=True, reduction="mean", step=True, zero_late=False):
    """The reference training, or a version of it with one thing changed; `record` gets each batch's
    mean loss and size (to recognise the ways of adding them up wrongly)."""
    import torch.nn.functional as F

    def train(model, loader, optimizer, device):
        if train_mode:
            model.train()
        losses, sizes = [], []
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            if zero_grad:
                optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y, reduction=reduction)
            loss.backward()
            if zero_late:
                optimizer.zero_grad()
            if step:
                optimizer.step()
            losses.append(loss.item() / (len(y) if reduction == "sum" else 1))
            sizes.append(len(y))
        if record is not None:
            record["losses"], record["sizes"] = losses, sizes
        return float(np.dot(losses, sizes) / sum(sizes))

    return train


def _train_result(case, fn):
    return _probe_train(fn, {}, *case.args, **case.kwargs)


def _judge_train(case, out):
    record = {}
    ref = _train_result(case, _variant_train(record))      # the reference training, batch losses recorded
    losses, sizes = record["losses"], record["sizes"]
    loss = _scalar(out, "loss")
    params, buffers = _field(out, "params"), _field(out, "buffers")
    counts = {k: int(_scalar(out, k)) for k in ("forwards", "eval_forwards", "steps", "batches", "unmoved_x",
                                                 "unmoved_y", "is_float")}
    problems = []
    batches = counts["batches"]
    if counts["unmoved_x"] or counts["unmoved_y"]:
        problems.append(_unmoved_problem(counts, "in the loss"))
    if counts["steps"] == 0:
        problems.append(("no_step", "optimizer.step() was never called, so the parameters never changed: after "
                                    "loss.backward(), optimizer.step() applies the gradients"))
    elif counts["steps"] != batches:
        problems.append(("steps", f"optimizer.step() was called {counts['steps']} times for {batches} batches: "
                                  f"one step per batch"))
    if counts["eval_forwards"]:
        problems.append(("train_mode", "the model ran in evaluation mode: call model.train() at the start of the "
                                       "epoch (it came in evaluation mode, so dropout was off and batch norm used "
                                       "its running statistics instead of the batch's)"))
    if counts["forwards"] > batches:
        problems.append(("extra_forward", f"the model was called {counts['forwards']} times for {batches} batches: "
                                          f"one forward pass per batch (each call in training mode draws new dropout "
                                          f"masks and updates the batch-norm statistics); reuse its output"))
    params_ok = _close(params, ref["params"]) and _close(buffers, ref["buffers"])
    if not params_ok and not problems:
        problems.append(_training_mistake(case, params, buffers))
    if not _close(loss, ref["loss"], 1e-4, 1e-6):
        found = _loss_mistake(loss, ref["loss"], losses, sizes, params_ok)
        if found:
            problems.append(found)
    elif not counts["is_float"]:
        problems.append(("not_float", "the loss is right, but it is not a Python float: return a number, e.g. "
                                      "accumulate loss.item() * len(y) (adding up loss tensors also keeps every "
                                      "batch's graph in memory)"))
    return _verdict(case, problems)


def _unmoved_problem(counts, where):
    """(code, sentence) for batches that were not moved to the device: images that reached the model as
    they came, labels that met the model's output on the device (`where`) as they came."""
    what = []
    if counts["unmoved_x"]:
        what.append("the images of a batch reached the model without being moved to `device`")
    if counts["unmoved_y"]:
        what.append(f"the labels of a batch were {where} without being moved to `device`, while the model's "
                    f"output is on the device")
    text = (" and ".join(what) + ": x, y = x.to(device), y.to(device) for every batch (on a GPU the model's "
            "weights live there, and mixing devices fails)")
    if counts["unmoved_y"] and not counts["unmoved_x"] and where.startswith("compared"):
        text += "; or bring the predictions back with .cpu() before comparing them with the labels"
    return "not_on_device", text


def _training_mistake(case, params, buffers):
    variants = [
        ("no_zero_grad", dict(zero_grad=False), "the gradients were never zeroed, so each step used the sum of the "
                                                "gradients of all batches so far: call optimizer.zero_grad() for "
                                                "every batch, before loss.backward()"),
        ("sum_loss", dict(reduction="sum"), "the loss was summed over the batch, not averaged, so the steps were "
                                            "batch-size times too large: use F.cross_entropy(logits, y) (its "
                                            "default reduction is the mean)"),
        ("train_mode", dict(train_mode=False), "the model ran in evaluation mode: call model.train() at the start"),
        ("zero_grad_order", dict(zero_late=True), "the gradients were zeroed between loss.backward() and "
                                                  "optimizer.step(), so every step used zero gradients: zero them "
                                                  "before the backward pass"),
    ]
    for code, change, text in variants:
        r = _train_result(case, _variant_train(**change))
        if _close(params, r["params"]) and _close(buffers, r["buffers"]):
            return code, text
    return ("wrong_parameters", "the parameters after the epoch are not those one epoch of plain training gives: "
                                "for every batch, move it to the device, zero the gradients, compute the mean "
                                "cross-entropy of the model's output, call backward and step")


def _loss_mistake(loss, ref, losses, sizes, params_ok):
    """(code, sentence) for a wrong loss; None when the training differs and the loss matches no known
    way of adding up (the parameters' message says what is wrong)."""
    if not np.isfinite(loss):
        return ("no_loss", "train_one_epoch returned no number: return the mean loss of the epoch as a float "
                           "(did it forget to `return`?)")
    text = f"the returned loss is {loss:.6g}; the mean loss over the epoch's examples is {ref:.6g}"
    if params_ok:
        total = float(np.dot(losses, sizes))
        candidates = [
            ("unweighted_mean", float(np.mean(losses)), "this is the mean of the batch losses, each batch counted "
                                                        "once; the last batch is smaller, so its loss must count "
                                                        "less: add up loss.item() * len(y) over the batches and "
                                                        "divide by the number of examples"),
            ("last_batch_loss", losses[-1], "this is the last batch's loss: add up the loss of every batch (weighted "
                                            "by its size) and divide by the number of examples"),
            ("first_batch_loss", losses[0], "this is the first batch's loss: add up the loss of every batch"),
            ("not_averaged", float(np.sum(losses)), "this is the sum of the batch losses: divide by the number of "
                                                    "batches (or weight each by its size and divide by the number "
                                                    "of examples)"),
            ("not_averaged", total, "this is the total loss of all examples: divide it by the number of examples"),
            ("not_averaged", float(np.sum(losses)) / sum(sizes), "the sum of the batch means was divided by the "
                                                                 "number of examples: each batch's mean loss counts "
                                                                 "len(y) times (loss.item() * len(y))"),
        ]
        for code, value, why in candidates:
            if _close(loss, value, 1e-4, 1e-6):
                return code, text + ": " + why
    return ("wrong_loss", text) if params_ok else None


# ----------------------------------------------------------------------------- judging evaluate

def _judge_evaluate(case, out):
    ref = _probe_evaluate(reference_evaluate, {}, *case.args, **case.kwargs)
    value = _scalar(out, "accuracy")
    counts = {k: int(_scalar(out, k)) for k in ("is_float", "forwards", "train_forwards", "grad_forwards",
                                                 "batches", "unmoved_x", "unmoved_y")}
    problems = []
    if counts["unmoved_x"] or counts["unmoved_y"]:
        problems.append(_unmoved_problem(counts, "compared with the predictions"))
    if counts["train_forwards"]:
        problems.append(("train_mode", "the model ran in training mode: call model.eval() first (it came in "
                                       "training mode, so dropout dropped units at random and the accuracy is "
                                       "that of a damaged network)"))
    if counts["grad_forwards"]:
        problems.append(("no_grad", "gradients were tracked while evaluating: run the loop inside "
                                    "`with torch.no_grad():` (no graph is kept, which saves memory and time)"))
    if not _close(value, ref["accuracy"], 1e-6, 1e-7) and not counts["train_forwards"]:
        problems.append(_accuracy_mistake(case, value, ref["accuracy"]))
    elif not problems and not counts["is_float"]:
        problems.append(("not_float", "the accuracy is right, but it is not a Python float: return a number, "
                                      "e.g. correct / total with correct counted by .sum().item()"))
    return _verdict(case, problems)


def _accuracy_mistake(case, value, ref):
    n, batch_size = case.args[1:3]
    if not np.isfinite(value):
        return ("no_accuracy", "evaluate returned no number: return the fraction of correct predictions as a float "
                               "(did it forget to `return`?)")
    text = f"the returned accuracy is {value:.6g}; the fraction of correct predictions is {ref:.6g}"
    correct = round(ref * n)
    per_batch = _per_batch(case)
    batches = math.ceil(n / batch_size)
    candidates = [
        ("percent", 100 * ref, "this is a percentage: return the fraction in [0, 1] (correct / total)"),
        ("count", float(correct), "this is the number of correct predictions: divide by the number of examples"),
        ("batch_mean", float(np.mean(per_batch)) if per_batch else math.nan,
         "this is the mean of the batches' accuracies; the last batch is smaller, so it must count less: add up the "
         "correct predictions and divide by the number of examples"),
        ("denominator", correct / (batches * batch_size), f"the correct predictions were divided by {batches} batches "
                                                          f"x {batch_size}, but the last batch is smaller: divide by "
                                                          f"the number of examples (len(loader.dataset), or count "
                                                          f"len(y) batch by batch)"),
        ("error_rate", 1 - ref, "this is the error rate: the accuracy is the fraction of correct predictions"),
    ]
    for code, v, why in candidates:
        if np.isfinite(v) and abs(value - v) <= 1e-6 * max(1.0, abs(v)):
            return code, text + ": " + why
    return "wrong_accuracy", text


def _per_batch(case):
    """The accuracy of each batch of the case, as the reference sees them."""
    torch = _torch()
    seed, n, batch_size, shape, classes = case.args
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _eval_model(int(np.prod(shape)), classes)
        x, y = _eval_data(model, tuple(shape), classes, seed, n)
        model.eval()
        with torch.no_grad():
            hit = (model(x).argmax(dim=1) == y).double()
    return [float(hit[i:i + batch_size].mean()) for i in range(0, n, batch_size)]


# ----------------------------------------------------------------------------- registration

def _no_mistakes(case, ref):
    return []     # the judges here name the mistakes themselves


register(Graded("MLP", ASSIGNMENT, _visible_mlp, _hidden_mlp, reference_mlp, _no_mistakes, argnames=(),
                judge=_judge_guard(_judge_model)))
register(Graded("train_one_epoch", ASSIGNMENT, _visible_train, _hidden_train, reference_train_one_epoch,
                _no_mistakes, argnames=(), judge=_judge_guard(_judge_train)))
register(Graded("evaluate", ASSIGNMENT, _visible_evaluate, _hidden_evaluate, reference_evaluate, _no_mistakes,
                argnames=(), judge=_judge_guard(_judge_evaluate)))
register(Graded("LeNet5", ASSIGNMENT, _visible_model("LeNet5"), _hidden_model("LeNet5"), reference_lenet5,
                _no_mistakes, argnames=(), judge=_judge_guard(_judge_network)))
register(Graded("CifarNet", ASSIGNMENT, _visible_model("CifarNet"), _hidden_model("CifarNet"), reference_cifarnet,
                _no_mistakes, argnames=(), judge=_judge_guard(_judge_network)))
