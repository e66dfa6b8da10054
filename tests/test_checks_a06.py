"""Tests of the checks of assignment 06 (training CNNs with PyTorch): correct implementations written
differently from the solutions pass, each named mistake is diagnosed by a deliberately wrong
implementation, hostile results fail cleanly, and the training cases train the student's network
with the student's train_one_epoch."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit import checks
from cnnkit import data as cnnkit_data
from cnnkit.checks import a06
from cnnkit.checks.core import run_case
from judging import Liar, LyingArray, object_array

A06 = checks.for_assignment("06")
NAMES = checks.GRADED["06"]
SEEDS = (0, 1, 7)


def _cases(name, hidden=False, seed=0, training=False):
    """The cases of `name`; the ones that train on the real data sets only when `training`."""
    return [c for c in A06.cases(name, seed=seed, hidden=hidden) if training or not c.uses]


def verdicts(name, fn, hidden=False, seed=0):
    """The judge's verdict on `fn` for every case of `name` that does not train on the real data."""
    out = []
    for case in _cases(name, hidden, seed):
        result, _ = run_case(case, fn)
        out.append(checks.judge(case, result))
    return out


def check_all(name, fn):
    """The visible checks and the hidden ones for a few seeds, leaving out the training cases."""
    for case_list in [_cases(name)] + [_cases(name, True, s) for s in SEEDS]:
        for case in case_list:
            result, _ = run_case(case, fn)
            v = checks.judge(case, result)
            assert v.passed, v.message


def failure_message(name, fn):
    """The AssertionError that check() raises for a wrong implementation (visible cases)."""
    with pytest.raises(AssertionError) as e:
        A06.check(name, fn)
    return str(e.value)


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
        self.net = a06.reference_lenet5()

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


CORRECT = {
    "MLP": [MLPAttributes, MLPMatrices, a06.reference_mlp],
    "train_one_epoch": [train_criterion, train_batches, a06.reference_train_one_epoch],
    "evaluate": [evaluate_inference, evaluate_numpy, evaluate_on_cpu, evaluate_to_labels, a06.reference_evaluate],
    "LeNet5": [LeNetReLU, LeNetLogSoftmax, a06.reference_lenet5],
    "CifarNet": [CifarSequential, a06.reference_cifarnet],
}


def test_assignment_06_grades_the_functions_of_the_course():
    assert NAMES == ("MLP", "train_one_epoch", "evaluate", "LeNet5", "CifarNet")
    assert all(c.assignment == "06" for c in A06.cases("MLP"))


@pytest.mark.parametrize("name,impl", [(n, f) for n, fs in CORRECT.items() for f in fs],
                         ids=[f"{n}-{f.__name__}" for n, fs in CORRECT.items() for f in fs])
def test_correct_implementations_pass_every_case(name, impl, capsys):
    A06.check(name, impl)
    assert f"checks passed for {name}" in capsys.readouterr().out
    check_all(name, impl)


def test_the_reference_networks_have_the_published_sizes():
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(a06.reference_lenet5()) == a06.LENET5_PARAMETERS == 61_706
    assert count(a06.reference_cifarnet()) == a06.CIFARNET_PARAMETERS == 62_006
    assert count(a06.reference_mlp(3072, 20, 10)) == 3072 * 20 + 20 + 20 * 10 + 10


def test_importing_the_checks_does_not_import_torch():
    code = "import sys; from cnnkit import checks; checks.cases('MLP', assignment='06'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ----------------------------------------------------------------------------- the probes, apart

PROBES06 = "cnnkit.checks.probes06"
# what probes06 may import: while graded every other module of cnnkit.checks is a stub
PROBE_IMPORTS = {"math", "time", "pathlib", "numpy", "torch", "torch.nn", "torch.nn.functional",
                 "torch.utils.data", "torch.utils.data._utils.collate", "cnnkit", "cnnkit.data",
                 "cnnkit.checks.inputs"}


