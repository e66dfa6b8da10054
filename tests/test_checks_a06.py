"""Tests of the checks of assignment 06 that only it has; the one checks suite (tests/test_checks.py
with tests/variants/a06.py) runs the rest on the same implementations. Here: the hidden cases that
do not train, the verdict of every case on a deliberately wrong implementation, the probes apart from
the rest of the checks (and run where the rest of the checks and of cnnkit.torch is a stub, as in the
grading sandbox), and the training cases, which train the student's network with the student's
train_one_epoch under the grader's recipe (cnnkit.torch.recipe)."""

import ast
import inspect
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnkit.torch as ct
from cnnkit import checks
from cnnkit import data as cnnkit_data
from cnnkit.checks.a06 import grading
from cnnkit.checks.a06.cifarnet import CIFARNET
from cnnkit.checks.a06.lenet5 import LENET5
from cnnkit.checks.core import run_case
from cnnkit.torch import recipe
from variants.a06 import (CORRECT, HOSTILE_RECORDS, SETUP, WRONG_EVALUATION, WRONG_MODELS, WRONG_TRAINING,
                          CifarPadded, CifarSequential, CifarSwapped, CifarWrongFlatten, LeNetConvC5NoPadding,
                          LeNetReLU, MLPAttributes, MLPNoFlatten, evaluate_numpy, lenet_with, train_criterion,
                          train_with)

A06 = checks.for_assignment("06")
NAMES = checks.GRADED["06"]
SEEDS = (0, 1, 7)
REFERENCES = {name: checks.graded(name, "06").reference for name in NAMES}


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


def failure_message(name, fn):
    """The AssertionError that check() raises for a wrong implementation (visible cases)."""
    with pytest.raises(AssertionError) as e:
        A06.check(name, fn)
    return str(e.value)


@pytest.fixture
def test_split(monkeypatch):
    """A synthetic test split of 1,000 images per data set in place of the real one, wherever the
    checks read it (the training cases' images, the judge's labels): {dataset: (images, labels)}."""
    return SETUP(monkeypatch)


# ----------------------------------------------------------------------------- correct implementations

def test_assignment_06_grades_the_functions_of_the_course():
    assert NAMES == ("MLP", "train_one_epoch", "evaluate", "LeNet5", "CifarNet")
    assert all(c.assignment == "06" for c in A06.cases("MLP"))


@pytest.mark.parametrize("name,impl", [(n, f) for n, fs in CORRECT.items() for f in fs],
                         ids=[f"{n}-{f.__name__}" for n, fs in CORRECT.items() for f in fs])
def test_correct_implementations_pass_the_hidden_cases_that_do_not_train(name, impl):
    for seed in SEEDS:
        for case in _cases(name, hidden=True, seed=seed):
            result, _ = run_case(case, impl)
            v = checks.judge(case, result)
            assert v.passed, v.message


def test_the_checks_compare_with_the_course_networks_and_loop():
    """The references are cnnkit.torch's: LeNet5 with padding=2 and CifarNet and MLP from torch.nn's
    layers, of the published sizes; train_one_epoch and evaluate as they are."""
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert REFERENCES["LeNet5"].func is ct.LeNet5 and REFERENCES["LeNet5"].keywords == {"padding": 2, "backend": "torch"}
    assert REFERENCES["CifarNet"].func is ct.CifarNet and REFERENCES["CifarNet"].keywords == {"backend": "torch"}
    assert REFERENCES["MLP"].func is ct.MLP and REFERENCES["MLP"].keywords == {"backend": "torch"}
    assert REFERENCES["train_one_epoch"].func is ct.train_one_epoch and REFERENCES["evaluate"].func is ct.evaluate
    assert count(REFERENCES["LeNet5"]()) == LENET5.parameters == 61_706
    assert count(REFERENCES["CifarNet"]()) == CIFARNET.parameters == 62_006
    assert count(REFERENCES["MLP"](3072, 20, 10)) == 3072 * 20 + 20 + 20 * 10 + 10
    assert {type(m).__module__ for m in REFERENCES["LeNet5"]().modules()} <= {"torch.nn.modules." + m for m in (
        "conv", "activation", "pooling", "linear", "container")} | {"cnnkit.torch.models"}


def test_importing_the_checks_does_not_import_torch():
    code = "import sys; from cnnkit import checks; checks.cases('MLP', assignment='06'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ----------------------------------------------------------------------------- the probes and the recipe, apart

