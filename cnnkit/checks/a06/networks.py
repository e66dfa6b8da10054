"""Judging the model classes of assignment 06 (MLP, LeNet5, CifarNet) from what the model probe saw.

The probe (probes06._probe_model) builds the student's class under a fixed seed and runs it on a
seeded batch: it reports the number of trainable parameters and their shapes, the output (and the
output for a batch of one), and how many trainable tensors a loss does not reach. LeNet5 and
CifarNet are judged by properties, since the activations and pooling are the student's choice: their
parameter count (a wrong one is explained from the shapes of the tensors), logits of shape (N, 10),
finite, not probabilities. Each network's module describes it with a `Network`; the MLP's module
brings the problems particular to it (`model_judge`).
"""

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..core import Case
from ..probes06 import CLASSES, MODEL_INPUT, _probe_model
from .grading import is_trained, judge_trained, trained_case
from .judging import close, field, scalar, verdict

SOFTMAX = ("the outputs are probabilities (each row is non-negative and sums to 1): forward must return the "
           "raw scores (logits) of the last linear layer, without softmax; F.cross_entropy applies "
           "log-softmax itself, so a softmax in forward squashes the gradients and training stalls")
RELU_OUT = ("the outputs are never negative: there is an activation after the last linear layer; the "
            "logits come straight out of the last linear layer, with no ReLU after it")


@dataclass(frozen=True)
class Network:
    """A graded network class of fixed layers, as its messages describe it."""
    name: str                # the graded class, "LeNet5"
    dataset: str             # what its training case trains it on, "mnist"
    parameters: int          # its number of trainable parameters
    layers: tuple            # ((what, weight shape), ...): the trainable layers in order, each with a bias
    fully_connected: str     # what the messages call the layers that take the 400 flattened values
    flatten_note: str        # how the maps come to 400 values per image, for a wrong first layer size


# ----------------------------------------------------------------------------- cases

def model_case(name, seed, batch):
    c, h, w = MODEL_INPUT[name]
    label = (f"a batch of {batch} random {c}x{h}x{w} images and its first image alone ({name}() built with "
             f"torch.manual_seed({seed}))")
    return Case(name, (name, seed, batch), {}, label, probe=_probe_model)


def visible_cases(net):
    return lambda: [model_case(net.name, 0, 4)]


def hidden_cases(net):
    """A model case, then the training case (`grading`)."""
    def make(rng):
        return [model_case(net.name, int(rng.integers(1, 10 ** 6)), int(rng.integers(2, 9))),
                trained_case(net.name, net.dataset, int(rng.integers(1, 10 ** 6)))]
    return make


# ----------------------------------------------------------------------------- judging a model case

def model_judge(problems):
    """The judge of a model case: `problems(case, out, count, shapes, output, one, batch)` -> [(code,
    sentence)] finds what is particular to the class; a class that builds no module and trainable
    tensors that get no gradient are the same mistakes for every network."""
    def judge_model(case, out):
        name = case.name
        if scalar(out, "module") != 1:
            return verdict(case, [("not_module", f"{name}() did not build a torch.nn.Module: write "
                                                 f"`class {name}(nn.Module):` with __init__ calling "
                                                 f"super().__init__() and a forward method")])
        count = int(scalar(out, "params"))
        shapes = shapes_of(field(out, "shapes"))
        output, one = field(out, "output"), field(out, "output_one")
        batch = int(case.args[2])
        found = problems(case, out, count, shapes, output, one, batch)
        unused = int(scalar(out, "no_gradient"))
        if unused:
            found.append(("no_gradient", f"{unused} of the {len(shapes)} trainable tensors get no gradient from the "
                                         f"loss: a layer made in __init__ is never used in forward, or the "
                                         f"computation is cut off (.detach(), .numpy(), torch.no_grad() inside "
                                         f"forward); such parameters never learn"))
        return verdict(case, found)
    return judge_model