def test_every_case_names_a_probe_of_the_probes_module():
    from autograde.sandbox import probe_name
    from cnnkit.checks import probes06
    for name in NAMES:
        for case in A06.cases(name) + A06.cases(name, hidden=True):
            assert case.probe.__module__ == PROBES06 and getattr(probes06, case.probe.__name__) is case.probe
            assert probe_name(case.probe).startswith(PROBES06 + ":_probe_"), probe_name(case.probe)


def test_the_probes_module_holds_no_answer():
    """No reference, judge or mistake in probes06, and nothing imported from the rest of the checks."""
    import ast
    import inspect
    from cnnkit.checks import probes06
    names = set(vars(probes06))
    assert not any(n.lower().startswith(("reference", "_reference")) for n in names)
    assert not names & {"REFERENCE", "_variant_train", "_training_mistake", "_loss_mistake", "_accuracy_mistake",
                        "_per_batch", "Graded", "register", "Mistake", "THRESHOLDS", "_LAYERS", "_EXPECTED"}
    assert not any(n.startswith("_judge") for n in names)
    reference = {getattr(a06, n) for n in dir(a06) if n.startswith("reference_")}
    assert not reference & {v for v in vars(probes06).values() if callable(v)}
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(probes06))):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import would meet a stub while graded"
            imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names
                                         if f"{node.module}.{a.name}" in PROBE_IMPORTS}
    assert imported <= PROBE_IMPORTS | {f"{m}.{n}" for m in PROBE_IMPORTS for n in ("DataLoader", "TensorDataset",
                                                                                   "default_collate", "nn", "Path")}
    assert not any(m.startswith(("cnnkit.checks.a06", "cnnkit.checks.core", "cnnkit.reference")) for m in imported)


def test_the_sandbox_of_06_shows_the_probes_and_hides_the_rest_of_the_checks():
    from autograde import grader, hidden
    rules = grader.HIDE["06"]
    assert "cnnkit.checks" in rules["stub"] and rules["keep"]["cnnkit.checks"] == ["inputs", "probes06"]
    folder = hidden.locate("cnnkit.checks")[0]
    covered = {dst for _, dst in hidden.plan(rules)}
    assert folder / "__init__.py" in covered and folder / "probes06.py" not in covered
    assert {folder / f for f in ("a06.py", "core.py", "a01/__init__.py", "a01/conv2d.py")} <= covered


_STUBBED = r"""
import importlib.util, pickle, sys
import cnnkit
stub, given, results = sys.argv[1:4]
# cnnkit.checks as the grading sandbox shows it: the stub package, with only inputs and probes06 real
spec = importlib.util.spec_from_file_location("cnnkit.checks", stub, submodule_search_locations=[])
module = importlib.util.module_from_spec(spec)
sys.modules["cnnkit.checks"] = cnnkit.checks = module
spec.loader.exec_module(module)
probes06 = importlib.import_module("cnnkit.checks.probes06")
assert probes06.__file__.endswith("probes06.py") and "stub-cnnkit.checks" in module.__file__
import torch
import torch.nn.functional as F
from torch import nn
from cnnkit import data

with open(given, "rb") as f:
    cases, train = pickle.load(f)
data.load = lambda ds, split="train", *a, **k: tuple(v.copy() for v in train[ds])   # the training split only


class MLP(nn.Module):
    def __init__(self, d, h, c):
        super().__init__()
        self.a, self.b = nn.Linear(d, h), nn.Linear(h, c)

    def forward(self, x):
        return self.b(F.relu(self.a(x.flatten(1))))


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                                 nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.net(x)


def train_one_epoch(model, loader, optimizer, device):
    model.train()
    total = n = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total, n = total + loss.item() * len(y), n + len(y)
    return total / n


def evaluate(model, loader, device):
    model.eval()
    hits = n = 0
    with torch.no_grad():
        for x, y in loader:
            hits += (model(x.to(device)).argmax(1).cpu() == y).sum().item()
            n += len(y)
    return hits / n


yours = {"MLP": MLP, "LeNet5": LeNet5, "train_one_epoch": train_one_epoch, "evaluate": evaluate}
out = []
for name, probe, args, kwargs in cases:      # as the runner does: the probe by name, then called
    where, _, qualname = probe.partition(":")
    fn = getattr(__import__(where, fromlist=["_"]), qualname)
    out.append(fn(yours[name], {"train_one_epoch": train_one_epoch}, *args, **kwargs))
loaded = sorted(m for m in sys.modules if m.startswith("cnnkit.checks."))
real = sorted(m for m in sys.modules if m.startswith("cnnkit") and getattr(sys.modules[m], "__file__", None))
stubbed = not hasattr(importlib.import_module("cnnkit.checks.a06"), "__file__")     # the rest is the stub's
with open(results, "wb") as f:
    pickle.dump((out, loaded, real, stubbed), f)
"""