PROBES06 = "cnnkit.checks.probes06"
# what probes06 may import: while graded every other module of cnnkit.checks (and of cnnkit.torch) is a stub
PROBE_IMPORTS = {"math", "time", "pathlib", "numpy", "torch", "torch.nn", "torch.nn.functional",
                 "torch.utils.data", "torch.utils.data._utils.collate", "cnnkit.data", "cnnkit.torch.recipe"}
# what the recipe may import (relative imports resolved): torch, and cnnkit.data, which the sandbox keeps
RECIPE_IMPORTS = {"torch", "torch.utils.data", "cnnkit.data"}
# what the sandbox of 06 replaces by stubs (autograde/grader.py, HIDE["06"])
STUBBED = ("cnnkit.reference", "cnnkit.torch", "cnnkit.checks", "cnnkit._args", "cnnkit.architectures",
           "cnnkit.benchmark")


def imports(module):
    """The modules `module`'s source imports, relative imports resolved (`from a import b` counts as
    importing a.b when that is a module, else a)."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.__name__.rsplit(".", node.level)[0]
                base = f"{package}.{base}" if base else package
            found |= {f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names}
    return found


def _is_module(name):
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def test_every_case_names_a_probe_of_the_probes_module():
    from autograde.sandbox import probe_name
    from cnnkit.checks import probes06
    for name in NAMES:
        for case in A06.cases(name) + A06.cases(name, hidden=True):
            assert case.probe.__module__ == PROBES06 and getattr(probes06, case.probe.__name__) is case.probe
            assert probe_name(case.probe).startswith(PROBES06 + ":_probe_"), probe_name(case.probe)


def test_the_probes_module_holds_no_answer():
    """No reference, judge or mistake in probes06, and nothing imported from the rest of the checks."""
    from cnnkit.checks import probes06
    names = set(vars(probes06))
    assert not any(n.lower().startswith(("reference", "_reference")) for n in names)
    assert not names & {"REFERENCE", "_variant_train", "_training_mistake", "_loss_mistake", "_accuracy_mistake",
                        "_per_batch", "variant", "training_mistake", "loss_mistake", "accuracy_mistake",
                        "batch_accuracies", "Graded", "register", "Mistake", "THRESHOLDS", "_LAYERS", "_EXPECTED",
                        "Network", "LENET5", "CIFARNET", "MLP", "LeNet5", "CifarNet", "train_one_epoch", "evaluate"}
    assert not any(n.startswith(("_judge", "judge")) for n in names)
    answers = {ct.MLP, ct.LeNet5, ct.CifarNet, ct.train_one_epoch, ct.evaluate} | set(REFERENCES.values())
    assert not answers & {v for v in vars(probes06).values() if callable(v)}
    found = imports(probes06)
    assert found <= PROBE_IMPORTS, found - PROBE_IMPORTS
    tree = ast.parse(inspect.getsource(probes06))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level], \
        "a relative import would meet a stub while graded"


def test_the_recipe_holds_no_answer_and_imports_nothing_the_sandbox_hides():
    """cnnkit.torch.recipe stays real in the sandbox of 06: no network, no train_one_epoch, no
    evaluate in it, and it imports nothing from the rest of cnnkit.torch or anything else stubbed."""
    names = set(vars(recipe))
    assert not names & {"train_one_epoch", "evaluate", "MLP", "LeNet5", "CifarNet", "F", "nn", "models",
                        "training", "modules"}
    assert not [v for v in vars(recipe).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)]
    answers = {ct.MLP, ct.LeNet5, ct.CifarNet, ct.train_one_epoch, ct.evaluate}
    assert not answers & {v for v in vars(recipe).values() if callable(v)}
    found = imports(recipe)
    assert found <= RECIPE_IMPORTS, found - RECIPE_IMPORTS
    assert not [m for m in found if m.startswith(STUBBED)]


def test_the_sandbox_of_06_shows_the_probes_and_the_recipe_and_hides_the_rest():
    from autograde import grader, hidden
    rules = grader.HIDE["06"]
    assert set(STUBBED) <= set(rules["stub"])
    assert rules["keep"] == {"cnnkit.checks": ["inputs", "probes06"], "cnnkit.torch": ["recipe"]}
    covered = {dst for _, dst in hidden.plan(rules)}
    folder = hidden.locate("cnnkit.checks")[0]
    assert folder / "__init__.py" in covered and folder / "probes06.py" not in covered
    assert folder / "inputs.py" not in covered
    assert {folder / "a06" / f for f in ("__init__.py", "mlp.py", "train_one_epoch.py", "evaluate.py", "lenet5.py",
                                         "cifarnet.py", "networks.py", "grading.py", "judging.py")} <= covered
    assert {folder / f for f in ("core.py", "a01/__init__.py", "a01/conv2d.py")} <= covered
    torch_folder = hidden.locate("cnnkit.torch")[0]
    assert torch_folder / "__init__.py" in covered and torch_folder / "recipe.py" not in covered
    assert {torch_folder / f for f in ("training.py", "models.py", "modules.py", "conv.py")} <= covered
    assert not [p for p in covered if p.name == "recipe.py" or p.name == "probes06.py"]


def test_the_profiler_lets_the_probes_run_the_recipe_but_flags_the_rest_of_cnnkit_torch():
    """While a case runs, the grader's profiler flags code of cnnkit/torch (RUNTIME["06"]); the training
    probe trains by cnnkit/torch/recipe.py, which is allowed: calling it is no forbidden use."""
    from autograde import grader, sandbox
    assert grader.RUNTIME["06"]["allowed"] == ["cnnkit/torch/recipe.py"]
    source = ("import numpy as np\nfrom cnnkit.torch import recipe\nimport cnnkit.torch\n"
              "def by_the_recipe(x):\n    return recipe.normalise('mnist', x).numpy()\n"
              "def by_the_course(x):\n    cnnkit.torch.device()\n    return x\n")
    program = {"cells": [{"id": "a", "source": source}], "graded": ["by_the_recipe", "by_the_course"],
               "preload": ["numpy", "torch"], "protected": [], "forbidden": grader.RUNTIME["06"]}
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    out = sandbox.run(program, {name: [((images,), {}, None, (), None)] for name in program["graded"]},
                      sandbox.Limits(cell_seconds=60, notebook_seconds=120))
    by_the_recipe, by_the_course = out.results["by_the_recipe"][0], out.results["by_the_course"][0]
    assert by_the_recipe.ok and not by_the_recipe.forbidden, by_the_recipe
    assert by_the_course.ok and by_the_course.forbidden == ["torch.device"], by_the_course


_STUBBED = r"""
import importlib, importlib.util, pickle, sys
import cnnkit
checks_stub, torch_stub, given, results = sys.argv[1:5]


