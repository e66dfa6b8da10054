"""Assignment 06 in the one checks suite: correct implementations written differently from the
solutions, deliberately wrong ones (each with the mistake its checks must name), and hostile
records from a probe. tests/test_checks_a06.py runs the same implementations through the hidden
cases and the verdicts of every case."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import cnnkit.torch as ct
from cnnkit import checks
from cnnkit.checks.a06 import grading
from judging import Liar, LyingArray, object_array

ASSIGNMENT = "06"
NAMES = checks.GRADED[ASSIGNMENT]
# the hidden cases of LeNet5 and CifarNet train on the real data sets (minutes): the suite runs the
# visible cases only, and tests/test_checks_a06.py the hidden ones that do not train
HIDDEN_SEEDS = ()


def course_lenet5():
    """The course's LeNet-5 for 28x28 digits (cnnkit.torch, torch.nn's layers)."""
    return ct.LeNet5(padding=2, backend="torch")


# ----------------------------------------------------------------------------- correct, written differently

class MLPAttributes(nn.Module):
    def __init__(self, in_features, hidden, classes):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x.view(len(x), -1))))


class MLPMatrices(nn.Module):
    """Its own weight matrices, stored (in, out): x @ W + b."""

    def __init__(self, in_features, hidden, classes):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(in_features, hidden) / in_features ** 0.5)
        self.b1 = nn.Parameter(torch.zeros(hidden))
        self.w2 = nn.Parameter(torch.randn(hidden, classes) / hidden ** 0.5)
        self.b2 = nn.Parameter(torch.zeros(classes))

    def forward(self, x):
        return torch.clamp(x.reshape(x.shape[0], -1) @ self.w1 + self.b1, min=0) @ self.w2 + self.b2


class LeNetReLU(nn.Module):
    """ReLU and max pooling; C5 written as the fully connected layer 400 -> 120 it is."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c3(x)), 2)
        x = F.relu(self.c5(torch.flatten(x, start_dim=1)))
        return self.out(F.relu(self.f6(x)))


class LeNetLogSoftmax(nn.Module):
    """Returns log-probabilities: shifted logits, which cross-entropy accepts as they are."""

    def __init__(self):
        super().__init__()
        self.net = course_lenet5()

    def forward(self, x):
        return F.log_softmax(self.net(x), dim=1)


class CifarSequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                                        nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def train_criterion(model, loader, optimizer, device):
    """nn.CrossEntropyLoss, zeroing after the step, the dataset's length as the count."""
    criterion = nn.CrossEntropyLoss()
    model.train()
    total = 0.0
    for inputs, targets in loader:
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device=device)
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        total += loss.item() * inputs.size(0)
    return total / len(loader.dataset)


def train_batches(model, loader, optimizer, device):
    """The batch losses averaged with the batch sizes as weights, model.zero_grad(), nll of log-softmax."""
    model.train()
    model.to(device)
    losses, sizes = [], []
    for batch in loader:
        x, y = (t.to(device) for t in batch)
        model.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        sizes.append(y.shape[0])
    return float(np.average(losses, weights=sizes))


def evaluate_inference(model, loader, device):
    model.eval()
    correct = 0
    with torch.inference_mode():
        for x, y in loader:
            pred = model(x.to(device)).argmax(1)
            correct += int(pred.eq(y.to(device)).sum())
    return correct / len(loader.dataset)


def evaluate_numpy(model, loader, device):
    model.train(False)
    hits = []
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            hits.append((model(x).argmax(dim=-1) == y).cpu().numpy())
    return float(np.concatenate(hits).mean())


