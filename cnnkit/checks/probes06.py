"""Assignment 06's probes: what the grader runs in the student's process, with the student's objects.

A case of assignment 06 names one of the probes here (`Case.probe`, sent to the grading sandbox as
"cnnkit.checks.probes06:_probe_model" and so on); the runner calls it with the student's class or
function and the case's arguments, and it returns plain numbers and arrays, which the judges of
`cnnkit.checks.a06` then compare, in the grader's process, with what the reference gives.

While a notebook is graded this module and `cnnkit.checks.inputs` are the only parts of
`cnnkit.checks` the student's process can import (the rest is a stub), so it holds no answer: no
reference network, training loop or evaluation, no judge and no catalogue of mistakes. The probes
run the student's objects only; the networks built here (`_small_model`, `eval_model`) are the
fixtures a graded function is handed, not answers to it. What a probe needs that is not the
student's comes from the case's arguments: the seeds and sizes, the test images of a training case
(as a plain uint8 array) and the grader's training recipe for it, which `cnnkit.torch.recipe` (real in
the sandbox too, and holding no answer either) trains by. The only other imports are NumPy, torch
(when a probe runs) and `cnnkit.data`, which reads the training split; imports are absolute, since
any other module of `cnnkit.checks` (and of `cnnkit.torch`) is a stub in the sandbox.
"""

import math
import time
from pathlib import Path

import numpy as np

CLASSES = 10
MODEL_INPUT = {"LeNet5": (1, 28, 28), "CifarNet": (3, 32, 32)}


class ForwardError(Exception):
    """A model's forward pass failed on the probe's batch; the message says why, and what is likely wrong."""


# ----------------------------------------------------------------------------- torch, lazily

_T = {}


def _torch():
    """torch and the helpers built on it, made on first use."""
    if not _T:
        import torch
        _T["torch"] = torch
        _T["Marked"] = _marked_class(torch)
    return _T["torch"]


# roles ("x", "y") of batches that reached the model, or met the device's tensors, without `.to(device)`
_UNMOVED = set()
# the device the probe hands the graded function: `.to(_DEVICE[0])` keeps a tensor on it
_DEVICE = [None]

# The marks a tensor carries, as a set of roles:
#   "x", "y"  computed from a batch's images / labels that were never moved with `.to(device)`;
#   "dev"     on the device: the model's output and what is computed from it, until `.cpu()` (or
#             `.to("cpu")`, `.to(other_tensor.device)`) brings it back.
# Images that were not moved are noticed where they reach the model (a pre-hook); labels that were
# not moved where they meet a tensor on the device (the loss, comparing predictions with them): on a
# GPU that mixes devices and fails. Labels compared on the CPU with predictions brought back there
# are fine on any machine.


def _marked_class(torch):
    moves = {torch.Tensor.to, torch.Tensor.cuda}
    # ops where a CPU index tensor may meet a tensor on the GPU
    indexing = {torch.Tensor.__getitem__, torch.Tensor.__setitem__}

    def marks_in(obj, found):
        """[(roles, ndim)] of the marked tensors in obj (args, lists, dicts)."""
        if isinstance(obj, Marked):
            found.append((getattr(obj, "_roles", frozenset()), obj.dim()))
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                marks_in(o, found)
        elif isinstance(obj, dict):
            for o in obj.values():
                marks_in(o, found)
        return found

    def to_host(func, args, kwargs):
        """Whether a move sends a tensor on the device back to the CPU."""
        if func is torch.Tensor.cuda:
            return False
        targets = list(args[1:]) + [kwargs[k] for k in ("device", "other") if k in kwargs]
        for t in targets:
            if isinstance(t, Marked):
                return "dev" not in getattr(t, "_roles", ())
            if isinstance(t, torch.Tensor):
                return True
            if isinstance(t, str) and t.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta"):
                return t.split(":")[0] == "cpu"
            if isinstance(t, torch.device):
                return t is not _DEVICE[0] and t.type == "cpu"
        return False            # a change of dtype only

    class Marked(torch.Tensor):
        """A tensor as the probe's loaders and model hand it out, marked with where it is (see
        above); what is computed from it keeps the marks of its inputs."""

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            with torch._C.DisableTorchFunctionSubclass():
                found = marks_in(args, [])
                marks_in(kwargs, found)
            roles = frozenset().union(*(r for r, _ in found)) if found else frozenset()
            if func not in moves and func not in indexing and "dev" in roles and \
                    any("y" in r and nd > 0 and "dev" not in r for r, nd in found):
                _UNMOVED.add("y")
            with torch._C.DisableTorchFunctionSubclass():
                out = func(*args, **kwargs)
            if func in moves:
                roles = roles - {"x", "y"}
                if to_host(func, args, kwargs):
                    roles = roles - {"dev"}
            elif func is torch.Tensor.cpu:
                roles = roles - {"dev"}
            if isinstance(out, torch.Tensor) and not isinstance(out, torch.nn.Parameter):
                out = _with_roles(out, roles)
            return out

    return Marked