def test_the_probes_run_where_the_rest_of_the_checks_is_a_stub(monkeypatch, tmp_path):
    """As in the grading sandbox: cnnkit.checks is the stub but for probes06 (and inputs); every probe
    runs the student's objects there, importing nothing else of the checks, and the judge, here,
    passes what came back."""
    from autograde import hidden
    from autograde.sandbox import probe_name
    train, test = _synthetic_training(300, "mnist", 1), _synthetic_training(200, "mnist", 2)
    monkeypatch.setattr(a06, "_test_split", lambda dataset: tuple(a.copy() for a in test))
    monkeypatch.setitem(a06.RECIPES, "mnist", dict(a06.RECIPES["mnist"], epochs=1, batch_size=50, lr=0.05))
    cases = [c for name in NAMES if name != "CifarNet" for c in A06.cases(name)] + [_training_case("LeNet5")]
    folder = hidden.locate("cnnkit.checks")[0]
    stub = hidden.stub_package("cnnkit.checks", ["inputs", "probes06"], folder) / "__init__.py"
    given, results = tmp_path / "cases.pkl", tmp_path / "results.pkl"
    given.write_bytes(pickle.dumps(([(c.name, probe_name(c.probe), c.args, c.kwargs) for c in cases],
                                    {"mnist": train})))
    subprocess.run([sys.executable, "-c", _STUBBED, str(stub), str(given), str(results)], check=True, timeout=300)
    out, loaded, real, stubbed = pickle.loads(results.read_bytes())
    assert stubbed and loaded == [PROBES06], "importing and running the probes imports no other module of the checks"
    assert not [m for m in real if m.startswith(("cnnkit.checks.a", "cnnkit.checks.core", "cnnkit.reference"))]
    for case, result in zip(cases[:-1], out):
        v = checks.judge(case, result)
        assert v.passed, v.message
    trained = out[-1]
    assert trained["predicted"].shape == (200,) and trained["steps"] == 6
    accuracy = float(np.mean(trained["predicted"] == test[1][a06._test_order(200, cases[-1].args[1])]))
    assert checks.judge(cases[-1], trained).passed == (accuracy >= a06.THRESHOLDS["mnist"])


# ----------------------------------------------------------------------------- cases

@pytest.fixture
def test_split(monkeypatch):
    """A synthetic test split of 1,000 images per data set in place of the real one, wherever the
    checks read it (the training cases' images, the judge's labels): {dataset: (images, labels)}."""
    rng = np.random.default_rng(5)
    fake = {"mnist": (rng.integers(0, 256, (1000, 28, 28), dtype=np.uint8), rng.integers(0, 10, 1000)),
            "cifar10": (rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 1000))}
    monkeypatch.setattr(a06, "_test_split", lambda dataset: tuple(a.copy() for a in fake[dataset]))
    return fake


