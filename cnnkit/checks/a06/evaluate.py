"""evaluate(model, loader, device) -> the accuracy, the fraction of the loader's examples classified
correctly.

The probe (probes06._probe_evaluate) has it measure a small network with dropout (handed over in
training mode) on a loader whose last batch is smaller; a hook on the model sees whether it ran in
evaluation mode without gradients, and which batches were not moved to the device. The judge compares
the accuracy with the reference's and names the ways of counting it wrongly. The reference is
cnnkit.torch.evaluate.
"""

import math

import numpy as np

from ..core import Case, Graded, register
from ..probes06 import _probe_evaluate, eval_data, eval_model
from . import ASSIGNMENT
from .judging import CourseReference, close, guarded, no_mistakes, scalar, unmoved_problem, verdict

REFERENCE = CourseReference("evaluate")


# ----------------------------------------------------------------------------- cases

def evaluate_case(seed, n, batch_size, shape, classes):
    last = n % batch_size or batch_size
    label = (f"a small network with dropout (handed over in training mode), {n} examples of shape {tuple(shape)} "
             f"and {classes} classes in batches of {batch_size} (the last holds {last}), seed {seed}")
    return Case("evaluate", (seed, n, batch_size, tuple(shape), classes), {}, label, probe=_probe_evaluate)


def visible():
    return [evaluate_case(0, 50, 16, (12,), 3), evaluate_case(1, 37, 10, (1, 5, 5), 4)]


def hidden(rng):
    out = []
    for shape in ((int(rng.integers(6, 20)),), (1, 4, 4), (2, 3, 3)):
        bs = int(rng.integers(6, 16))
        n = bs * int(rng.integers(2, 5)) + int(rng.integers(1, bs // 2 + 1))    # a short last batch
        out.append(evaluate_case(int(rng.integers(10 ** 6)), n, bs, shape, int(rng.integers(3, 7))))
    return out


# ----------------------------------------------------------------------------- judging

def judge_evaluate(case, out):
    ref = _probe_evaluate(REFERENCE, {}, *case.args, **case.kwargs)
    value = scalar(out, "accuracy")
    counts = {k: int(scalar(out, k)) for k in ("is_float", "forwards", "train_forwards", "grad_forwards",
                                                "batches", "unmoved_x", "unmoved_y")}
    problems = []
    if counts["unmoved_x"] or counts["unmoved_y"]:
        problems.append(unmoved_problem(counts, "compared with the predictions"))
    if counts["train_forwards"]:
        problems.append(("train_mode", "the model ran in training mode: call model.eval() first (it came in "
                                       "training mode, so dropout dropped units at random and the accuracy is "
                                       "that of a damaged network)"))
    if counts["grad_forwards"]:
        problems.append(("no_grad", "gradients were tracked while evaluating: run the loop inside "
                                    "`with torch.no_grad():` (no graph is kept, which saves memory and time)"))
    if not close(value, ref["accuracy"], 1e-6, 1e-7) and not counts["train_forwards"]:
        problems.append(accuracy_mistake(case, value, ref["accuracy"]))
    elif not problems and not counts["is_float"]:
        problems.append(("not_float", "the accuracy is right, but it is not a Python float: return a number, "
                                      "e.g. correct / total with correct counted by .sum().item()"))
    return verdict(case, problems)


def accuracy_mistake(case, value, ref):
    """(code, sentence) for a wrong accuracy: the known ways of counting it wrongly, else wrong_accuracy."""
    n, batch_size = case.args[1:3]
    if not np.isfinite(value):
        return ("no_accuracy", "evaluate returned no number: return the fraction of correct predictions as a float "
                               "(did it forget to `return`?)")
    text = f"the returned accuracy is {value:.6g}; the fraction of correct predictions is {ref:.6g}"
    correct = round(ref * n)
    per_batch = batch_accuracies(case)
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


def batch_accuracies(case):
    """The accuracy of each batch of the case, as the reference sees them."""
    import torch
    seed, n, batch_size, shape, classes = case.args
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = eval_model(int(np.prod(shape)), classes)
        x, y = eval_data(model, tuple(shape), classes, seed, n)
        model.eval()
        with torch.no_grad():
            hit = (model(x).argmax(dim=1) == y).double()
    return [float(hit[i:i + batch_size].mean()) for i in range(0, n, batch_size)]


register(Graded("evaluate", ASSIGNMENT, visible, hidden, REFERENCE, no_mistakes, argnames=(),
                judge=guarded(judge_evaluate)))