def _with_roles(t, roles):
    """t marked with `roles`; a plain tensor when there are none."""
    torch = _torch()
    if not roles:
        return t.as_subclass(torch.Tensor) if isinstance(t, _T["Marked"]) else t
    m = t.as_subclass(_T["Marked"])
    m._roles = frozenset(roles)
    return m


def _mark(t, role):
    return _with_roles(t, {role})


def _marked_collate(batch):
    """The DataLoader's usual batch, each tensor marked (x: "x", y: "y")."""
    from torch.utils.data._utils.collate import default_collate
    x, y = default_collate(batch)
    return [_mark(x, "x"), _mark(y, "y")]


def _unmoved_hook(module, inputs):
    for a in inputs:
        if isinstance(a, _T["Marked"]) and "x" in getattr(a, "_roles", ()):
            _UNMOVED.add("x")


def _on_device_hook(module, inputs, output):
    """The model's output is on the device: marked "dev" (with the marks it already has)."""
    if isinstance(output, _T["torch"].Tensor):
        return _with_roles(output, set(getattr(output, "_roles", ())) | {"dev"})
    return output


def _loader(x, y, batch_size):
    """A DataLoader over (x, y) in order, whose batches are marked; its own generator, so iterating it
    never touches torch's global random state."""
    torch = _torch()
    from torch.utils.data import DataLoader, TensorDataset
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False, collate_fn=_marked_collate,
                      generator=torch.Generator().manual_seed(0))


def _number(v):
    """(value, is a float): what a graded function returned, as a number for the judge."""
    torch = _torch()
    if isinstance(v, (float, np.floating)) and not isinstance(v, bool):
        try:
            return float(v), True
        except Exception:
            return math.nan, False
    try:
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            return float(v.detach().cpu().reshape(())), False
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return float(v), False
    except Exception:
        pass
    return math.nan, False


def _student_traceback(e):
    """e's traceback, cut after the last frame of the student's code: an error the probe reports in its
    own words then still points at the student's line (check() and the grader name the innermost one)."""
    try:
        import torch
        skip = (str(Path(torch.__file__).parent), str(Path(__file__).parent))
        tb, last = e.__traceback__, None
        while tb is not None:
            if not tb.tb_frame.f_code.co_filename.startswith(skip):
                last = tb
            tb = tb.tb_next
        if last is not None:
            last.tb_next = None
        return e.__traceback__
    except Exception:
        return None


def describe(e):
    try:
        return f"{type(e).__name__}: {e}"
    except Exception:
        return type(e).__name__


# ----------------------------------------------------------------------------- model probes