def stub(name, path):
    # the package as the grading sandbox shows it: the stub, with only the kept modules real
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=[])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    setattr(cnnkit, name.split(".")[1], module)
    spec.loader.exec_module(module)
    return module


stub("cnnkit.checks", checks_stub)        # inputs and probes06 real
stub("cnnkit.torch", torch_stub)          # recipe real
probes06 = importlib.import_module("cnnkit.checks.probes06")
assert probes06.__file__.endswith("probes06.py") and "stub-cnnkit.checks" in cnnkit.checks.__file__
from cnnkit.torch import recipe            # a kept module, imported from the stub package
from cnnkit.torch import training          # the rest: a stub's
assert recipe.__file__.endswith("recipe.py") and not hasattr(training, "__file__")
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
loaded = sorted(m for m in sys.modules if m.startswith(("cnnkit.checks.", "cnnkit.torch.")))
real = sorted(m for m in sys.modules if m.startswith("cnnkit") and getattr(sys.modules[m], "__file__", None))
stubbed = [not hasattr(importlib.import_module(m), "__file__") for m in ("cnnkit.checks.a06", "cnnkit.torch.models")]
with open(results, "wb") as f:
    pickle.dump((out, loaded, real, stubbed), f)
"""


def test_the_probes_run_where_the_rest_of_the_checks_and_of_cnnkit_torch_is_a_stub(monkeypatch, tmp_path):
    """As in the grading sandbox: cnnkit.checks is the stub but for probes06 (and inputs), cnnkit.torch
    the stub but for the recipe; every probe runs the student's objects there, importing nothing else
    of either, and the judge, here, passes what came back."""
    from autograde import hidden
    from autograde.sandbox import probe_name
    train, test = _synthetic_training(300, "mnist", 1), _synthetic_training(200, "mnist", 2)
    monkeypatch.setattr(grading, "read_test_split", lambda dataset: tuple(a.copy() for a in test))
    monkeypatch.setitem(recipe.RECIPES, "mnist", dict(recipe.RECIPES["mnist"], epochs=1, batch_size=50, lr=0.05))
    cases = [c for name in NAMES if name != "CifarNet" for c in A06.cases(name)] + [_training_case("LeNet5")]
    stubs = [hidden.stub_package(package, keep, hidden.locate(package)[0]) / "__init__.py"
             for package, keep in (("cnnkit.checks", ["inputs", "probes06"]), ("cnnkit.torch", ["recipe"]))]
    given, results = tmp_path / "cases.pkl", tmp_path / "results.pkl"
    given.write_bytes(pickle.dumps(([(c.name, probe_name(c.probe), c.args, c.kwargs) for c in cases],
                                    {"mnist": train})))
    subprocess.run([sys.executable, "-c", _STUBBED, *map(str, stubs), str(given), str(results)], check=True,
                   timeout=300)
    out, loaded, real, stubbed = pickle.loads(results.read_bytes())
    assert all(stubbed), "the rest of the checks and of cnnkit.torch is the stubs'"
    assert [m for m in loaded if m.startswith("cnnkit.checks.")] == [PROBES06], \
        "importing and running the probes imports no other module of the checks"
    assert [m for m in real if m.startswith("cnnkit.torch.")] == ["cnnkit.torch.recipe"]
    assert not [m for m in real if m.startswith(("cnnkit.checks.a", "cnnkit.checks.core", "cnnkit.reference"))]
    for case, result in zip(cases[:-1], out):
        v = checks.judge(case, result)
        assert v.passed, v.message
    trained = out[-1]
    assert trained["predicted"].shape == (200,) and trained["steps"] == 6
    accuracy = float(np.mean(trained["predicted"] == test[1][grading.image_order(200, cases[-1].args[1])]))
    assert checks.judge(cases[-1], trained).passed == (accuracy >= grading.THRESHOLDS["mnist"])


# ----------------------------------------------------------------------------- cases

@pytest.mark.parametrize("name", NAMES)
def test_hidden_cases_differ_across_seeds_and_the_test_images_travel_as_plain_arrays(name, test_split):
    a, c = (A06.cases(name, seed=s, hidden=True) for s in (3, 4))
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
    for (ds, seed, carried, carried_recipe), case in zip(sent, cases):
        assert ds == dataset and seed == case.args[1] and carried.dtype == np.uint8
        assert carried_recipe == recipe.RECIPES[dataset]       # the grader's recipe travels with the case
        order = grading.image_order(len(images), seed)
        np.testing.assert_array_equal(carried, images[order])
        assert sorted(order.tolist()) == list(range(len(images))) and not np.array_equal(order, np.arange(len(images)))
        np.testing.assert_array_equal(grading.image_labels(dataset, seed), labels[order])
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
    assert grading.THRESHOLDS == {"mnist": 0.985, "cifar10": 0.60}
    assert (LENET5.dataset, CIFARNET.dataset) == ("mnist", "cifar10")


def test_check_asks_for_train_one_epoch_when_a_case_needs_it():
    with pytest.raises(TypeError, match="train_one_epoch=train_one_epoch"):
        A06.check("LeNet5", REFERENCES["LeNet5"], hidden=True)


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

def test_swapped_fully_connected_sizes_are_not_taken_for_a_wrong_flatten():
    message = failure_message("CifarNet", CifarSwapped)
    assert "flatten_size" not in message and "takes 84 inputs" not in message and "47,966 trainable" in message
    assert "[flatten_size]" in failure_message("CifarNet", CifarPadded)
    assert "the first takes 576 inputs" in failure_message("CifarNet", CifarPadded)


@pytest.mark.parametrize("name,fn,code,text", WRONG_MODELS,
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG_MODELS)])
def test_each_model_mistake_is_named_in_the_verdict_of_a_case(name, fn, code, text):
    failing = [v for v in verdicts(name, fn) if not v.passed]
    assert failing, f"{name}: the wrong implementation passed"
    hits = [v for v in failing if v.diagnosis == code]
    assert hits, f"no [{code}]; got {[v.diagnosis for v in failing]}\n{failing[0].message}"
    assert any(text in v.message for v in hits), hits[0].message
    assert all(f"[{code}]" in v.message for v in hits)


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

@pytest.mark.parametrize("fn,code,text", WRONG_TRAINING, ids=[w[1] + f"-{i}" for i, w in enumerate(WRONG_TRAINING)])
def test_each_training_mistake_is_named_on_every_case_it_fails(fn, code, text):
    for hidden in (False, True):
        failing = [v for v in verdicts("train_one_epoch", fn, hidden=hidden) if not v.passed]
        assert failing, "the wrong implementation passed"
        assert all(v.diagnosis == code for v in failing), [v.diagnosis for v in failing]
        assert all(text in v.message and f"[{code}]" in v.message for v in failing), failing[0].message


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


@pytest.mark.parametrize("fn,code,text", WRONG_EVALUATION,
                         ids=[w[1] + f"-{i}" for i, w in enumerate(WRONG_EVALUATION)])
def test_each_evaluation_mistake_is_named_on_every_case(fn, code, text):
    for hidden in (False, True):
        failing = [v for v in verdicts("evaluate", fn, hidden=hidden) if not v.passed]
        assert len(failing) == len(_cases("evaluate", hidden)), "a case missed the mistake"
        assert all(v.diagnosis == code for v in failing), [v.diagnosis for v in failing]
        assert all(text in v.message and f"[{code}]" in v.message for v in failing), failing[0].message

# ----------------------------------------------------------------------------- the trained networks

def _trained(case, accuracy, losses=(0.5, 0.1), params=LENET5.parameters):
    """What the probe of a training case returns for a network with `accuracy` on the case's test images."""
    labels = grading.image_labels(case.args[0], case.args[1])
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
    monkeypatch.setitem(recipe.RECIPES, dataset, dict(recipe.RECIPES[dataset], epochs=1, batch_size=50, lr=0.05))
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
    accuracy = float(np.mean(out["predicted"] == test[1][grading.image_order(200, case.args[1])]))
    v = checks.judge(case, out)
    assert v.passed == (accuracy >= grading.THRESHOLDS[dataset])
    assert v.passed or f"reached {100 * accuracy:.2f}%" in v.message
    perfect = dict(out, predicted=grading.image_labels(dataset, case.args[1]))
    assert checks.judge(case, perfect).passed