@pytest.mark.parametrize("name", NAMES)
def test_cases_deterministic_per_seed_picklable_and_differ_across_seeds(name, test_split):
    a, b, c = (A06.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    assert [u.args for u in a] == [v.args for v in b]
    assert [u.args for u in a] != [v.args for v in c]
    for case in a + A06.cases(name):
        again = pickle.loads(pickle.dumps(case))
        assert again.probe is case.probe
        if case.uses:      # the test images travel as the plain array they are
            assert again.args[:2] == case.args[:2] and type(again.args[2]) is np.ndarray
            np.testing.assert_array_equal(again.args[2], np.asarray(case.args[2]))
        else:
            assert again.args == case.args


@pytest.mark.parametrize("name,dataset", [("LeNet5", "mnist"), ("CifarNet", "cifar10")])
def test_a_training_case_carries_the_test_images_permuted_and_never_the_labels(name, dataset, test_split):
    images, labels = test_split[dataset]
    cases = [_training_case(name, seed) for seed in (0, 1)]
    sent = [pickle.loads(pickle.dumps(c.args)) for c in cases]
    for (ds, seed, carried, recipe), case in zip(sent, cases):
        assert ds == dataset and seed == case.args[1] and carried.dtype == np.uint8
        assert recipe == a06.RECIPES[dataset]       # the grader's recipe travels with the case
        order = a06._test_order(len(images), seed)
        np.testing.assert_array_equal(carried, images[order])
        assert sorted(order.tolist()) == list(range(len(images))) and not np.array_equal(order, np.arange(len(images)))
        np.testing.assert_array_equal(a06._test_labels(dataset, seed), labels[order])
        assert all(not (isinstance(a, np.ndarray) and a.dtype != np.uint8) for a in (ds, seed, carried))
    assert not np.array_equal(sent[0][2], sent[1][2]), "the order depends on the case's seed"
    assert cases[0].args[1] != cases[1].args[1]


def test_only_the_hidden_network_cases_train_and_they_have_time_of_their_own():
    for name in NAMES:
        assert not any(c.uses for c in A06.cases(name)), "visible checks run without the other functions"
    for name, dataset in (("LeNet5", "mnist"), ("CifarNet", "cifar10")):
        training = [c for c in A06.cases(name, hidden=True) if c.uses]
        assert len(training) == 1
        case = training[0]
        assert case.uses == ("train_one_epoch",) and case.seconds >= 120 and case.args[0] == dataset
        assert "train_one_epoch" in case.label and "test" in case.label
    assert a06.THRESHOLDS == {"mnist": 0.985, "cifar10": 0.60}


def test_check_asks_for_train_one_epoch_when_a_case_needs_it():
    with pytest.raises(TypeError, match="train_one_epoch=train_one_epoch"):
        A06.check("LeNet5", a06.reference_lenet5, hidden=True)


def test_evaluate_cases_end_with_a_smaller_batch_and_train_cases_with_both():
    for hidden in (False, True):
        for seed in SEEDS:
            for case in A06.cases("evaluate", hidden=hidden, seed=seed):
                _, n, batch_size = case.args[:3]
                assert n % batch_size and n % batch_size < batch_size
            last = []
            for case in A06.cases("train_one_epoch", hidden=hidden, seed=seed):
                _, _, n, batch_size = case.args[:4]
                assert n // batch_size >= 3
                last.append(n % batch_size)
                if n % batch_size:
                    # a short last batch, of two or more (batch norm needs two examples when training)
                    assert 2 <= n % batch_size < batch_size and f"the last holds {n % batch_size}" in case.label
            assert 0 in last and any(last), "equal batches, and a short last one"


def test_probes_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    for name, fn in (("MLP", MLPAttributes), ("train_one_epoch", train_criterion), ("evaluate", evaluate_numpy),
                     ("LeNet5", LeNetReLU)):
        for case in A06.cases(name):
            run_case(case, fn)
    assert torch.equal(torch.get_rng_state(), state)


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
        self.features = nn.Sequential(*list(a06.reference_lenet5())[:8])
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
        self.layers = list(a06.reference_lenet5())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class LeNetPlain:
    """Not an nn.Module."""

    def __init__(self):
        self.net = a06.reference_lenet5()

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


def test_swapped_fully_connected_sizes_are_not_taken_for_a_wrong_flatten():
    message = failure_message("CifarNet", CifarSwapped)
    assert "flatten_size" not in message and "takes 84 inputs" not in message and "47,966 trainable" in message
    assert "[flatten_size]" in failure_message("CifarNet", CifarPadded)
    assert "the first takes 576 inputs" in failure_message("CifarNet", CifarPadded)


@pytest.mark.parametrize("name,fn,code,text", WRONG_MODELS,
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG_MODELS)])
def test_each_model_mistake_is_named(name, fn, code, text):
    failing = [v for v in verdicts(name, fn) if not v.passed]
    assert failing, f"{name}: the wrong implementation passed"
    hits = [v for v in failing if v.diagnosis == code]
    assert hits, f"no [{code}]; got {[v.diagnosis for v in failing]}\n{failing[0].message}"
    assert any(text in v.message for v in hits), hits[0].message
    assert all(f"[{code}]" in v.message for v in hits)
    message = failure_message(name, fn)
    assert text in message and f"[{code}]" in message