def _shape_table(params):
    """The shapes of the trainable tensors as an int array (P, 5): ndim, then the sizes (0-padded)."""
    rows = []
    for p in params[:512]:
        s = tuple(int(d) for d in p.shape)[:4]
        rows.append([len(p.shape)] + list(s) + [0] * (4 - len(s)))
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def _forward(model, x, name):
    """model(x) as a float64 array; a failure becomes a ForwardError naming the likely mistake."""
    torch = _torch()
    try:
        out = model(x)
    except Exception as e:
        raise ForwardError(_forward_failure(model, x, name, e)).with_traceback(_student_traceback(e)) from None
    if not isinstance(out, torch.Tensor):
        raise ForwardError(f"forward returned a {type(out).__name__}, not a tensor: return the logits, "
                           f"a tensor of shape (N, {'classes' if name == 'MLP' else CLASSES})")
    return out.detach().double().cpu().numpy()


def _forward_failure(model, x, name, e):
    """What went wrong in a forward pass: the likely mistake (or a hint), then the student's error (the
    place in their code follows it in the message)."""
    import torch.nn.functional as F

    def works(z):
        try:
            model(z)
            return True
        except Exception:
            return False

    what = f"the forward pass on a batch of shape {tuple(x.shape)} failed"
    if name == "LeNet5" and works(F.pad(x, (2, 2, 2, 2))):
        what += (": [no_padding] the network works on 32x32 images but not on MNIST's 28x28: the first "
                 "convolution needs padding=2, so that its maps are 28x28 as in the classic LeNet-5 on 32x32 "
                 "input (and the third convolution finds 5x5 maps)")
    elif name == "MLP" and x.dim() > 2 and works(x.flatten(1)):
        what += (": [no_flatten] the network works on flattened input but not on images: flatten each example "
                 "first, keeping the batch axis (x.flatten(1), x.view(len(x), -1) or nn.Flatten())")
    elif name == "CifarNet":
        what += ("\n  hint: a 32x32 image gives 28x28 maps after the first 5x5 convolution, 14x14 after pooling, "
                 "10x10 after the second convolution and 5x5 after the second pooling: 16 * 5 * 5 = 400 values "
                 "per image for the first fully connected layer (flatten with x.flatten(1))")
    elif name == "LeNet5":
        what += ("\n  hint: with padding=2 the maps are 28x28 after the first convolution, 14x14 after pooling, "
                 "10x10 after the second convolution, 5x5 after pooling and 1x1 after the third convolution: "
                 "120 values per image for the fully connected layers (flatten with x.flatten(1))")
    return what + f"\n  it raised {describe(e)[:400]}"


def _probe_model(cls, others, name, seed, batch, init=(), input_shape=None):
    """Build `cls(*init)` under `seed`, count its parameters, run it on a seeded batch and on its first
    image alone (evaluation mode, no gradients)."""
    torch = _torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(*init)
    if not isinstance(model, torch.nn.Module):
        return {"module": 0}
    params = [p for p in model.parameters() if p.requires_grad]
    shape = (batch,) + tuple(input_shape or MODEL_INPUT[name])
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    model.eval()
    with torch.no_grad():
        out = _forward(model, x, name)
        one = _forward(model, x[:1], name)
    result = {"module": 1, "params": int(sum(p.numel() for p in params)), "shapes": _shape_table(params),
              "output": out, "output_one": one, "no_gradient": _without_gradient(model, x, params, seed)}
    if name == "MLP":
        result["x"] = x.double().numpy()
        result["weights"] = [p.detach().double().cpu().numpy() for p in params[:8]]
    return result


def _without_gradient(model, x, params, seed):
    """How many trainable tensors get no gradient (or only zeros) from a random loss of one training-mode
    forward pass: layers made in __init__ but never used in forward, or a computation cut off by
    .detach(), .numpy() or torch.no_grad()."""
    torch = _torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.train()
        for p in params:
            p.grad = None
        try:
            out = model(x)
            weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
            (out * weights).sum().backward()
        except Exception as e:
            raise ForwardError(f"a forward and backward pass in training mode failed; the output must be computed "
                               f"from the input with torch operations, so that loss.backward() reaches every "
                               f"parameter\n  it raised {describe(e)[:400]}").with_traceback(
                                   _student_traceback(e)) from None
        missing = sum(p.grad is None or not bool(p.grad.abs().sum() > 0) for p in params)
        for p in params:
            p.grad = None
        model.eval()
    return int(missing)