def evaluate_on_cpu(model, loader, device):
    """The predictions brought back to the CPU and compared there with the labels, which never move."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            predicted = model(x.to(device)).argmax(dim=1).cpu()
            correct += (predicted == y).sum().item()
    return correct / len(loader.dataset)


def evaluate_to_labels(model, loader, device):
    """The predictions moved to where the labels are (.to(y.device), .to("cpu")), compared there."""
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for i, (x, y) in enumerate(loader):
            logits = model(x.to(device))
            predicted = logits.to(y.device) if i % 2 else logits.to("cpu")
            correct += int(torch.eq(predicted.argmax(1), y).sum())
            count += y.numel()
    return correct / count


# the checks' own references (cnnkit.torch's, with the options the checks bind), and the course's
# networks built from cnnkit's hand-written layers
REFERENCES = {name: checks.graded(name, ASSIGNMENT).reference for name in NAMES}


def MLPOwnLayers(in_features, hidden, classes):
    return ct.MLP(in_features, hidden, classes, backend="cnnkit")


def LeNetOwnLayers():
    return ct.LeNet5(padding=2, backend="cnnkit")


def CifarNetOwnLayers():
    return ct.CifarNet(backend="cnnkit")


CORRECT = {
    "MLP": [MLPAttributes, MLPMatrices, MLPOwnLayers, REFERENCES["MLP"]],
    "train_one_epoch": [train_criterion, train_batches, REFERENCES["train_one_epoch"]],
    "evaluate": [evaluate_inference, evaluate_numpy, evaluate_on_cpu, evaluate_to_labels, REFERENCES["evaluate"]],
    "LeNet5": [LeNetReLU, LeNetLogSoftmax, LeNetOwnLayers, REFERENCES["LeNet5"]],
    "CifarNet": [CifarSequential, CifarNetOwnLayers, REFERENCES["CifarNet"]],
}


# ----------------------------------------------------------------------------- wrong implementations: models

class MLPNoFlatten(nn.Module):
    def __init__(self, in_features, hidden, classes):
        super().__init__()
        self.a, self.b = nn.Linear(in_features, hidden), nn.Linear(hidden, classes)

    def forward(self, x):
        return self.b(F.relu(self.a(x)))


def mlp_with(activation=F.relu, last=lambda z: z, bias=True, hidden_layer=True, squeeze=False):
    class WrongMLP(nn.Module):
        def __init__(self, in_features, hidden, classes):
            super().__init__()
            if hidden_layer:
                self.a, self.b = nn.Linear(in_features, hidden, bias=bias), nn.Linear(hidden, classes, bias=bias)
            else:
                self.b = nn.Linear(in_features, classes)

        def forward(self, x):
            x = x.flatten(1)
            if hidden_layer:
                x = activation(self.a(x))
            out = last(self.b(x))
            return out.squeeze() if squeeze else out
    return WrongMLP


class MLPList(nn.Module):
    def __init__(self, in_features, hidden, classes):
        super().__init__()
        self.layers = [nn.Linear(in_features, hidden), nn.Linear(hidden, classes)]

    def forward(self, x):
        return self.layers[1](F.relu(self.layers[0](x.flatten(1))))


def lenet_with(padding=2, bias=True, kernel=5, fc_in=None, last=lambda z: z, detach=False):
    """A LeNet-5 (ReLU, max pooling) with one thing changed."""
    class WrongLeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 6, kernel, padding=padding, bias=bias)
            self.c3 = nn.Conv2d(6, 16, 5, bias=bias)
            self.c5 = nn.Linear(fc_in or 400, 120, bias=bias)
            self.f6 = nn.Linear(120, 84, bias=bias)
            self.out = nn.Linear(84, 10, bias=bias)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.c1(x)), 2)
            x = F.max_pool2d(F.relu(self.c3(x)), 2).flatten(1)
            if detach:
                x = x.detach()
            x = F.relu(self.f6(F.relu(self.c5(x))))
            return last(self.out(x))
    return WrongLeNet


class LeNetSqueeze(nn.Module):
    """C5 as a convolution, its (N, 120, 1, 1) output squeezed: (120,) for a batch of one."""

    def __init__(self):
        super().__init__()
        self.features = course_lenet5().features
        self.classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x).squeeze())


class LeNetConvC5NoPadding(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                                 nn.AvgPool2d(2), nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),
                                 nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))

    def forward(self, x):
        return self.net(x)


class LeNetList(nn.Module):
    def __init__(self):
        super().__init__()
        net = course_lenet5()
        self.layers = list(net.features) + [nn.Flatten()] + list(net.classifier)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class LeNetPlain:
    """Not an nn.Module."""

    def __init__(self):
        self.net = course_lenet5()

    def __call__(self, x):
        return self.net(x)


class CifarTransposed(CifarSequential):
    def forward(self, x):
        return super().forward(x).t()


class CifarPadded(nn.Module):
    """padding=2 in the first convolution: 6 x 6 maps at the end, 576 inputs for the first FC layer."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(576, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.fc(self.features(x))


