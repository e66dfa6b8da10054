"""train_one_epoch(model, loader, optimizer, device) -> the mean loss over the epoch's examples.

The probe (probes06._probe_train) has it train a small network with batch norm and dropout (handed
over in evaluation mode) for one epoch on a seeded synthetic data set, through a DataLoader without
shuffling, with SGD; hooks count the forward passes (and those in evaluation mode), the optimizer
steps and the batches that were not moved to the device. The judge compares the loss it returned,
the parameters and the batch-norm statistics afterwards with the reference run the same way, and
names the mistake when a known wrong version gives them. Some cases end with a short last batch: the
loss returned is the mean over the epoch's examples. The reference is cnnkit.torch.train_one_epoch.
"""

import numpy as np

from ..core import Case, Graded, register
from ..probes06 import _probe_train
from . import ASSIGNMENT
from .judging import CourseReference, close, field, guarded, no_mistakes, scalar, unmoved_problem, verdict


# ----------------------------------------------------------------------------- cases

def train_case(kind, seed, n, batch_size, lr, momentum=0.0, weight_decay=0.0):
    what = "a small CNN" if kind == "conv" else "a small fully connected network"
    opt = f"SGD(lr={lr:g}" + (f", momentum={momentum:g}" if momentum else "") + \
          (f", weight_decay={weight_decay:g}" if weight_decay else "") + ")"
    last = f" (the last holds {n % batch_size})" if n % batch_size else ""
    label = (f"{what} with batch norm and dropout (handed over in evaluation mode), {n} examples in batches of "
             f"{batch_size}{last} without shuffling, {opt}, seed {seed}")
    return Case("train_one_epoch", (kind, seed, n, batch_size, lr, momentum, weight_decay), {}, label,
                probe=_probe_train)


def visible():
    return [train_case("conv", 0, 32, 8, 0.1, momentum=0.9), train_case("mlp", 1, 24, 6, 0.05, weight_decay=1e-3),
            train_case("mlp", 2, 27, 8, 0.05, momentum=0.9)]       # a short last batch of 3


def hidden(rng):
    out = []
    for kind, momentum in (("conv", 0.9), ("mlp", 0.0), ("conv", 0.5)):
        bs = int(rng.integers(4, 9))
        out.append(train_case(kind, int(rng.integers(10 ** 6)), bs * int(rng.integers(3, 6)), bs,
                              float(rng.choice([0.02, 0.05, 0.1])), momentum))
    # a short last batch (of 2 or more: batch norm needs two examples in training mode)
    bs = int(rng.integers(6, 11))
    n = bs * int(rng.integers(3, 5)) + int(rng.integers(2, bs // 2 + 1))
    out.append(train_case("mlp", int(rng.integers(10 ** 6)), n, bs, float(rng.choice([0.02, 0.05])), 0.9))
    return out


# ----------------------------------------------------------------------------- the known ways of training

def variant(record=None, zero_grad=True, train_mode=True, reduction="mean", step=True, zero_late=False):
    """The reference training, or a version of it with one thing changed; `record` gets each batch's
    mean loss and size (to recognise the ways of adding them up wrongly).

    A deliberate repeat of cnnkit.torch.train_one_epoch: the judge needs the batches' losses, which
    the reference does not return, and the catalogue of mistakes needs the same loop with one line
    changed. With no change it trains exactly as the reference does (tests/test_torch_training.py)."""
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


def run(case, fn):
    """What the probe reports for `fn` on `case`, run here in the grader."""
    return _probe_train(fn, {}, *case.args, **case.kwargs)


# ----------------------------------------------------------------------------- judging

def judge_train(case, out):
    record = {}
    ref = run(case, variant(record))      # the reference training, batch losses recorded
    losses, sizes = record["losses"], record["sizes"]
    loss = scalar(out, "loss")
    params, buffers = field(out, "params"), field(out, "buffers")
    counts = {k: int(scalar(out, k)) for k in ("forwards", "eval_forwards", "steps", "batches", "unmoved_x",
                                                "unmoved_y", "is_float")}
    problems = []
    batches = counts["batches"]
    if counts["unmoved_x"] or counts["unmoved_y"]:
        problems.append(unmoved_problem(counts, "in the loss"))
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
    params_ok = close(params, ref["params"]) and close(buffers, ref["buffers"])
    if not params_ok and not problems:
        problems.append(training_mistake(case, params, buffers))
    if not close(loss, ref["loss"], 1e-4, 1e-6):
        found = loss_mistake(loss, ref["loss"], losses, sizes, params_ok)
        if found:
            problems.append(found)
    elif not counts["is_float"]:
        problems.append(("not_float", "the loss is right, but it is not a Python float: return a number, e.g. "
                                      "accumulate loss.item() * len(y) (adding up loss tensors also keeps every "
                                      "batch's graph in memory)"))
    return verdict(case, problems)


def training_mistake(case, params, buffers):
    """(code, sentence) for parameters after the epoch that one epoch of plain training does not give."""
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
        r = run(case, variant(**change))
        if close(params, r["params"]) and close(buffers, r["buffers"]):
            return code, text
    return ("wrong_parameters", "the parameters after the epoch are not those one epoch of plain training gives: "
                                "for every batch, move it to the device, zero the gradients, compute the mean "
                                "cross-entropy of the model's output, call backward and step")


def loss_mistake(loss, ref, losses, sizes, params_ok):
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
            if close(loss, value, 1e-4, 1e-6):
                return code, text + ": " + why
    return ("wrong_loss", text) if params_ok else None


register(Graded("train_one_epoch", ASSIGNMENT, visible, hidden, CourseReference("train_one_epoch"), no_mistakes,
                argnames=(), judge=guarded(judge_train)))