# ----------------------------------------------------------------------------- training on the real data

def _probe_trained(cls, others, dataset, seed, images, recipe):
    """Train `cls()` with the student's train_one_epoch under the grader's `recipe` (sent with the case:
    epochs, batch_size, lr, momentum, pct_start, flip; how it trains is `cnnkit.torch.recipe`) on the
    real training split, then the class it predicts for each of `images` (the test split's images as
    the grader sent them, uint8 in the publisher's layout): the judge, which alone has the labels,
    measures them. Nothing here reads the test split's files."""
    torch = _torch()
    from cnnkit.torch import recipe as recipes
    train_one_epoch = others.get("train_one_epoch")
    if not callable(train_one_epoch):
        raise TypeError("training the network needs your train_one_epoch, which is not defined")
    started = time.monotonic()
    recipe = dict(recipe)
    xt = _test_tensor(dataset, images)
    x, y = _dataset_tensors(dataset, "train")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"{type(model).__name__} is not a torch.nn.Module")
        params = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
        model = model.to(device)
        loader = recipes.training_loader(x, y, recipe, seed)
        losses, steps = recipes.train(model, loader, _read_loss(train_one_epoch), device, recipe)
        predicted = _predictions(model, xt, device)
    return {"predicted": predicted, "losses": np.array(losses, dtype=np.float64), "params": params,
            "steps": steps, "seconds": round(time.monotonic() - started, 1)}


def _read_loss(train_one_epoch):
    """train_one_epoch, its result read at once as a number (a tensor it returned could change later)."""
    def epoch(model, loader, optimizer, device):
        return _number(train_one_epoch(model, loader, optimizer, device))[0]
    return epoch


def _dataset_tensors(dataset, split):
    """The real images as normalised float32 (N, C, H, W) and int64 labels, on the CPU."""
    from cnnkit import data
    from cnnkit.torch import recipe as recipes
    return recipes.to_tensors(dataset, *data.load(dataset, split))


def _test_tensor(dataset, images):
    """The test images a training case carries (uint8, (N, 28, 28) or (N, 32, 32, 3)), normalised with
    the training split's statistics as the loaders do: float32 (N, C, H, W)."""
    from cnnkit.torch import recipe as recipes
    images = np.asarray(images)
    shape = {"mnist": (28, 28), "cifar10": (32, 32, 3)}[dataset]
    if images.dtype != np.uint8 or images.ndim != 1 + len(shape) or images.shape[1:] != shape:
        raise ValueError(f"the test images must be uint8 of shape (N, {', '.join(map(str, shape))}), got "
                         f"{images.dtype} of shape {images.shape}")
    return recipes.normalise(dataset, images)


def _predictions(model, x, device, batch=1000):
    """The class of the largest logit for each image of x, in evaluation mode without gradients: int64 (N,)."""
    torch = _torch()
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(x[i:i + batch].to(device)).argmax(dim=1).cpu())
    return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------- train_one_epoch probe

_TRAIN_INPUT = {"conv": (1, 8, 8), "mlp": (12,)}
_TRAIN_CLASSES = {"conv": 3, "mlp": 4}


def _small_model(kind):
    """The network train_one_epoch trains: batch norm and dropout, so train() matters."""
    from torch import nn
    if kind == "conv":
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Dropout(0.25), nn.Linear(64, 3))
    return nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 4))


def _synthetic(shape, classes, seed, n):
    """n seeded examples of `shape` with labels a linear rule gives (so that there is something to learn)."""
    torch = _torch()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n,) + tuple(shape), generator=g)
    w = torch.randn(int(np.prod(shape)), classes, generator=g)
    return x, (x.reshape(n, -1) @ w).argmax(dim=1)