@pytest.mark.parametrize("name,fn,code,text", [
    ("MLP", MLPNoFlatten, "no_flatten", "x.flatten(1)"),
    ("LeNet5", LeNetConvC5NoPadding, "no_padding", "padding=2"),
    ("LeNet5", lenet_with(padding=0), "no_padding", "padding=2"),
    ("CifarNet", CifarWrongFlatten, None, "16 * 5 * 5 = 400"),
], ids=["mlp-no-flatten", "lenet-no-padding-conv", "lenet-no-padding-fc", "cifar-flatten"])
def test_a_forward_pass_that_fails_says_why(name, fn, code, text):
    message = failure_message(name, fn)
    assert "ForwardError" in message and text in message
    if code:
        assert f"failed: [{code}]" in message
    assert "raised" in message and "line" in message     # the student's line is named


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


@pytest.mark.parametrize("fn,code,text", WRONG_TRAINING, ids=[w[1] + f"-{i}" for i, w in enumerate(WRONG_TRAINING)])
def test_each_training_mistake_is_named(fn, code, text):
    for hidden in (False, True):
        failing = [v for v in verdicts("train_one_epoch", fn, hidden=hidden) if not v.passed]
        assert failing, "the wrong implementation passed"
        assert all(v.diagnosis == code for v in failing), [v.diagnosis for v in failing]
        assert all(text in v.message and f"[{code}]" in v.message for v in failing), failing[0].message
    assert text in failure_message("train_one_epoch", fn)


def test_the_labels_left_behind_are_noticed_too():
    def labels_stay(model, loader, optimizer, device):
        model.train()
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x.to(device)), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        return total / len(loader.dataset)

    assert "[not_on_device]" in failure_message("train_one_epoch", labels_stay)
    v = [v for v in verdicts("train_one_epoch", labels_stay) if not v.passed]
    assert v and all(x.diagnosis == "not_on_device" and "the labels" in x.message and "the images" not in x.message
                     for x in v)


def test_labels_compared_with_predictions_on_the_device_are_noticed():
    """Labels left on the CPU are wrong where they meet predictions on the device (on a GPU the
    comparison fails), not where predictions brought back to the CPU meet them (evaluate_on_cpu)."""
    def labels_stay(model, loader, device):
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x.to(device)).argmax(dim=1) == y).sum().item()
        return correct / len(loader.dataset)

    assert "[not_on_device]" in failure_message("evaluate", labels_stay)
    for hidden in (False, True):
        v = [v for v in verdicts("evaluate", labels_stay, hidden=hidden) if not v.passed]
        assert len(v) == len(_cases("evaluate", hidden))
        assert all(x.diagnosis == "not_on_device" and "the labels" in x.message and "the images" not in x.message
                   and ".cpu()" in x.message for x in v), v[0].message


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


@pytest.mark.parametrize("fn,code,text", WRONG_EVALUATION,
                         ids=[w[1] + f"-{i}" for i, w in enumerate(WRONG_EVALUATION)])
def test_each_evaluation_mistake_is_named(fn, code, text):
    for hidden in (False, True):
        failing = [v for v in verdicts("evaluate", fn, hidden=hidden) if not v.passed]
        assert len(failing) == len(_cases("evaluate", hidden)), "a case missed the mistake"
        assert all(v.diagnosis == code for v in failing), [v.diagnosis for v in failing]
        assert all(text in v.message and f"[{code}]" in v.message for v in failing), failing[0].message
    assert text in failure_message("evaluate", fn)


# ----------------------------------------------------------------------------- the trained networks

