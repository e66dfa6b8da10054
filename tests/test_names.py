"""Names that agree across the package: the incoming gradient is `dout` in both backends, and one
helper (`cnnkit._args.pair`) turns an int into a pair."""

import ast
import importlib
import inspect
import pathlib
import pkgutil
import re

import pytest
from torch.autograd import Function

import cnnkit
import cnnkit.torch
from cnnkit import reference as R

PACKAGE = pathlib.Path(cnnkit.__file__).parent

# A loss is the end of the chain: its gradient has no incoming gradient to take (the spec fixes
# these signatures).
LOSS_GRADIENTS = {"squared_error_backward": ["h", "y"], "cross_entropy_backward": ["logits", "labels"]}


def _reference_backwards():
    return sorted(name for name in dir(R) if name.endswith("_backward") and callable(getattr(R, name)))


def _torch_functions():
    """Every torch.autograd.Function defined in a module of cnnkit.torch."""
    found = {}
    for info in pkgutil.iter_modules(cnnkit.torch.__path__):
        module = importlib.import_module(f"cnnkit.torch.{info.name}")
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Function) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_the_reference_has_its_backward_passes():
    assert {"conv2d_backward", "linear_backward", "max_pool2d_backward", "sigmoid_backward",
            "batch_norm_backward"} <= set(_reference_backwards())


@pytest.mark.parametrize("name", _reference_backwards())
def test_every_reference_backward_takes_dout_first(name):
    params = list(inspect.signature(getattr(R, name)).parameters)
    if name in LOSS_GRADIENTS:
        assert params[:2] == LOSS_GRADIENTS[name]
    else:
        assert params[0] == "dout", f"{name}{inspect.signature(getattr(R, name))}"


def test_cnnkit_torch_has_its_autograd_functions():
    names = {key.rsplit(".", 1)[1] for key in _torch_functions()}
    assert {"Conv2dFunction", "LinearFunction", "Im2colFunction", "BatchNormTrainFunction",
            "SquaredErrorFunction"} <= names


@pytest.mark.parametrize("key", sorted(_torch_functions()))
def test_every_torch_backward_takes_dout(key):
    fn = _torch_functions()[key]
    params = list(inspect.signature(inspect.unwrap(fn.backward)).parameters)
    # ctx, the gradient of the output, then those of outputs marked non-differentiable (_d...)
    assert params[:2] == ["ctx", "dout"], f"{key}.backward{tuple(params)}"
    assert all(p.startswith("_") for p in params[2:]), f"{key}.backward{tuple(params)}"


# ------------------------------------------------------------------- one int-to-pair helper

PAIR_NAME = re.compile(r"pair|^_?two$|^_?both$", re.IGNORECASE)


def _modules():
    """Every module of cnnkit but the graders' checks and _args, where `pair` lives."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "checks" or rel == pathlib.Path("_args.py"):
            continue
        yield rel, ast.parse(path.read_text(), str(path))


def _int_to_pair(node):
    """`(v, v) if isinstance(v, ...) else ...` (or the other way round): a private pair rule."""
    if not isinstance(node, ast.IfExp):
        return False
    test = node.test.operand if isinstance(node.test, ast.UnaryOp) else node.test
    if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "isinstance"):
        return False
    for branch in (node.body, node.orelse):
        if (isinstance(branch, ast.Tuple) and len(branch.elts) == 2
                and all(isinstance(e, ast.Name) for e in branch.elts)
                and branch.elts[0].id == branch.elts[1].id):
            return True
    return False


def test_no_module_has_its_own_int_to_pair_helper():
    found = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and PAIR_NAME.search(node.name):
                found.append(f"{rel}:{node.lineno} def {node.name}")
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                found += [f"{rel}:{node.lineno} {t.id} = lambda" for t in node.targets
                          if isinstance(t, ast.Name) and PAIR_NAME.search(t.id)]
            elif _int_to_pair(node):
                found.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert not found, "use cnnkit._args.pair:\n" + "\n".join(found)


def test_the_detector_sees_a_private_pair():
    tree = ast.parse("def f(v):\n    return (v, v) if isinstance(v, int) else tuple(v)\n")
    assert any(_int_to_pair(node) for node in ast.walk(tree))


def test_the_torch_validation_module_is_not_called_checks():
    assert not (PACKAGE / "torch" / "_checks.py").exists()
    assert (PACKAGE / "torch" / "_validate.py").exists()


def test_pair_takes_any_integer_and_any_sequence_and_names_the_argument():
    import numpy as np

    from cnnkit._args import pair

    assert pair(3, "stride", "f") == (3, 3)
    assert pair(np.int64(2), "stride", "f") == (2, 2)
    assert pair([1, np.int32(4)], "stride", "f") == (1, 4)
    assert pair(np.array([2, 3]), "stride", "f") == (2, 3)
    assert all(type(v) is int for v in pair(np.int64(2), "stride", "f"))
    for bad in (True, 1.5, (1, 2, 3), "ab", None):
        with pytest.raises(ValueError, match=r"^f: kernel_size must be"):
            pair(bad, "kernel_size", "f")
    with pytest.raises(ValueError, match=r"^f: padding must be non-negative"):
        pair(-1, "padding", "f", minimum=0)