@pytest.mark.slow
@pytest.mark.realdata
def test_training_case_trains_the_students_network_with_their_function(data_root, monkeypatch, tmp_path):
    """One epoch instead of five, at a gentler learning rate (the recipe is monkeypatched: a one-epoch
    cycle up to 0.15 is too abrupt for some seeds): the student's class and function do the training
    where the data root holds the training files only, the probe predicts the test images the case
    carries, and the judge measures them with the real labels."""
    monkeypatch.setenv("CNNKIT_DATA", str(data_root))
    monkeypatch.setitem(recipe.RECIPES, "mnist", dict(recipe.RECIPES["mnist"], epochs=1, lr=0.05))
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
    assert calls == [60000] and out["steps"] == 469 and out["params"] == LENET5.parameters
    assert len(out["losses"]) == 1 and out["losses"][0] < 1.0
    labels = cnnkit_data.load_mnist("test")[1][grading.image_order(10000, case.args[1])]
    assert np.mean(out["predicted"] == labels) > 0.95
    assert checks.judge(case, out).diagnosis in (None, "low_accuracy")

    v = checks.judge(case, idle)
    assert not v.passed and v.diagnosis == "not_learning" and idle["steps"] == 0


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", ["LeNet5", "CifarNet"])
def test_the_course_networks_reach_the_thresholds_under_the_recipe(name, data_root, monkeypatch):
    """The checks' references, trained by cnnkit.torch.train_one_epoch under the grader's full recipe
    on the real training split, pass the training case on the real test split."""
    monkeypatch.setenv("CNNKIT_DATA", str(data_root))
    cnnkit_data.clear_cache()
    case = _training_case(name)
    out, _ = run_case(case, REFERENCES[name], {"train_one_epoch": REFERENCES["train_one_epoch"]})
    v = checks.judge(case, out)
    assert v.passed, v.message
    assert out["params"] == (LENET5 if name == "LeNet5" else CIFARNET).parameters


# ----------------------------------------------------------------------------- hostile results

@pytest.mark.parametrize("kind", HOSTILE_RECORDS)
@pytest.mark.parametrize("name", NAMES)
def test_judge_fails_cleanly_on_hostile_records_of_every_case(name, kind):
    """Every visible case and the training cases (the one checks suite tries the first case only)."""
    for case in A06.cases(name) + [c for c in A06.cases(name, hidden=True) if c.uses]:
        v = checks.judge(case, HOSTILE_RECORDS[kind]())
        assert not v.passed and v.message.startswith(name)