def _trained(case, accuracy, losses=(0.5, 0.1), params=a06.LENET5_PARAMETERS):
    """What the probe of a training case returns for a network with `accuracy` on the case's test images."""
    labels = a06._test_labels(case.args[0], case.args[1])
    predicted = labels.copy()
    wrong = int(round((1 - accuracy) * len(labels)))
    predicted[:wrong] = (predicted[:wrong] + 1) % 10
    return {"predicted": predicted, "losses": np.array(losses, dtype=float), "params": params, "steps": 10,
            "seconds": 1.0}


def _training_case(name, seed=0):
    return next(c for c in A06.cases(name, hidden=True, seed=seed) if c.uses)


@pytest.mark.parametrize("name,need", [("LeNet5", 0.985), ("CifarNet", 0.60)])
def test_the_trained_accuracy_decides(name, need, test_split):
    case = _training_case(name)
    assert checks.judge(case, _trained(case, need)).passed
    assert checks.judge(case, _trained(case, need + 0.01)).passed
    low = checks.judge(case, _trained(case, need - 0.01))
    assert not low.passed and low.diagnosis == "low_accuracy" and f"{100 * need:.2f}%" in low.message
    assert f"reached {100 * (need - 0.01):.2f}%" in low.message
    dead = checks.judge(case, _trained(case, 0.1, losses=(2.30, 2.30)))
    assert dead.diagnosis == "not_learning" and "2.300" in dead.message
    nan = checks.judge(case, _trained(case, 0.1, losses=(np.nan, np.nan)))
    assert nan.diagnosis == "loss_nan"
    big = checks.judge(case, _trained(case, need - 0.05, params=1_000_000))
    assert "1,000,000 parameters" in big.message


def test_the_judge_measures_the_predictions_against_labels_of_its_own(test_split):
    """The accuracy is the judge's, from the predicted classes: a probe's "accuracy" counts for nothing,
    predictions in the order of another seed score like chance, a wrong shape is named."""
    case = _training_case("LeNet5")
    right = _trained(case, 1.0)
    assert checks.judge(case, right).passed
    boast = dict(_trained(case, 0.3), accuracy=1.0)
    assert not checks.judge(case, boast).passed
    other = _training_case("LeNet5", seed=1)
    shuffled = checks.judge(case, _trained(other, 1.0))
    assert not shuffled.passed and shuffled.diagnosis == "not_learning"
    short = dict(right, predicted=right["predicted"][:-1])
    v = checks.judge(case, short)
    assert not v.passed and v.diagnosis == "wrong_predictions" and "(999,)" in v.message