class CifarWrongFlatten(CifarSequential):
    def __init__(self):
        super().__init__()
        self.classifier[1] = nn.Linear(256, 120)


class CifarSwapped(CifarSequential):
    """The hidden fully connected layers' sizes swapped: 400 -> 84 -> 120 -> 10."""

    def __init__(self):
        super().__init__()
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 84), nn.ReLU(), nn.Linear(84, 120),
                                        nn.ReLU(), nn.Linear(120, 10))


class CifarShort(CifarSequential):
    """One hidden fully connected layer: 400 -> 120 -> 10."""

    def __init__(self):
        super().__init__()
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 10))


class CifarReLUOut(CifarSequential):
    def forward(self, x):
        return F.relu(super().forward(x))


WRONG_MODELS = [
    ("MLP", mlp_with(last=lambda z: F.softmax(z, dim=1)), "softmax_output", "logits"),
    ("MLP", mlp_with(activation=lambda z: z), "no_activation", "collapse"),
    ("MLP", mlp_with(activation=torch.tanh), "wrong_activation", "tanh"),
    ("MLP", mlp_with(activation=torch.sigmoid), "wrong_activation", "sigmoid"),
    ("MLP", mlp_with(last=F.relu), "relu_output", "never negative"),
    ("MLP", mlp_with(bias=False), "no_bias", "bias"),
    ("MLP", mlp_with(hidden_layer=False), "no_hidden", "no hidden layer"),
    ("MLP", mlp_with(squeeze=True), "squeezed", "batch axis"),
    ("MLP", MLPList, "unregistered", "plain list"),
    ("LeNet5", lenet_with(bias=False), "no_bias", "bias=True"),
    ("LeNet5", lenet_with(kernel=3, padding=1), "kernel_size", "3x3 kernels"),
    ("LeNet5", lenet_with(padding=0, fc_in=256), "flatten_size", "256"),
    ("LeNet5", lenet_with(last=lambda z: F.softmax(z, dim=1)), "softmax_output", "log-softmax"),
    ("LeNet5", LeNetSqueeze, "squeezed", "squeeze()"),
    ("LeNet5", lenet_with(detach=True), "no_gradient", "never learn"),
    ("LeNet5", LeNetList, "unregistered", "plain"),
    ("LeNet5", LeNetPlain, "not_module", "nn.Module"),
    ("CifarNet", CifarTransposed, "wrong_output_shape", "(4, 10)"),
    ("CifarNet", CifarPadded, "flatten_size", "400 values"),
    ("CifarNet", CifarReLUOut, "relu_output", "no ReLU after it"),
    ("CifarNet", CifarSwapped, "fc_sizes", "are 400 -> 84 -> 120 -> 10; the network described has "
                                           "400 -> 120 -> 84 -> 10 (the same sizes in another order"),
    ("CifarNet", CifarShort, "fc_sizes", "are 400 -> 120 -> 10; the network described has 400 -> 120 -> 84 -> 10"),
]


# ----------------------------------------------------------------------------- wrong implementations: training

def train_with(zero_grad=True, train_mode=True, reduction="mean", step=True, move=True, result="mean",
               zero_late=False, extra_forward=False, as_tensor=False):
    """A train_one_epoch with one thing changed."""
    def train_one_epoch(model, loader, optimizer, device):
        if train_mode:
            model.train()
        losses, sizes = [], []
        for x, y in loader:
            if move:
                x, y = x.to(device), y.to(device)
            if zero_grad and not zero_late:
                optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y, reduction=reduction)
            loss.backward()
            if zero_late:
                optimizer.zero_grad()
            if step:
                optimizer.step()
            if extra_forward:
                model(x)
            losses.append(loss if as_tensor else loss.item())
            sizes.append(len(y))
        if result == "mean":
            out = sum(v * n for v, n in zip(losses, sizes)) / sum(sizes)
            return out.detach() if as_tensor else out
        if result == "batch_mean":
            return sum(losses) / len(losses)
        if result == "last":
            return losses[-1]
        if result == "sum":
            return sum(losses)
        if result == "total":
            return sum(v * n for v, n in zip(losses, sizes))
        return None
    return train_one_epoch