def network_judge(net):
    """The judge of a network's cases: its model case, and its training case (`grading`)."""
    def problems(case, out, count, shapes, output, one, batch):
        found = [] if count == net.parameters else [parameter_problem(net, count, shapes)]
        return found + output_problems(output, one, batch)

    judge_model = model_judge(problems)

    def judge_network(case, out):
        if is_trained(case):
            return judge_trained(case, out, net.parameters)
        return judge_model(case, out)
    return judge_network


def output_problems(out, one, batch, classes=CLASSES):
    """(code, sentence) for the logits of a batch (batch, classes) and of its first image alone (1, classes)."""
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
        problems.append(("softmax_output", SOFTMAX))
    elif np.all(out >= 0) and np.mean(out == 0) > 0.1:
        problems.append(("relu_output", RELU_OUT))
    elif one.shape == (1, classes) and np.all(np.isfinite(one)) and not close(one, out[:1], 1e-3, 1e-4):
        problems.append(("batch_dependent", "the output for the first image alone differs from its row in the "
                                            "batch output: in evaluation mode each image's logits must depend on "
                                            "that image only"))
    return problems


# ----------------------------------------------------------------------------- a wrong number of parameters

def shapes_of(table):
    """The probe's shape table (P, 5) (ndim, then the sizes) as shapes."""
    out = []
    for row in np.asarray(table, dtype=np.int64).reshape(-1, 5):
        nd = int(row[0])
        out.append(tuple(int(d) for d in row[1:1 + min(nd, 4)]))
    return out


def canonical(shape):
    """A 5x5 convolution over 16 maps of 5x5 is the fully connected layer 400 -> out."""
    if len(shape) == 4 and shape[1:] == (16, 5, 5):
        return (shape[0], 400)
    return shape


def parameter_problem(net, count, shapes):
    """(code, sentence) for a wrong number of parameters, from the shapes of the tensors."""
    name, expected = net.name, net.parameters
    head = f"{name} has {count:,} trainable parameters; the network described has {expected:,}"
    if count == 0:
        return "unregistered", (head + ": no parameters at all. Layers must be attributes of the module (self.conv1 = "
                                "nn.Conv2d(...)) or inside nn.Sequential / nn.ModuleList; layers kept in a plain "
                                "Python list or dict, or made inside forward, are not registered (and never trained)")
    want = Counter()
    names = {}
    for layer, w in net.layers:
        want[canonical(w)] += 1
        want[(w[0],)] += 1
        names[canonical(w)] = layer
    got = Counter(canonical(s) for s in shapes)
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
    yours = [canonical(s) for s in shapes if len(s) > 1]
    convs = [s for s in yours if len(s) == 4]
    fcs = [s for s in yours if len(s) == 2]
    want = [canonical(w) for _, w in net.layers]
    want_convs, want_fcs = [s for s in want if len(s) == 4], [s for s in want if len(s) == 2]
    if convs == want_convs and fcs != want_fcs and fcs:
        order = f"{name}'s {net.fully_connected}, in the order __init__ makes them, are {chain(fcs)}"
        if len(fcs) == len(want_fcs) and fcs[1:] == want_fcs[1:] and fcs[0][0] == want_fcs[0][0]:
            after = "the maps are 16 x 5 x 5 = 400 values per image after the second pooling" + net.flatten_note
            return "flatten_size", (head + f": {order}: the first takes {fcs[0][1]} inputs; {after}")
        text = f"{order}; the network described has {chain(want_fcs)}"
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
        parts.append(f"{name}'s layers, in the order __init__ makes them: {describe_layers(shapes)}")
    layers = "; ".join(f"{layer} {w} + bias ({w[0]},)" for layer, w in net.layers)
    return "wrong_params", (head + (": " + "; ".join(parts) if parts else "") + f". The layers: {layers}")


def chain(fcs):
    """Fully connected layers [(out, in), ...] as "400 -> 120 -> 84 -> 10" (or "a -> b, c -> d" when one
    does not take the previous one's outputs)."""
    if all(fcs[i][1] == fcs[i - 1][0] for i in range(1, len(fcs))):
        return " -> ".join([str(fcs[0][1])] + [str(o) for o, _ in fcs])
    return ", ".join(f"{i} -> {o}" for o, i in fcs)


def describe_layers(shapes):
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