def _synthetic_training(n, dataset, seed=0):
    """A learnable stand-in for a training split: each class brightens a band of rows of its own."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    shape = (28, 28) if dataset == "mnist" else (32, 32, 3)
    images = rng.integers(0, 60, (n,) + shape).astype(np.uint8)
    for k in range(10):
        images[labels == k, 2 * k + 2:2 * k + 5] = 250
    return images, labels


@pytest.mark.parametrize("name,dataset", [("LeNet5", "mnist"), ("CifarNet", "cifar10")])
def test_the_probe_trains_and_predicts_without_the_test_split(name, dataset, monkeypatch, tmp_path):
    """As when graded: the case (and its images) made where the test split is, the probe run where the
    data root holds the training split only (reading the test split raises), the judge where it is."""
    train, test = _synthetic_training(300, dataset, 1), _synthetic_training(200, dataset, 2)
    sandbox = [False]

    def load(ds, split="train", *args, **kwargs):
        assert ds == dataset
        if split == "test" and sandbox[0]:
            raise cnnkit_data.DataUnavailable("no data: the sandbox has no test split")
        return tuple(a.copy() for a in (train if split == "train" else test))

    monkeypatch.setattr(cnnkit_data, "load", load)
    monkeypatch.setitem(a06.RECIPES, dataset, dict(a06.RECIPES[dataset], epochs=1, batch_size=50, lr=0.05))
    case = _training_case(name)
    args = pickle.loads(pickle.dumps(case.args))          # what the grader sends
    net = LeNetReLU if name == "LeNet5" else CifarSequential
    sandbox[0] = True
    out = case.probe(net, {"train_one_epoch": train_criterion}, *args)
    again = case.probe(net, {"train_one_epoch": train_criterion}, *args)
    sandbox[0] = False
    assert set(out) == {"predicted", "losses", "params", "steps", "seconds"} and "accuracy" not in out
    assert out["predicted"].dtype == np.int64 and out["predicted"].shape == (200,)
    np.testing.assert_array_equal(out["predicted"], again["predicted"])      # seeded: the same every time
    assert out["steps"] == 6 and len(out["losses"]) == 1
    accuracy = float(np.mean(out["predicted"] == test[1][a06._test_order(200, case.args[1])]))
    v = checks.judge(case, out)
    assert v.passed == (accuracy >= a06.THRESHOLDS[dataset])
    assert v.passed or f"reached {100 * accuracy:.2f}%" in v.message
    perfect = dict(out, predicted=a06._test_labels(dataset, case.args[1]))
    assert checks.judge(case, perfect).passed


@pytest.mark.slow
@pytest.mark.realdata
def test_training_case_trains_the_students_network_with_their_function(data_root, monkeypatch, tmp_path):
    """One epoch instead of five, at a gentler learning rate (the recipe is monkeypatched: a one-epoch
    cycle up to 0.15 is too abrupt for some seeds): the student's class and function do the training
    where the data root holds the training files only, the probe predicts the test images the case
    carries, and the judge measures them with the real labels."""
    monkeypatch.setenv("CNNKIT_DATA", str(data_root))
    monkeypatch.setitem(a06.RECIPES, "mnist", dict(a06.RECIPES["mnist"], epochs=1, lr=0.05))
    case = _training_case("LeNet5")
    args = pickle.loads(pickle.dumps(case.args))         # the grader reads the test images and sends them
    assert args[2].shape == (10000, 28, 28) and args[2].dtype == np.uint8
    # the grading sandbox's data root: the training files only
    sandbox = tmp_path / "data"
    (sandbox / "mnist").mkdir(parents=True)
    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (sandbox / "mnist" / f).symlink_to(data_root / "mnist" / f)
    monkeypatch.setenv("CNNKIT_DATA", str(sandbox))
    monkeypatch.setenv("CNNKIT_OFFLINE", "1")
    cnnkit_data.clear_cache()
    calls = []

    def counting(model, loader, optimizer, device):
        calls.append(len(loader.dataset))
        return train_criterion(model, loader, optimizer, device)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)      # as when graded; several threads on a busy machine are much slower
    try:
        out = case.probe(LeNetReLU, {"train_one_epoch": counting}, *args)
        idle = case.probe(LeNetReLU, {"train_one_epoch": train_with(step=False)}, *args)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setenv("CNNKIT_DATA", str(data_root))
    cnnkit_data.clear_cache()
    assert calls == [60000] and out["steps"] == 469 and out["params"] == a06.LENET5_PARAMETERS
    assert len(out["losses"]) == 1 and out["losses"][0] < 1.0
    labels = cnnkit_data.load_mnist("test")[1][a06._test_order(10000, case.args[1])]
    assert np.mean(out["predicted"] == labels) > 0.95
    assert checks.judge(case, out).diagnosis in (None, "low_accuracy")

    v = checks.judge(case, idle)
    assert not v.passed and v.diagnosis == "not_learning" and idle["steps"] == 0


# ----------------------------------------------------------------------------- hostile results

HOSTILE = {
    "none": lambda: None,
    "liar": Liar,
    "lying array": lambda: np.zeros(3).view(LyingArray),
    "object array": lambda: object_array((2,), Liar),
    "empty dict": dict,
    "liar values": lambda: {k: Liar() for k in ("module", "params", "shapes", "output", "output_one", "loss",
                                                 "accuracy", "losses", "params", "buffers", "predicted")},
    "string": lambda: "all checks passed",
}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("name", NAMES)
def test_judge_fails_cleanly_on_hostile_results(name, kind):
    for case in A06.cases(name) + [c for c in A06.cases(name, hidden=True) if c.uses]:
        v = checks.judge(case, HOSTILE[kind]())
        assert not v.passed and v.message.startswith(name)