WRONG_TRAINING = [
    (train_with(zero_grad=False), "no_zero_grad", "never zeroed"),
    (train_with(zero_late=True), "zero_grad_order", "between loss.backward()"),
    (train_with(train_mode=False), "train_mode", "model.train()"),
    (train_with(reduction="sum"), "sum_loss", "summed over the batch"),
    (train_with(step=False), "no_step", "optimizer.step()"),
    (train_with(move=False), "not_on_device", "to(device)"),
    (train_with(result="last"), "last_batch_loss", "last batch"),
    (train_with(result="batch_mean"), "unweighted_mean", "each batch counted once"),
    (train_with(result="sum"), "not_averaged", "sum of the batch losses"),
    (train_with(result="total"), "not_averaged", "total loss"),
    (train_with(result=None), "no_loss", "return"),
    (train_with(extra_forward=True), "extra_forward", "one forward pass per batch"),
    (train_with(as_tensor=True), "not_float", "Python float"),
]


def evaluate_with(eval_mode=True, no_grad=True, move=True, result="fraction", as_tensor=False):
    def evaluate(model, loader, device):
        if eval_mode:
            model.eval()
        correct, total, per_batch = 0, 0, []
        with torch.no_grad() if no_grad else torch.enable_grad():
            for x, y in loader:
                if move:
                    x, y = x.to(device), y.to(device)
                hits = (model(x).argmax(dim=1) == y).sum()
                correct += hits if as_tensor else hits.item()
                total += len(y)
                per_batch.append(hits.item() / len(y))
        return {"fraction": lambda: correct / total, "percent": lambda: 100 * correct / total,
                "count": lambda: correct, "batch_mean": lambda: float(np.mean(per_batch)),
                "denominator": lambda: correct / (len(loader) * loader.batch_size),
                "error": lambda: 1 - correct / total, "none": lambda: None}[result]()
    return evaluate


WRONG_EVALUATION = [
    (evaluate_with(result="percent"), "percent", "percentage"),
    (evaluate_with(result="batch_mean"), "batch_mean", "mean of the batches' accuracies"),
    (evaluate_with(result="count"), "count", "number of correct predictions"),
    (evaluate_with(result="denominator"), "denominator", "the last batch is smaller"),
    (evaluate_with(result="error"), "error_rate", "error rate"),
    (evaluate_with(result="none"), "no_accuracy", "return"),
    (evaluate_with(eval_mode=False), "train_mode", "model.eval()"),
    (evaluate_with(no_grad=False), "no_grad", "torch.no_grad()"),
    (evaluate_with(move=False), "not_on_device", "to(device)"),
    (evaluate_with(as_tensor=True), "not_float", "Python float"),
]


WRONG = (WRONG_MODELS + [("train_one_epoch",) + w for w in WRONG_TRAINING]
         + [("evaluate",) + w for w in WRONG_EVALUATION])


# ----------------------------------------------------------------------------- hostile records

HOSTILE_RECORDS = {
    "none": lambda: None,
    "liar": Liar,
    "lying array": lambda: np.zeros(3).view(LyingArray),
    "object array": lambda: object_array((2,), Liar),
    "empty dict": dict,
    "liar values": lambda: {k: Liar() for k in ("module", "params", "shapes", "output", "output_one", "loss",
                                                 "accuracy", "losses", "params", "buffers", "predicted")},
    "string": lambda: "all checks passed",
}


def _ignoring_expected(make):
    return lambda expected: make()      # a probe's case has no expected array


HOSTILE = {name: {kind: _ignoring_expected(make) for kind, make in HOSTILE_RECORDS.items()} for name in NAMES}


# ----------------------------------------------------------------------------- a test split of its own

def synthetic_test_split():
    """A synthetic test split of 1,000 images per data set: {dataset: (images, labels)}."""
    rng = np.random.default_rng(5)
    return {"mnist": (rng.integers(0, 256, (1000, 28, 28), dtype=np.uint8), rng.integers(0, 10, 1000)),
            "cifar10": (rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 1000))}


def SETUP(monkeypatch):
    """The synthetic test split in place of the real one wherever the checks read it (the training
    cases' images, the judge's labels), so that no test needs the data sets; returns it."""
    fake = synthetic_test_split()
    monkeypatch.setattr(grading, "read_test_split", lambda dataset: tuple(a.copy() for a in fake[dataset]))
    return fake