def _flat(tensors):
    torch = _torch()
    ts = [t.detach().reshape(-1).double().cpu() for t in tensors]
    return torch.cat(ts).numpy() if ts else np.zeros(0)


def _probe_train(fn, others, kind, seed, n, batch_size, lr, momentum, weight_decay):
    """One epoch of `fn` on the small network (handed over in evaluation mode), what it returned, and
    the network afterwards; hooks count forward passes (and those in evaluation mode) and steps."""
    torch = _torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _small_model(kind)
        model.eval()
        x, y = _synthetic(_TRAIN_INPUT[kind], _TRAIN_CLASSES[kind], seed, n)
        loader = _loader(x, y, batch_size)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
        seen = {"forwards": 0, "eval": 0, "steps": 0}

        def pre(module, inputs):
            seen["forwards"] += 1
            seen["eval"] += not module.training
            _unmoved_hook(module, inputs)

        def stepped(opt, args, kwargs):
            seen["steps"] += 1

        model.register_forward_pre_hook(pre)
        model.register_forward_hook(_on_device_hook)
        optimizer.register_step_post_hook(stepped)
        _UNMOVED.clear()
        device = _DEVICE[0] = torch.device("cpu")
        torch.manual_seed(seed + 1)     # the dropout masks
        value, is_float = _number(fn(model, loader, optimizer, device))
        unmoved = set(_UNMOVED)
        params = _flat(model.parameters())
        buffers = _flat([b for b in model.buffers() if b.dtype.is_floating_point])
    return {"loss": value, "is_float": int(is_float), "params": params, "buffers": buffers,
            "forwards": seen["forwards"], "eval_forwards": seen["eval"], "steps": seen["steps"],
            "batches": len(loader), "unmoved_x": int("x" in unmoved), "unmoved_y": int("y" in unmoved)}


# ----------------------------------------------------------------------------- evaluate probe

def eval_model(d, classes):
    from torch import nn
    return nn.Sequential(nn.Flatten(), nn.Linear(d, 24), nn.ReLU(), nn.Dropout(0.5), nn.Linear(24, classes))


def eval_data(model, shape, classes, seed, n):
    """n seeded examples; about 60% of the labels are what the model predicts (the last one always), the
    rest random."""
    torch = _torch()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n,) + tuple(shape), generator=g)
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    other = torch.randint(0, classes, (n,), generator=g)
    keep = torch.rand(n, generator=g) < 0.6
    keep[-1] = True      # the short last batch has a correct prediction: its accuracy is not 0
    return x, torch.where(keep, pred, other)


def _probe_evaluate(fn, others, seed, n, batch_size, shape, classes):
    """`fn` on a network with dropout, handed over in training mode; what it returned, and how the
    network was called (training mode? gradients?)."""
    torch = _torch()
    shape = tuple(int(s) for s in shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = eval_model(int(np.prod(shape)), classes)
        x, y = eval_data(model, shape, classes, seed, n)
        model.train()
        loader = _loader(x, y, batch_size)
        seen = {"forwards": 0, "train": 0, "grad": 0}

        def pre(module, inputs):
            seen["forwards"] += 1
            seen["train"] += module.training
            seen["grad"] += torch.is_grad_enabled()
            _unmoved_hook(module, inputs)

        model.register_forward_pre_hook(pre)
        model.register_forward_hook(_on_device_hook)
        _UNMOVED.clear()
        device = _DEVICE[0] = torch.device("cpu")
        torch.manual_seed(seed + 1)
        value, is_float = _number(fn(model, loader, device))
        unmoved = set(_UNMOVED)
    return {"accuracy": value, "is_float": int(is_float), "forwards": seen["forwards"],
            "train_forwards": seen["train"], "grad_forwards": seen["grad"], "batches": len(loader),
            "unmoved_x": int("x" in unmoved), "unmoved_y": int("y" in unmoved)}


